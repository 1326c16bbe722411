//! Which cgroup filesystems this host has: v2, v1, or both (hybrid).
//!
//! The answer is in the mount table, `/proc/self/mountinfo`, one line per
//! mount:
//!
//! ```text
//! 35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
//! 41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
//! ```
//!
//! Before the ` - ` come the mount's id, its parent's, the device, the
//! root of the mount inside its filesystem and the mount point (with
//! spaces written `\040`); after it, the filesystem type, the source and
//! the *super options* — for a v1 `cgroup` mount, its controllers.
//!
//! - A `cgroup2` mount, and no v1 mount with a controller: **v2**. Every
//!   controller lives in that one tree.
//! - v1 mounts with controllers (`memory`, `cpu,cpuacct`…): **v1**, and
//!   if a `cgroup2` mount is there too, **hybrid**: the controllers work in
//!   their v1 trees; the v2 tree has the ones v1 left over (often none),
//!   plus what only v2 has: `cgroup.kill`, `cgroup.freeze`.
//! - A v1 mount without controllers (`name=systemd`) is systemd's
//!   bookkeeping, not a controller: it does not make a v2 host hybrid.
//!
//! Do not guess from paths: `/sys/fs/cgroup/memory` exists on v1 hosts
//! only, but `/sys/fs/cgroup` is a v2 mount on some hosts and a tmpfs of
//! v1 mounts on others.

use std::path::PathBuf;

use crate::error::LayoutError;

/// Every cgroup v1 controller; the other super options of a v1 mount
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

/// One v1 hierarchy: its controllers, where it is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Mount {
    /// As in the super options: `["cpu", "cpuacct"]`.
    pub controllers: Vec<String>,
    pub mount_point: PathBuf,
}

/// The host's cgroup filesystems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One cgroup2 tree with every controller.
    V2 { mount_point: PathBuf },
    /// v1 trees, one per controller (or few); with `unified`, a hybrid.
    V1 {
        hierarchies: Vec<V1Mount>,
        unified: Option<PathBuf>,
    },
}

impl Layout {
    /// The v1 tree that has `controller`, if any.
    pub fn v1_mount(&self, controller: &str) -> Option<&V1Mount> {
        match self {
            Layout::V2 { .. } => None,
            Layout::V1 { hierarchies, .. } => hierarchies
                .iter()
                .find(|h| h.controllers.iter().any(|c| c == controller)),
        }
    }

    /// A name for messages: "cgroup v2", "cgroup v1", "hybrid".
    pub fn name(&self) -> &'static str {
        match self {
            Layout::V2 { .. } => "cgroup v2",
            Layout::V1 { unified: None, .. } => "cgroup v1",
            Layout::V1 { .. } => "hybrid (cgroup v1 controllers + a cgroup2 mount)",
        }
    }
}

/// This host's layout, from `/proc/self/mountinfo`.
pub fn detect() -> Result<Layout, LayoutError> {
    let path = "/proc/self/mountinfo";
    let text =
        std::fs::read_to_string(path).map_err(|source| LayoutError::Read { path, source })?;
    parse(&text)
}

// ANCHOR: parse
/// The layout a mount table (`/proc/self/mountinfo`'s text) shows. The
/// first mount of each hierarchy counts; later ones (bind mounts of it) do
/// not.
pub fn parse(mountinfo: &str) -> Result<Layout, LayoutError> {
    // TASK 04.2: cgroup2 and cgroup mounts (type after " - "); v1 controllers in super options
    let mut hierarchies: Vec<V1Mount> = Vec::new();
    let mut unified: Option<PathBuf> = None;
    for line in mountinfo.lines() {
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = before.split(' ').nth(4) else {
            continue;
        };
        let mut after = after.split(' ');
        let (Some(fs_type), Some(_source), Some(options)) =
            (after.next(), after.next(), after.next())
        else {
            continue;
        };
        let mount_point = PathBuf::from(unescape(mount_point));
        match fs_type {
            "cgroup2" if unified.is_none() => unified = Some(mount_point),
            "cgroup" => {
                let controllers: Vec<String> = options
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o))
                    .map(str::to_owned)
                    .collect();
                let known = hierarchies.iter().any(|h| h.controllers == controllers);
                if !controllers.is_empty() && !known {
                    hierarchies.push(V1Mount {
                        controllers,
                        mount_point,
                    });
                }
            }
            _ => {}
        }
    }
    match (hierarchies.is_empty(), unified) {
        (true, Some(mount_point)) => Ok(Layout::V2 { mount_point }),
        (true, None) => Err(LayoutError::NoCgroupfs),
        (false, unified) => Ok(Layout::V1 {
            hierarchies,
            unified,
        }),
    }
    // END TASK 04.2
}
// ANCHOR_END: parse

/// A mount point as mountinfo writes it: space, tab, newline and backslash
/// as octal escapes (`\040`).
pub fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
