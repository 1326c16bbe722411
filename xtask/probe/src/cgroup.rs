//! Cgroups: which control group the process is in, and the limits set on
//! it. /proc/self/cgroup has one line per hierarchy, `hierarchy:controllers:
//! path`; cgroup v2 has a single line `0::/path`. The limits are files in
//! the group's directory under /sys/fs/cgroup. Inside a container with its
//! own cgroup namespace the path is "/" and the container's own
//! /sys/fs/cgroup mount shows its group at the top, which works the same.

use crate::sys;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// The cgroup v2 files reported, when the group has them.
const V2_FILES: [&str; 5] = [
    "memory.max",
    "memory.high",
    "pids.max",
    "cpu.max",
    "cpu.weight",
];

/// The cgroup v1 files reported, by the controller that has them.
const V1_FILES: [(&str, &str); 4] = [
    ("memory", "memory.limit_in_bytes"),
    ("pids", "pids.max"),
    ("cpu", "cpu.cfs_quota_us"),
    ("cpu", "cpu.cfs_period_us"),
];

/// One line of /proc/self/cgroup.
#[derive(Debug, PartialEq)]
pub struct Entry {
    pub hierarchy: u32,
    pub controllers: String,
    pub path: String,
}

/// `{"entries": [...] or null, "limits": {...}}`.
pub fn cgroup() -> Value {
    let entries = sys::read_text("/proc/self/cgroup").map(|text| parse(&text));
    let limits = entries.as_deref().map(limits).unwrap_or_default();
    let entries: Option<Vec<Value>> = entries.map(|list| {
        list.iter()
            .map(|entry| {
                json!({
                    "hierarchy": entry.hierarchy,
                    "controllers": entry.controllers,
                    "path": entry.path,
                })
            })
            .collect()
    });
    json!({ "entries": entries, "limits": limits })
}

/// Parses the lines of /proc/self/cgroup, skipping malformed ones.
pub fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            Some(Entry {
                hierarchy: parts.next()?.parse().ok()?,
                controllers: parts.next()?.to_owned(),
                path: parts.next()?.to_owned(),
            })
        })
        .collect()
}

/// The limit files that can be read, keyed by file name.
fn limits(entries: &[Entry]) -> Map<String, Value> {
    let mut found = Map::new();
    for entry in entries {
        for (file, dirs) in limit_files(entry) {
            let value = dirs
                .iter()
                .find_map(|dir| sys::read_trimmed(dir.join(file)));
            if let Some(value) = value {
                found.insert(file.to_owned(), json!(value));
            }
        }
    }
    found
}

/// For one entry: each limit file to read, with the directories where it
/// may be (the first readable one wins).
fn limit_files(entry: &Entry) -> Vec<(&'static str, Vec<PathBuf>)> {
    let path = entry.path.trim_start_matches('/');
    if entry.hierarchy == 0 {
        let dirs = vec![
            Path::new("/sys/fs/cgroup").join(path),
            Path::new("/sys/fs/cgroup/unified").join(path),
        ];
        return V2_FILES.iter().map(|&file| (file, dirs.clone())).collect();
    }
    let controllers: Vec<&str> = entry.controllers.split(',').collect();
    V1_FILES
        .iter()
        .filter(|(controller, _)| controllers.contains(controller))
        .map(|&(controller, file)| {
            // "cpu" is usually mounted as "cpu,cpuacct", with a "cpu" link.
            let dirs = vec![
                Path::new("/sys/fs/cgroup").join(controller).join(path),
                Path::new("/sys/fs/cgroup")
                    .join(&entry.controllers)
                    .join(path),
            ];
            (file, dirs)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Entry, limit_files, parse};
    use std::path::Path;

    #[test]
    fn parses_v1_and_v2_lines() {
        let entries = parse("4:cpu,cpuacct:/docker/abc\n0::/user.slice/a:b\nbad line\n");
        assert_eq!(
            entries,
            [
                Entry {
                    hierarchy: 4,
                    controllers: "cpu,cpuacct".into(),
                    path: "/docker/abc".into()
                },
                Entry {
                    hierarchy: 0,
                    controllers: String::new(),
                    path: "/user.slice/a:b".into()
                },
            ]
        );
    }

    #[test]
    fn v2_limits_are_read_in_the_group_directory() {
        let entry = Entry {
            hierarchy: 0,
            controllers: String::new(),
            path: "/".into(),
        };
        let files = limit_files(&entry);
        assert_eq!(files.len(), 5);
        assert_eq!(files[0].0, "memory.max");
        assert_eq!(files[0].1[0], Path::new("/sys/fs/cgroup"));
    }

    #[test]
    fn v1_limits_are_read_per_controller() {
        let entry = Entry {
            hierarchy: 3,
            controllers: "cpu,cpuacct".into(),
            path: "/g".into(),
        };
        let files = limit_files(&entry);
        let names: Vec<&str> = files.iter().map(|(file, _)| *file).collect();
        assert_eq!(names, ["cpu.cfs_quota_us", "cpu.cfs_period_us"]);
        assert_eq!(files[0].1[0], Path::new("/sys/fs/cgroup/cpu/g"));
        assert_eq!(files[0].1[1], Path::new("/sys/fs/cgroup/cpu,cpuacct/g"));
    }
}
