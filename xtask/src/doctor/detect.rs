//! Reading how the host is set up: /proc/self/mountinfo, the cgroup layout,
//! the effective uid.
//!
//! MOVES TO `shared` AT MERGE: the kit and the probe parse mountinfo,
//! detect the cgroup layout and ask "am I root?" too. The shared crate
//! (`xtask/shared`, modules `mountinfo`, `cgroups`, `privileges`) is being
//! written on another branch; when it lands, this module is replaced by
//! calls into it, and nothing else in `doctor` should need to change.

use std::fmt;
use std::path::Path;

use super::sys::read;

/// Every cgroup v1 controller; the other words in a v1 mount's options
/// (`rw`, `xattr`, `name=systemd`…) are not controllers.
const V1_CONTROLLERS: [&str; 14] = [
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

/// One line of /proc/self/mountinfo (see proc_pid_mountinfo(5)):
///
/// ```text
/// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
/// id parent dev root mount-point options [optional fields…] - type source super-options
/// ```
///
/// Spaces in paths are written `\040`; the mount points we look for have none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount<'a> {
    pub mount_point: &'a str,
    /// Propagation: `shared:N`, `master:N`, … (none means private).
    pub optional: Vec<&'a str>,
    pub fs_type: &'a str,
    pub super_options: &'a str,
}

/// Parses /proc/self/mountinfo, skipping malformed lines.
pub fn parse_mountinfo(text: &str) -> Vec<Mount<'_>> {
    text.lines().filter_map(parse_mount).collect()
}

fn parse_mount(line: &str) -> Option<Mount<'_>> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    // The optional fields run from the 7th field up to a lone "-".
    let dash = fields.iter().skip(6).position(|&field| field == "-")? + 6;
    Some(Mount {
        mount_point: fields.get(4)?,
        optional: fields[6..dash].to_vec(),
        fs_type: fields.get(dash + 1)?,
        super_options: fields.get(dash + 3)?,
    })
}

/// Whether `/` is a shared mount.
pub fn root_is_shared(mounts: &[Mount]) -> Option<bool> {
    // Mounts stack: the last one on "/" is the one on top, the one we see.
    let root = mounts.iter().rev().find(|mount| mount.mount_point == "/")?;
    Some(
        root.optional
            .iter()
            .any(|field| field.starts_with("shared:")),
    )
}

/// How the cgroup filesystems are mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// One cgroup2 hierarchy holds every controller.
    V2,
    /// One cgroup (v1) hierarchy per controller, or per few.
    V1,
    /// v1 controller hierarchies, plus a cgroup2 mount (usually
    /// /sys/fs/cgroup/unified) that gets only the controllers v1 left over.
    Hybrid,
    None,
}

impl fmt::Display for CgroupLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CgroupLayout::V2 => "cgroup v2 (unified)",
            CgroupLayout::V1 => "cgroup v1",
            CgroupLayout::Hybrid => "hybrid (v1 controllers + a cgroup2 mount)",
            CgroupLayout::None => "no cgroup filesystem",
        })
    }
}

/// The layout, and the controllers usable in each hierarchy, sorted:
/// `"memory (v1)"`, `"pids (v2)"`, …
pub fn cgroup_layout() -> (CgroupLayout, Vec<String>) {
    let text = read("/proc/self/mountinfo").unwrap_or_default();
    let mounts = parse_mountinfo(&text);
    let mut controllers = Vec::new();
    for mount in &mounts {
        match mount.fs_type {
            "cgroup" => {
                let names = v1_controllers(mount.super_options);
                controllers.extend(names.map(|name| format!("{name} (v1)")));
            }
            "cgroup2" => {
                // v2 lists what its root offers in a file, not in mount options.
                let file = Path::new(mount.mount_point).join("cgroup.controllers");
                let names = read(file).unwrap_or_default();
                controllers.extend(names.split_whitespace().map(|name| format!("{name} (v2)")));
            }
            _ => {}
        }
    }
    // The same hierarchy can be mounted twice (bind mounts, containers).
    controllers.sort();
    controllers.dedup();
    (layout_of(&mounts), controllers)
}

