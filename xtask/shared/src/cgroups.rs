//! The cgroup layout of a host, and which cgroups a process is in.
//!
//! Hosts come in three layouts, and code must handle all three:
//!
//! - **v2** (current Ubuntu, Fedora, Debian, WSL2): one `cgroup2` hierarchy,
//!   usually at `/sys/fs/cgroup`, holds every controller. Its root lists
//!   them in `cgroup.controllers`.
//! - **v1**: one `cgroup` hierarchy per controller (or per few:
//!   `cpu,cpuacct`) under `/sys/fs/cgroup/<controller>`; the controllers are
//!   in each mount's super options.
//! - **hybrid** (systemd's middle road): v1 hierarchies for the controllers,
//!   plus a `cgroup2` mount (usually `/sys/fs/cgroup/unified`) that gets
//!   only the controllers v1 left over, often none.
//!
//! A v1 mount with no controller (`name=systemd`) is only systemd's
//! bookkeeping: a v2 host may keep one for old containers, and it does not
//! make that host hybrid.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::mountinfo::{self, Mount};

/// Every cgroup v1 controller; the other words in a v1 mount's super options
/// (`rw`, `xattr`, `name=systemd`…) are not controllers.
pub const V1_CONTROLLERS: [&str; 14] = [
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];

/// How the cgroup filesystems are mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One cgroup2 hierarchy holds every controller.
    V2,
    /// One cgroup (v1) hierarchy per controller, or per few.
    V1,
    /// v1 controller hierarchies, plus a cgroup2 mount that gets only the
    /// controllers v1 left over.
    Hybrid,
    /// No cgroup filesystem is mounted.
    None,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::V2 => "cgroup v2 (unified)",
            Layout::V1 => "cgroup v1",
            Layout::Hybrid => "hybrid (v1 controllers + a cgroup2 mount)",
            Layout::None => "no cgroup filesystem",
        })
    }
}

/// The version of one hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V1,
    V2,
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub version: Version,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Which cgroup of the hierarchy is mounted there (`/` unless the
    /// mount comes from inside a cgroup namespace or is a bind mount).
    pub root: String,
    /// The controllers it has: from the super options (v1) or the root's
    /// `cgroup.controllers` (v2). Sorted.
    pub controllers: Vec<String>,
    /// A named v1 hierarchy without controllers: `systemd` for `name=systemd`.
    pub name: Option<String>,
    /// The device of its filesystem, `major:minor`: the same hierarchy
    /// mounted twice has the same one.
    pub device: String,
}

/// The cgroup side of a host: its layout and every mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroups {
    pub layout: Layout,
    /// Each hierarchy once, in mount order, even when it is mounted twice.
    pub hierarchies: Vec<Hierarchy>,
}

impl Cgroups {
    /// The hierarchy that has `controller`, v1 first (on a hybrid host the
    /// v1 one is where the controller works).
    pub fn with_controller(&self, controller: &str) -> Option<&Hierarchy> {
        let mut found: Vec<&Hierarchy> = self
            .hierarchies
            .iter()
            .filter(|h| h.controllers.iter().any(|c| c == controller))
            .collect();
        found.sort_by_key(|h| h.version);
        found.first().copied()
    }

    /// The cgroup2 hierarchy, if one is mounted.
    pub fn v2(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.version == Version::V2)
    }

    /// Every controller as `"memory (v1)"`, `"pids (v2)"`, sorted, without
    /// duplicates.
    pub fn controller_list(&self) -> Vec<String> {
        let mut list: Vec<String> = self
            .hierarchies
            .iter()
            .flat_map(|h| {
                let version = match h.version {
                    Version::V1 => "v1",
                    Version::V2 => "v2",
                };
                h.controllers
                    .iter()
                    .map(move |c| format!("{c} ({version})"))
            })
            .collect();
        list.sort();
        list.dedup();
        list
    }
}

/// The layout and hierarchies this process sees, from
/// `/proc/self/mountinfo` (and `cgroup.controllers` for v2). A process that
/// cannot read mountinfo sees no cgroup filesystem.
pub fn detect() -> Cgroups {
    let mounts = mountinfo::read_self().unwrap_or_default();
    from_mounts(&mounts, |dir| {
        std::fs::read_to_string(dir.join("cgroup.controllers")).ok()
    })
}

