//! The leak guard: what a check must not leave behind.
//!
//! A container engine that leaks a mount, a cgroup, a network namespace, a
//! veth, a firewall rule or a process on failure is a broken engine. The
//! guard snapshots the host before a check and compares after it:
//!
//! - mounts (mount point, type, source; not the id, which a remount
//!   changes);
//! - every cgroup directory, at any depth, of every mounted hierarchy (v2,
//!   v1 and hybrid hosts);
//! - named network namespaces (`/run/netns`) and the host's interfaces;
//! - the firewall rulesets (when nft or iptables is installed) and the
//!   sysctls of [`crate::firewall::SYSCTLS`], the host name among them;
//! - the processes below the test process, known by pid and start time.
//!   [`crate::Check`] makes the test process a child subreaper, so a
//!   container process whose parent died is re-parented here and seen.
//!
//! The kernel tears some of these down asynchronously (a killed process's
//! cgroup can be removed only once the process is fully gone), so the
//! comparison retries for a moment.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use shared::cgroups;
use shared::mountinfo::{self, Mount};

use crate::firewall;
use crate::procs::{self, Proc};

/// What the host looked like at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Mount point → "mount point (type from source)", once per mount.
    mounts: BTreeSet<String>,
    cgroups: BTreeSet<PathBuf>,
    netns: BTreeSet<String>,
    links: BTreeSet<String>,
    /// The processes below this one, by (pid, start time).
    processes: BTreeMap<(i32, u64), Proc>,
    /// Tool → normalized ruleset, for each tool installed.
    firewall: BTreeMap<String, Vec<String>>,
    /// Sysctl name → value, for each that exists.
    sysctls: BTreeMap<String, String>,
}

impl Snapshot {
    /// Look at the host now.
    pub fn take() -> Snapshot {
        let mounts = mountinfo::read_self().unwrap_or_default();
        Snapshot {
            mounts: mounts.iter().map(mount_key).collect(),
            cgroups: cgroup_dirs(&mounts),
            netns: names_in("/run/netns"),
            links: names_in("/sys/class/net"),
            processes: descendants(),
            firewall: firewall::rulesets(),
            sysctls: firewall::sysctls(),
        }
    }

