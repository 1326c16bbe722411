//! How the host is set up, as doctor reads it: a thin layer over the
//! `shared` crate, which the kit and the probe use too (one mountinfo
//! parser, one cgroup layout detection for every tool).

pub use shared::cgroups::Layout as CgroupLayout;
use shared::mountinfo::Mount;

/// Whether `/` is a shared mount (`None` when no mount is on `/`).
pub fn root_is_shared(mounts: &[Mount]) -> Option<bool> {
    // Mounts stack: the last one on "/" is the one on top, the one we see.
    let root = mounts.iter().rev().find(|mount| mount.mount_point == "/")?;
    Some(root.is_shared())
}

/// The layout, and the controllers usable in each hierarchy, sorted:
/// `"memory (v1)"`, `"pids (v2)"`, …
pub fn cgroup_layout() -> (CgroupLayout, Vec<String>) {
    let cgroups = shared::cgroups::detect();
    (cgroups.layout, cgroups.controller_list())
}

/// `"memory (v1)"` → `"memory"`.
pub fn controller_name(entry: &str) -> &str {
    entry.split(' ').next().unwrap_or(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_root_is_seen() {
        let mounts = shared::mountinfo::parse(
            "30 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw\n\
             31 30 0:5 / /tmp rw - tmpfs tmpfs rw\n",
        );
        assert_eq!(root_is_shared(&mounts), Some(true));
        let private = shared::mountinfo::parse("30 1 8:2 / / rw - ext4 /dev/sda2 rw\n");
        assert_eq!(root_is_shared(&private), Some(false));
        assert_eq!(controller_name("memory (v1)"), "memory");
    }
}
