//! Cgroups: which control group the process is in, and the limits set on
//! it. /proc/self/cgroup has one line per hierarchy, `hierarchy:controllers:
//! path`; cgroup v2 has the single line `0::/path`. Inside a container with
//! its own cgroup namespace every path is `/`: a check asserts exactly
//! that on the raw text, which the report keeps as it is.
//!
//! The limits are files in the group's directory, found through the
//! hierarchies this process sees mounted (`shared::cgroups`): v2, v1 and
//! hybrid hosts alike, and a container's own /sys/fs/cgroup mount.

use crate::sys;
use serde_json::{Map, Value, json};
use shared::cgroups::{self, Hierarchy, Membership, Version};
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

/// `{"raw": text or null, "entries": [...] or null, "limits": {...}}`.
pub fn cgroup() -> Value {
    let raw = sys::read_text("/proc/self/cgroup");
    let entries = raw.as_deref().map(cgroups::parse_membership);
    let hierarchies = cgroups::detect().hierarchies;
    let limits = entries
        .as_deref()
        .map(|entries| limits(entries, &hierarchies))
        .unwrap_or_default();
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
    json!({ "raw": raw, "entries": entries, "limits": limits })
}

/// The limit files that can be read, keyed by file name.
fn limits(entries: &[Membership], hierarchies: &[Hierarchy]) -> Map<String, Value> {
    let mut found = Map::new();
    for entry in entries {
        let Some(dir) = group_dir(entry, hierarchies) else {
            continue;
        };
        for file in limit_files(entry) {
            if let Some(value) = sys::read_trimmed(dir.join(file)) {
                found.insert(file.to_owned(), json!(value));
            }
        }
    }
    found
}

/// The files worth reading for one line of /proc/self/cgroup.
fn limit_files(entry: &Membership) -> Vec<&'static str> {
    if entry.hierarchy == 0 {
        return V2_FILES.to_vec();
    }
    let controllers: Vec<&str> = entry.controllers.split(',').collect();
    V1_FILES
        .iter()
        .filter(|(controller, _)| controllers.contains(controller))
        .map(|&(_, file)| file)
        .collect()
}

/// The directory of the process's group in the hierarchy of `entry`, when
/// that hierarchy is mounted.
fn group_dir(entry: &Membership, hierarchies: &[Hierarchy]) -> Option<PathBuf> {
    let hierarchy = hierarchies.iter().find(|h| {
        if entry.hierarchy == 0 {
            h.version == Version::V2
        } else {
            let named = h.name.as_ref().map(|n| format!("name={n}"));
            h.version == Version::V1
                && (h.controllers.join(",") == sorted(&entry.controllers)
                    || named.as_deref() == Some(entry.controllers.as_str()))
        }
    })?;
    // The mount shows the hierarchy from `root` down: a path below it is
    // relative to that; any other (a mount from another cgroup namespace)
    // is taken from the mount point.
    let relative = Path::new(&entry.path)
        .strip_prefix(&hierarchy.root)
        .unwrap_or_else(|_| Path::new(entry.path.trim_start_matches('/')));
    Some(hierarchy.mount_point.join(relative))
}

/// "cpuacct,cpu" as the hierarchy lists it: sorted.
fn sorted(controllers: &str) -> String {
    let mut names: Vec<&str> = controllers.split(',').collect();
    names.sort();
    names.join(",")
}

#[cfg(test)]
mod tests {
    use super::{group_dir, limit_files};
    use shared::cgroups::{self, Membership};
    use shared::mountinfo;
    use std::path::Path;

    const HYBRID: &str = "\
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
";

    fn entry(hierarchy: u32, controllers: &str, path: &str) -> Membership {
        Membership {
            hierarchy,
            controllers: controllers.into(),
            path: path.into(),
        }
    }

    #[test]
    fn each_line_finds_its_hierarchy() {
        let found = cgroups::from_mounts(&mountinfo::parse(HYBRID), |_| None);
        let dir = |e: &Membership| group_dir(e, &found.hierarchies);
        assert_eq!(
            dir(&entry(0, "", "/")).as_deref(),
            Some(Path::new("/sys/fs/cgroup/unified/"))
        );
        assert_eq!(
            dir(&entry(4, "cpu,cpuacct", "/g")).as_deref(),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct/g"))
        );
        assert_eq!(
            dir(&entry(5, "memory", "/a/b")).as_deref(),
            Some(Path::new("/sys/fs/cgroup/memory/a/b"))
        );
        assert_eq!(
            dir(&entry(9, "name=systemd", "/")).as_deref(),
            Some(Path::new("/sys/fs/cgroup/systemd/"))
        );
        assert_eq!(dir(&entry(7, "pids", "/")), None);
    }

    #[test]
    fn a_mount_of_an_inner_group_is_relative_to_it() {
        let inner = "50 1 0:38 /c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let found = cgroups::from_mounts(&mountinfo::parse(inner), |_| None);
        assert_eq!(
            group_dir(&entry(0, "", "/c1/app"), &found.hierarchies).as_deref(),
            Some(Path::new("/sys/fs/cgroup/app"))
        );
    }

    #[test]
    fn the_files_depend_on_the_controllers() {
        assert_eq!(limit_files(&entry(0, "", "/")).len(), 5);
        assert_eq!(
            limit_files(&entry(3, "cpu,cpuacct", "/g")),
            ["cpu.cfs_quota_us", "cpu.cfs_period_us"]
        );
        assert!(limit_files(&entry(9, "name=systemd", "/")).is_empty());
    }
}