    /// Wait up to two seconds for the host to look as it did; otherwise
    /// describe what is new or changed.
    pub fn settles(&self) -> Result<(), Vec<String>> {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut pause = Duration::from_millis(10);
        loop {
            let now = Snapshot::take();
            let leaks = self.leaks_in(&now);
            if leaks.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(leaks);
            }
            thread::sleep(pause);
            // Reading the firewall runs programs: do not spin.
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// What `after` has that `self` had not, or has changed, each as a
    /// sentence that says what to look at.
    pub fn leaks_in(&self, after: &Snapshot) -> Vec<String> {
        let mut leaks = Vec::new();
        for key in after.mounts.difference(&self.mounts) {
            leaks.push(format!(
                "mount {key}: still mounted. Unmount what you mounted on every way out, \
                 failures included (or mount it in the container's own mount namespace)"
            ));
        }
        for dir in self.new_cgroups(after) {
            leaks.push(format!(
                "cgroup {}: made during the check and not removed. Remove it (rmdir) \
                 once its processes are gone, also when a later step fails",
                dir.display()
            ));
        }
        for name in after.netns.difference(&self.netns) {
            leaks.push(format!(
                "network namespace /run/netns/{name}: not deleted (ip netns delete {name})"
            ));
        }
        for name in after.links.difference(&self.links) {
            leaks.push(format!(
                "network interface {name} on the host: a link your code made (veth, bridge) \
                 was not deleted (ip link delete {name})"
            ));
        }
        for (key, proc) in &after.processes {
            if !self.processes.contains_key(key) {
                leaks.push(describe_process(proc));
            }
        }
        for (tool, rules) in &after.firewall {
            let Some(before) = self.firewall.get(tool) else {
                continue;
            };
            for rule in rules.iter().filter(|r| !before.contains(r)) {
                leaks.push(format!("firewall ({tool}): a rule was added: `{rule}`"));
            }
            for rule in before.iter().filter(|r| !rules.contains(r)) {
                leaks.push(format!("firewall ({tool}): a rule was removed: `{rule}`"));
            }
        }
        for (name, value) in &after.sysctls {
            match self.sysctls.get(name) {
                Some(was) if was != value && name == "kernel.hostname" => leaks.push(format!(
                    "the host's name changed from {was} to {value}: it was set outside the \
                     container's UTS namespace (set it only in the child, after unshare)"
                )),
                Some(was) if was != value => leaks.push(format!(
                    "sysctl {name} changed from {was} to {value} on the host \
                     (sysctl -w {name}={was} sets it back)"
                )),
                _ => {}
            }
        }
        leaks
    }

    /// The cgroup directories in `after` that are not in `self`, leaving
    /// out those whose processes are all someone else's: on a shared host
    /// (a CI runner, a VM with its own supervisor) other programs make
    /// cgroups too, and a check's cgroups hold no process but its own.
    fn new_cgroups(&self, after: &Snapshot) -> Vec<PathBuf> {
        let mut ours: BTreeSet<i32> = after.processes.values().map(|p| p.pid).collect();
        ours.insert(procs::own_pid());
        after
            .cgroups
            .difference(&self.cgroups)
            .filter(|dir| !holds_others(dir, &ours))
            .cloned()
            .collect()
    }
}

impl Snapshot {
    /// Undo what a check left behind, as far as it is safely ours: kill the
    /// new processes below this one and reap those re-parented here; unmount
    /// the new mounts under `dir` (the check's own temp dir; deepest first);
    /// remove the new, empty cgroups; set changed sysctls (and the host
    /// name) back. Firewall rules are only reported: which rule belongs to
    /// the check is for the reader to judge.
    pub fn clean_up(&self, dir: &Path) {
        // A cgroup is removed only if it looked ours both now and after the
        // kills below: a supervisor's brand-new cgroup is empty for the
        // instant between its mkdir and moving a process in.
        let candidates: BTreeSet<PathBuf> =
            self.new_cgroups(&Snapshot::take()).into_iter().collect();
        // New processes may fork while we kill: a few rounds.
        let mut killed: Vec<Proc> = Vec::new();
        for _ in 0..3 {
            let new: Vec<Proc> = descendants()
                .into_iter()
                .filter(|(key, _)| !self.processes.contains_key(key))
                .map(|(_, proc)| proc)
                .collect();
            if new.iter().all(|p| p.is_zombie()) {
                killed.extend(new);
                break;
            }
            procs::kill_all(&new);
            killed.extend(new);
            thread::sleep(Duration::from_millis(10));
        }
        procs::reap(&killed, None, Duration::from_secs(2));

        let now = Snapshot::take();
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

        // Deepest first: a cgroup with children cannot be removed. rmdir
        // refuses a cgroup that still has processes, so nothing of anyone
        // else's can go.
        let mut groups = self.new_cgroups(&now);
        groups.retain(|group| candidates.contains(group));
        groups.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for group in groups {
            let _ = fs::remove_dir(group);
        }

        for (name, was) in &self.sysctls {
            if now.sysctls.get(name).is_some_and(|value| value != was) {
                let _ = firewall::set_sysctl(name, was);
            }
        }
    }