pub fn layout_of(mounts: &[Mount]) -> CgroupLayout {
    let v2 = mounts.iter().any(|mount| mount.fs_type == "cgroup2");
    let v1: Vec<&Mount> = mounts
        .iter()
        .filter(|mount| mount.fs_type == "cgroup")
        .collect();
    // A v1 mount without controllers (`name=systemd`) is only systemd's
    // bookkeeping; a v2 host may keep one for old containers.
    let v1_with_controllers = v1
        .iter()
        .any(|mount| v1_controllers(mount.super_options).next().is_some());
    match (v1.is_empty(), v1_with_controllers, v2) {
        (_, true, true) => CgroupLayout::Hybrid,
        (_, false, true) => CgroupLayout::V2,
        (false, _, false) => CgroupLayout::V1,
        (true, _, false) => CgroupLayout::None,
    }
}

/// A v1 mount's super options name its controllers: `rw,cpu,cpuacct`.
pub fn v1_controllers(super_options: &str) -> impl Iterator<Item = &str> {
    super_options
        .split(',')
        .filter(|option| V1_CONTROLLERS.contains(option))
}

/// `"memory (v1)"` → `"memory"`.
pub fn controller_name(entry: &str) -> &str {
    entry.split(' ').next().unwrap_or(entry)
}

/// The effective uid from /proc/self/status: `Uid:  real  effective  saved  fs`.
pub fn euid_from_status(status: &str) -> Option<u32> {
    let uids = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    uids.split_whitespace().nth(1)?.parse().ok()
}

/// This process's effective uid, from /proc/self/status.
pub fn euid() -> Option<u32> {
    read("/proc/self/status")
        .as_deref()
        .and_then(euid_from_status)
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

    /// This Debian VM: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified.
    const HYBRID: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    fn layout(text: &str) -> CgroupLayout {
        layout_of(&parse_mountinfo(text))
    }

    #[test]
    fn cgroup_layouts() {
        assert_eq!(layout(V2), CgroupLayout::V2);
        assert_eq!(layout(V1), CgroupLayout::V1);
        assert_eq!(layout(HYBRID), CgroupLayout::Hybrid);
        assert_eq!(
            layout("30 1 8:2 / / rw - ext4 /dev/sda2 rw\n"),
            CgroupLayout::None
        );
    }

    #[test]
    fn a_name_only_v1_mount_does_not_make_v2_hybrid() {
        let systemd = "40 35 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n";
        assert_eq!(layout(&format!("{V2}{systemd}")), CgroupLayout::V2);
    }

    #[test]
    fn v1_controllers_come_from_the_super_options() {
        let names: Vec<&str> = v1_controllers("rw,cpu,cpuacct").collect();
        assert_eq!(names, ["cpu", "cpuacct"]);
        assert_eq!(v1_controllers("rw,xattr,name=systemd").count(), 0);
        assert_eq!(controller_name("memory (v1)"), "memory");
    }

    #[test]
    fn mountinfo_fields() {
        let mounts = parse_mountinfo(V1);
        assert_eq!(mounts.len(), 6);
        let cpu = &mounts[3];
        assert_eq!(cpu.mount_point, "/sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(cpu.optional, ["shared:10"]);
        assert_eq!(cpu.fs_type, "cgroup");
        assert_eq!(cpu.super_options, "rw,cpu,cpuacct");
        assert!(parse_mountinfo("garbage\n1 2 3\n").is_empty());
    }

    #[test]
    fn root_propagation() {
        assert_eq!(root_is_shared(&parse_mountinfo(V2)), Some(true));
        assert_eq!(root_is_shared(&parse_mountinfo(HYBRID)), Some(false));
        assert_eq!(root_is_shared(&[]), None);
    }

    #[test]
    fn effective_uid() {
        let status = "Name:\tcat\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(euid_from_status(status), Some(0));
        assert_eq!(euid_from_status("Name:\tcat\n"), None);
    }
}
