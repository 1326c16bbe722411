//! The leak guard: what a check must not leave behind.
//!
//! A container engine that leaks a mount, a cgroup, a network namespace, a
//! veth or a process on failure is a broken engine. The guard snapshots
//! those before a check and compares after it. The kernel tears some of
//! them down asynchronously (a killed process's cgroup can be removed only
//! once the process is fully gone), so the comparison retries for a moment.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// What the host looked like at one moment.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    mounts: BTreeSet<String>,
    cgroups: BTreeSet<PathBuf>,
    netns: BTreeSet<String>,
    links: BTreeSet<String>,
    processes: BTreeSet<String>,
}

impl Snapshot {
    /// Look at the host now.
    pub fn take() -> Snapshot {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        Snapshot {
            mounts: mountinfo.lines().map(mount_key).collect(),
            cgroups: cgroup_dirs(&mountinfo),
            netns: names_in("/run/netns"),
            links: names_in("/sys/class/net"),
            processes: descendants(std::process::id()),
        }
    }

    /// Wait up to two seconds for the host to look as it did; otherwise list
    /// what is new.
    pub fn settles(&self) -> Result<(), Vec<String>> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let now = Snapshot::take();
            let leaks = self.leaks_in(&now);
            if leaks.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(leaks);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// What `after` has that `self` had not.
    pub fn leaks_in(&self, after: &Snapshot) -> Vec<String> {
        let mut leaks = Vec::new();
        let mut new = |what: &str, before: &BTreeSet<String>, now: &BTreeSet<String>| {
            leaks.extend(now.difference(before).map(|x| format!("{what}: {x}")));
        };
        new("mount", &self.mounts, &after.mounts);
        new("network namespace", &self.netns, &after.netns);
        new("network interface", &self.links, &after.links);
        new("process", &self.processes, &after.processes);
        leaks.extend(
            after
                .cgroups
                .difference(&self.cgroups)
                .map(|p| format!("cgroup: {}", p.display())),
        );
        leaks
    }
}

impl Snapshot {
    /// Undo what a check left behind, as far as it is safely ours: unmount
    /// the new mounts under `dir` (the check's own temp dir; deepest first)
    /// and kill the new processes below this one. Then the host is as it
    /// was even when the code under test failed.
    pub fn clean_up(&self, dir: &Path) {
        let now = Snapshot::take();
        for pid in now.processes.difference(&self.processes) {
            if let Some(pid) = pid.split(' ').next().and_then(|p| p.parse::<i32>().ok()) {
                // SAFETY: a plain system call; the pid is our descendant.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let mut points: Vec<&str> = now
            .mounts
            .difference(&self.mounts)
            .filter_map(|key| key.split(" (").next())
            .filter(|point| Path::new(point).starts_with(dir))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for point in points {
            if let Ok(c) = std::ffi::CString::new(point) {
                // SAFETY: a plain system call on a NUL-terminated path.
                unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            }
        }
    }
}

/// A mount as "mount point (fs type, source)": the fields that identify it
/// without the mount id, which changes when something is remounted.
fn mount_key(line: &str) -> String {
    let fields: Vec<&str> = line.split(' ').collect();
    let sep = fields
        .iter()
        .position(|f| *f == "-")
        .unwrap_or(fields.len());
    let point = fields.get(4).copied().unwrap_or("?");
    let fs_type = fields.get(sep + 1).copied().unwrap_or("?");
    let source = fields.get(sep + 2).copied().unwrap_or("?");
    format!("{point} ({fs_type} from {source})")
}

/// The directories at the top of every cgroup hierarchy, where checks
/// create their cgroups (v2, v1 and hybrid hosts alike).
fn cgroup_dirs(mountinfo: &str) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let sep = fields
            .iter()
            .position(|f| *f == "-")
            .unwrap_or(fields.len());
        if matches!(fields.get(sep + 1), Some(&"cgroup") | Some(&"cgroup2"))
            && let Ok(entries) = fs::read_dir(fields[4])
        {
            dirs.extend(
                entries
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.path()),
            );
        }
    }
    dirs
}

fn names_in(dir: &str) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every process below `root`, as "pid (command, state)".
fn descendants(root: u32) -> BTreeSet<String> {
    let mut children: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid …" — comm may hold spaces and parentheses,
        // so split at the last ')'.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let comm = stat[stat.find('(').map_or(0, |i| i + 1)..close].to_owned();
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().unwrap_or("?").to_owned();
        let Some(ppid) = rest.next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        children
            .entry(ppid)
            .or_default()
            .push((pid, format!("{pid} ({comm}, state {state})")));
    }
    let mut found = BTreeSet::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        for (child, label) in children.get(&pid).into_iter().flatten() {
            found.insert(label.clone());
            todo.push(*child);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_key_names_point_type_and_source() {
        let line = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue";
        assert_eq!(mount_key(line), "/mnt2 (ext3 from /dev/root)");
    }

    /// These tests look at the whole host: one at a time.
    static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn clean_up_unmounts_what_a_check_left_under_its_dir() {
        let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
        if !crate::root::is_root() {
            // Mounting needs root; verify runs as root in CI, where this
            // must not be skipped.
            assert!(
                std::env::var("CI").is_err(),
                "CI runs the kit's tests as root"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("m");
        std::fs::create_dir(&inner).unwrap();
        let before = Snapshot::take();
        let c = std::ffi::CString::new(inner.to_str().unwrap()).unwrap();
        let tmpfs = std::ffi::CString::new("tmpfs").unwrap();
        // SAFETY: plain mount(2) with NUL-terminated strings.
        let rc = unsafe {
            libc::mount(
                tmpfs.as_ptr(),
                c.as_ptr(),
                tmpfs.as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "mount a tmpfs");
        assert!(
            before
                .leaks_in(&Snapshot::take())
                .iter()
                .any(|l| l.contains("/m (tmpfs"))
        );
        before.clean_up(dir.path());
        assert_eq!(before.leaks_in(&Snapshot::take()), Vec::<String>::new());
    }

    #[test]
    fn a_new_child_is_a_leak_until_reaped() {
        let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
        let before = Snapshot::take();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let leaks = before.leaks_in(&Snapshot::take());
        assert!(
            leaks
                .iter()
                .any(|l| l.starts_with("process: ") && l.contains("sleep")),
            "{leaks:?}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(before.settles(), Ok(()));
    }
}