    /// The processes below this one that are not in `self`.
    pub fn new_processes(&self) -> Vec<Proc> {
        descendants()
            .into_iter()
            .filter(|(key, _)| !self.processes.contains_key(key))
            .map(|(_, proc)| proc)
            .collect()
    }
}

/// A leaked process, with what to look at.
fn describe_process(proc: &Proc) -> String {
    let own = procs::own_pid();
    let parent = if proc.ppid == own {
        "the test process (it was re-parented here when its parent died)".to_owned()
    } else {
        let parent = procs::read(proc.ppid).map_or_else(|| "?".to_owned(), |p| p.comm);
        format!("{} ({parent})", proc.ppid)
    };
    if proc.is_zombie() {
        format!(
            "process {} ({}): ended but never waited for; its parent is {parent}",
            proc.pid, proc.comm
        )
    } else {
        format!(
            "process {} `{}` (state {}), child of {parent}: still running after the check, \
             probably a container process your code did not kill or reap",
            proc.pid,
            proc.command(),
            proc.state
        )
    }
}

/// A mount as "mount point (fs type from source)": the fields that identify
/// it without the mount id, which changes when something is remounted.
fn mount_key(mount: &Mount) -> String {
    format!(
        "{} ({} from {})",
        mount.mount_point, mount.fs_type, mount.source
    )
}

/// Every directory, at any depth, of every mounted cgroup hierarchy (each
/// hierarchy once, even when mounted twice).
fn cgroup_dirs(mounts: &[Mount]) -> BTreeSet<PathBuf> {
    let found = cgroups::from_mounts(mounts, |_| None);
    let mut dirs = BTreeSet::new();
    for hierarchy in &found.hierarchies {
        walk(&hierarchy.mount_point, &mut dirs);
    }
    dirs
}

/// The directories below `dir` (not `dir` itself), recursively. A cgroup
/// directory holds only files and cgroups, and no symbolic links.
fn walk(dir: &Path, found: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let path = entry.path();
            walk(&path, found);
            found.insert(path);
        }
    }
}