/// The layout and hierarchies of a mount table. `controllers_of(dir)` reads
/// the `cgroup.controllers` file of a cgroup2 mount (a parameter, so tests
/// need no real host).
pub fn from_mounts(mounts: &[Mount], controllers_of: impl Fn(&Path) -> Option<String>) -> Cgroups {
    let mut hierarchies: Vec<Hierarchy> = Vec::new();
    for mount in mounts {
        let version = match mount.fs_type.as_str() {
            "cgroup" => Version::V1,
            "cgroup2" => Version::V2,
            _ => continue,
        };
        let device = mount.major_minor();
        if let Some(seen) = hierarchies.iter_mut().find(|h| h.device == device) {
            // The same hierarchy mounted again: keep the mount of its root.
            if seen.root != "/" && mount.root == "/" {
                seen.mount_point = PathBuf::from(&mount.mount_point);
                seen.root = mount.root.clone();
            }
            continue;
        }
        let mut controllers: Vec<String> = match version {
            Version::V1 => v1_controllers(&mount.super_options)
                .map(str::to_owned)
                .collect(),
            Version::V2 => controllers_of(Path::new(&mount.mount_point))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        };
        controllers.sort();
        let name = mount
            .super_options
            .split(',')
            .find_map(|o| o.strip_prefix("name="))
            .map(str::to_owned);
        hierarchies.push(Hierarchy {
            version,
            mount_point: PathBuf::from(&mount.mount_point),
            root: mount.root.clone(),
            controllers,
            name,
            device,
        });
    }
    Cgroups {
        layout: layout_of(mounts),
        hierarchies,
    }
}

/// Which layout a mount table shows.
pub fn layout_of(mounts: &[Mount]) -> Layout {
    let v2 = mounts.iter().any(|m| m.fs_type == "cgroup2");
    let v1: Vec<&Mount> = mounts.iter().filter(|m| m.fs_type == "cgroup").collect();
    let v1_with_controllers = v1
        .iter()
        .any(|m| v1_controllers(&m.super_options).next().is_some());
    match (v1.is_empty(), v1_with_controllers, v2) {
        (_, true, true) => Layout::Hybrid,
        (_, false, true) => Layout::V2,
        (false, _, false) => Layout::V1,
        (true, _, false) => Layout::None,
    }
}

/// A v1 mount's super options name its controllers: `rw,cpu,cpuacct`.
pub fn v1_controllers(super_options: &str) -> impl Iterator<Item = &str> {
    super_options
        .split(',')
        .filter(|option| V1_CONTROLLERS.contains(option))
}

/// One line of `/proc/<pid>/cgroup`: `hierarchy-id:controllers:path`. The
/// cgroup2 hierarchy is the line `0::/path`; v1 lines name their
/// controllers (`4:memory:/x`, `9:name=systemd:/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub hierarchy: u32,
    /// As written: `cpu,cpuacct`, `name=systemd`, empty for v2.
    pub controllers: String,
    /// The cgroup, relative to the root of the reader's cgroup namespace:
    /// `/` inside a container with its own cgroup namespace.
    pub path: String,
}

/// Parses the lines of `/proc/<pid>/cgroup`, skipping malformed ones. The
/// path may itself hold colons.
pub fn parse_membership(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            Some(Membership {
                hierarchy: parts.next()?.parse().ok()?,
                controllers: parts.next()?.to_owned(),
                path: parts.next()?.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ubuntu 22.04, Fedora: one cgroup2 hierarchy.
    const V2: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
35 25 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    /// CentOS 7 style: v1 only, systemd's name=systemd hierarchy included.
    const V1: &str = "\
30 1 8:2 / / rw,relatime shared:1 - xfs /dev/sda2 rw
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
32 31 0:27 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
33 31 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
34 31 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
35 31 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,pids
";

    /// The project's Debian VMs: v1 controllers plus cgroup2 at
    /// /sys/fs/cgroup/unified.
    const HYBRID: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    fn cgroups(text: &str, v2_controllers: &str) -> Cgroups {
        from_mounts(&mountinfo::parse(text), |_| Some(v2_controllers.to_owned()))
    }

    #[test]
    fn layouts() {
        assert_eq!(cgroups(V2, "").layout, Layout::V2);
        assert_eq!(cgroups(V1, "").layout, Layout::V1);
        assert_eq!(cgroups(HYBRID, "").layout, Layout::Hybrid);
        assert_eq!(
            cgroups("30 1 8:2 / / rw - ext4 /dev/sda2 rw\n", "").layout,
            Layout::None
        );
        assert_eq!(
            Layout::Hybrid.to_string(),
            "hybrid (v1 controllers + a cgroup2 mount)"
        );
    }

    #[test]
    fn a_name_only_v1_mount_does_not_make_v2_hybrid() {
        let systemd = "40 35 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n";
        assert_eq!(cgroups(&format!("{V2}{systemd}"), "").layout, Layout::V2);
    }

    #[test]
    fn v2_controllers_come_from_the_root_file() {
        let found = cgroups(V2, "cpuset cpu io memory pids\n");
        assert_eq!(found.hierarchies.len(), 1);
        let unified = found.v2().expect("a cgroup2 hierarchy");
        assert_eq!(unified.mount_point, Path::new("/sys/fs/cgroup"));
        assert_eq!(
            unified.controllers,
            ["cpu", "cpuset", "io", "memory", "pids"]
        );
        assert_eq!(found.with_controller("memory"), Some(unified));
    }

    #[test]
    fn hybrid_hierarchies_and_their_controllers() {
        let found = cgroups(HYBRID, "hugetlb");
        let points: Vec<&Path> = found
            .hierarchies
            .iter()
            .map(|h| h.mount_point.as_path())
            .collect();
        assert_eq!(
            points,
            [
                "/sys/fs/cgroup/cpu",
                "/sys/fs/cgroup/memory",
                "/sys/fs/cgroup/pids",
                "/sys/fs/cgroup/systemd",
                "/sys/fs/cgroup/unified"
            ]
            .map(Path::new)
        );
        let systemd = &found.hierarchies[3];
        assert_eq!(systemd.name.as_deref(), Some("systemd"));
        assert!(systemd.controllers.is_empty());
        assert_eq!(
            found.with_controller("memory").map(|h| h.version),
            Some(Version::V1)
        );
        assert_eq!(
            found.controller_list(),
            ["cpu (v1)", "hugetlb (v2)", "memory (v1)", "pids (v1)"]
        );
    }

    #[test]
    fn a_hierarchy_mounted_twice_is_listed_once() {
        let twice = format!("{V1}50 30 0:29 /inner /tmp/c rw - cgroup cgroup rw,memory\n");
        let found = cgroups(&twice, "");
        let memory: Vec<&Hierarchy> = found
            .hierarchies
            .iter()
            .filter(|h| h.controllers == ["memory"])
            .collect();
        assert_eq!(memory.len(), 1);
        assert_eq!(memory[0].mount_point, Path::new("/sys/fs/cgroup/memory"));
    }

    #[test]
    fn v1_controllers_come_from_the_super_options() {
        let names: Vec<&str> = v1_controllers("rw,cpu,cpuacct").collect();
        assert_eq!(names, ["cpu", "cpuacct"]);
        assert_eq!(v1_controllers("rw,xattr,name=systemd").count(), 0);
    }

    #[test]
    fn parses_membership_lines() {
        let lines = parse_membership("4:cpu,cpuacct:/docker/abc\n0::/user.slice/a:b\nbad line\n");
        assert_eq!(
            lines,
            [
                Membership {
                    hierarchy: 4,
                    controllers: "cpu,cpuacct".into(),
                    path: "/docker/abc".into()
                },
                Membership {
                    hierarchy: 0,
                    controllers: String::new(),
                    path: "/user.slice/a:b".into()
                },
            ]
        );
    }

    #[test]
    fn detects_this_host() {
        // Every layout is possible on a test host; what must hold is that
        // the layout and the hierarchies agree.
        let found = detect();
        match found.layout {
            Layout::None => assert!(found.hierarchies.is_empty()),
            Layout::V2 => assert!(found.v2().is_some()),
            Layout::V1 => assert!(found.v2().is_none()),
            Layout::Hybrid => {
                assert!(found.v2().is_some());
                assert!(found.hierarchies.iter().any(|h| h.version == Version::V1));
            }
        }
    }
}