/// Whether the cgroup `dir` or one below it holds a process not in `ours`.
fn holds_others(dir: &Path, ours: &BTreeSet<i32>) -> bool {
    let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    if procs
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .any(|pid| !ours.contains(&pid))
    {
        return true;
    }
    let mut below = BTreeSet::new();
    walk(dir, &mut below);
    below.iter().any(|d| {
        fs::read_to_string(d.join("cgroup.procs"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
            .any(|pid| !ours.contains(&pid))
    })
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

/// Every process below this one, by identity, except what the kit started
/// for tests that hold no check.
fn descendants() -> BTreeMap<(i32, u64), Proc> {
    procs::descendants()
        .into_iter()
        .map(|p| (p.key(), p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn empty() -> Snapshot {
        Snapshot {
            mounts: BTreeSet::new(),
            cgroups: BTreeSet::new(),
            netns: BTreeSet::new(),
            links: BTreeSet::new(),
            processes: BTreeMap::new(),
            firewall: BTreeMap::new(),
            sysctls: BTreeMap::new(),
        }
    }

    #[test]
    fn mount_key_names_point_type_and_source() {
        let line =
            "36 35 98:0 /mnt1 /mnt\\0402 rw,noatime master:1 - ext3 /dev/root rw,errors=continue";
        let mount = mountinfo::parse_line(line).unwrap();
        assert_eq!(mount_key(&mount), "/mnt 2 (ext3 from /dev/root)");
    }

    #[test]
    fn a_process_whose_state_changes_is_not_new() {
        let proc = Proc {
            pid: 4242,
            start: 77,
            ppid: 1,
            pgid: 4242,
            state: 'S',
            comm: "probe".into(),
        };
        let mut before = empty();
        before.processes.insert(proc.key(), proc.clone());
        let mut after = before.clone();
        let changed = Proc {
            state: 'Z',
            comm: "sh".into(),
            ..proc.clone()
        };
        after.processes.insert(changed.key(), changed);
        assert_eq!(before.leaks_in(&after), Vec::<String>::new());
        // The same pid, started again later, is another process.
        let reused = Proc { start: 78, ..proc };
        after.processes = BTreeMap::from([(reused.key(), reused)]);
        let leaks = before.leaks_in(&after);
        assert_eq!(leaks.len(), 1, "{leaks:?}");
        assert!(leaks[0].starts_with("process 4242 "), "{leaks:?}");
    }

    #[test]
    fn firewall_rules_and_sysctls_are_compared() {
        let mut before = empty();
        before
            .firewall
            .insert("iptables-save".into(), vec!["*nat".into(), "COMMIT".into()]);
        before
            .sysctls
            .insert("net.ipv4.ip_forward".into(), "0".into());
        before
            .sysctls
            .insert("kernel.hostname".into(), "host".into());
        let mut after = before.clone();
        after.firewall.insert(
            "iptables-save".into(),
            vec![
                "*nat".into(),
                "-A POSTROUTING -j MASQUERADE".into(),
                "COMMIT".into(),
            ],
        );
        // A tool that appeared during the check has nothing to compare with.
        after
            .firewall
            .insert("nft".into(), vec!["table ip x {".into()]);
        after
            .sysctls
            .insert("net.ipv4.ip_forward".into(), "1".into());
        after
            .sysctls
            .insert("kernel.hostname".into(), "dy-x".into());
        let leaks = before.leaks_in(&after);
        assert_eq!(leaks.len(), 3, "{leaks:?}");
        assert!(leaks[0].contains("added: `-A POSTROUTING -j MASQUERADE`"));
        assert!(leaks[1].contains("host's name changed from host to dy-x"));
        assert!(leaks[2].contains("sysctl -w net.ipv4.ip_forward=0"));
    }

    #[test]
    fn cgroups_are_walked_at_every_depth() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b/c")).unwrap();
        fs::create_dir_all(dir.path().join("d")).unwrap();
        fs::write(dir.path().join("a/file"), "").unwrap();
        let mut found = BTreeSet::new();
        walk(dir.path(), &mut found);
        let names: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a", "a/b", "a/b/c", "d"]);
    }

    #[test]
    fn a_cgroup_of_someone_else_is_not_ours() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("x/y")).unwrap();
        fs::write(dir.path().join("x/cgroup.procs"), "").unwrap();
        let ours = BTreeSet::from([10, 11]);
        assert!(!holds_others(&dir.path().join("x"), &ours));
        fs::write(dir.path().join("x/y/cgroup.procs"), "10\n").unwrap();
        assert!(!holds_others(&dir.path().join("x"), &ours));
        fs::write(dir.path().join("x/y/cgroup.procs"), "10\n12\n").unwrap();
        assert!(holds_others(&dir.path().join("x"), &ours));
    }

    /// A real cgroup made and left in the v1 memory hierarchy, or in the
    /// cgroup2 one, whichever this host has: found at depth 2, removed by
    /// the clean-up.
    #[test]
    fn a_nested_cgroup_left_behind_is_found_and_removed() {
        if !crate::root::is_root() {
            assert!(
                std::env::var("CI").is_err(),
                "CI runs the kit's tests as root"
            );
            return;
        }
        let _alone = crate::check::alone();
        let found = cgroups::detect();
        let Some(hierarchy) = found
            .with_controller("memory")
            .or_else(|| found.v2())
            .or(found.hierarchies.first())
        else {
            assert!(std::env::var("CI").is_err(), "CI hosts have cgroups");
            return;
        };
        let top = hierarchy
            .mount_point
            .join(format!("dockyard-kit-test-{}", std::process::id()));
        let before = Snapshot::take();
        fs::create_dir_all(top.join("inner")).unwrap();
        let leaks = before.leaks_in(&Snapshot::take());
        let nested = format!("cgroup {}:", top.join("inner").display());
        let cleanup = |top: &Path| {
            let _ = fs::remove_dir(top.join("inner"));
            let _ = fs::remove_dir(top);
        };
        if !leaks.iter().any(|l| l.starts_with(&nested)) {
            cleanup(&top);
            panic!("{nested} not found in {leaks:?}");
        }
        before.clean_up(Path::new("/nonexistent"));
        let left = top.exists();
        cleanup(&top);
        assert!(!left, "clean_up did not remove {}", top.display());
        assert_eq!(before.settles(), Ok(()));
    }

    #[test]
    fn clean_up_unmounts_what_a_check_left_under_its_dir() {
        if !crate::root::is_root() {
            // Mounting needs root; verify runs as root in CI, where this
            // must not be skipped.
            assert!(
                std::env::var("CI").is_err(),
                "CI runs the kit's tests as root"
            );
            return;
        }
        let _alone = crate::check::alone();
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("m");
        fs::create_dir(&inner).unwrap();
        let before = Snapshot::take();
        let c = std::ffi::CString::new(inner.to_str().unwrap()).unwrap();
        // SAFETY: plain mount(2) with NUL-terminated strings.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                c.as_ptr(),
                c"tmpfs".as_ptr(),
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
        let _alone = crate::check::alone();
        let before = Snapshot::take();
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let leaks = before.leaks_in(&Snapshot::take());
        assert!(
            leaks
                .iter()
                .any(|l| l.starts_with("process ") && l.contains("`sleep 5`")),
            "{leaks:?}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(before.settles(), Ok(()));
    }

    /// A host name set outside a container is reported and set back. The
    /// "host" here is a UTS namespace of this test's thread alone (the
    /// namespace is per thread, and so is /proc/sys/kernel/hostname), so
    /// the real host's name is never touched.
    #[test]
    fn a_changed_host_name_is_reported_and_set_back() {
        if !crate::root::is_root() {
            assert!(
                std::env::var("CI").is_err(),
                "CI runs the kit's tests as root"
            );
            return;
        }
        let _alone = crate::check::alone();
        thread::spawn(|| {
            // SAFETY: unshare affects this thread only.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWUTS) };
            assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
            let before = Snapshot::take();
            let was = before.sysctls["kernel.hostname"].clone();
            let name = "dy-leaked";
            // SAFETY: a buffer and its length.
            let rc = unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) };
            assert_eq!(rc, 0, "sethostname: {}", std::io::Error::last_os_error());
            let leaks = before.leaks_in(&Snapshot::take());
            assert_eq!(
                leaks,
                [format!(
                    "the host's name changed from {was} to {name}: it was set outside the \
                     container's UTS namespace (set it only in the child, after unshare)"
                )]
            );
            before.clean_up(Path::new("/nonexistent"));
            assert_eq!(before.settles(), Ok(()));
        })
        .join()
        .unwrap();
    }

    /// A program the kit runs for a thread without a check (another test
    /// running meanwhile) is not this check's leak.
    #[test]
    fn a_program_of_a_test_without_a_check_is_not_a_leak() {
        let _alone = crate::check::alone();
        let before = Snapshot::take();
        let other =
            thread::spawn(|| crate::run(Command::new("sleep").arg("0.5"), Duration::from_secs(5)));
        thread::sleep(Duration::from_millis(200));
        let leaks = before.leaks_in(&Snapshot::take());
        assert_eq!(leaks, Vec::<String>::new());
        assert_eq!(other.join().unwrap().code, Some(0));
    }

    /// An orphan (its parent, a shell, exits at once) is re-parented to
    /// the subreaper, reported, then killed and reaped by the clean-up.
    #[test]
    fn an_orphan_is_seen_killed_and_reaped() {
        let _alone = crate::check::alone();
        procs::become_subreaper();
        let before = Snapshot::take();
        let status = Command::new("sh")
            .args(["-c", "sleep 30 >/dev/null 2>&1 &"])
            .status()
            .unwrap();
        assert!(status.success());
        let leaks = before.leaks_in(&Snapshot::take());
        assert!(
            leaks
                .iter()
                .any(|l| l.contains("`sleep 30`") && l.contains("re-parented here")),
            "{leaks:?}"
        );
        before.clean_up(Path::new("/nonexistent"));
        let left: Vec<Proc> = before.new_processes();
        assert!(left.is_empty(), "not reaped: {left:?}");
        assert_eq!(before.settles(), Ok(()));
    }
}
