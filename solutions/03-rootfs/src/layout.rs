//! The rootfs, checked, and every path the child's steps need.
//!
//! The child runs between `clone` and exec, where it must not allocate (see
//! lab 01), and joining paths allocates. So the parent checks the rootfs
//! and computes every path up front; the child only makes system calls
//! with them.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// A character device node of the container's `/dev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    pub name: &'static str,
    pub major: u64,
    pub minor: u64,
    /// The host's node, bind-mounted where `mknod` is not allowed.
    pub host: &'static str,
}

/// The device nodes every container gets, as runc makes them: the same
/// major and minor numbers as the host's, so they are the same devices.
pub const DEVICES: [Device; 6] = [
    Device {
        name: "null",
        major: 1,
        minor: 3,
        host: "/dev/null",
    },
    Device {
        name: "zero",
        major: 1,
        minor: 5,
        host: "/dev/zero",
    },
    Device {
        name: "full",
        major: 1,
        minor: 7,
        host: "/dev/full",
    },
    Device {
        name: "random",
        major: 1,
        minor: 8,
        host: "/dev/random",
    },
    Device {
        name: "urandom",
        major: 1,
        minor: 9,
        host: "/dev/urandom",
    },
    Device {
        name: "tty",
        major: 5,
        minor: 0,
        host: "/dev/tty",
    },
];

/// The symlinks of `/dev`: name → target.
pub const LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// The mount points a rootfs must have (created when missing).
pub const MOUNT_POINTS: [&str; 3] = ["proc", "sys", "dev"];

/// A checked rootfs and the host paths of everything inside it.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The rootfs, canonical: no symlink in it, absolute.
    pub root: PathBuf,
    pub proc: PathBuf,
    pub sys: PathBuf,
    pub dev: PathBuf,
    pub dev_pts: PathBuf,
    pub dev_shm: PathBuf,
    /// Where each of [`DEVICES`] goes, in the same order.
    pub devices: Vec<PathBuf>,
    /// Where each of [`LINKS`] goes, in the same order.
    pub links: Vec<PathBuf>,
}

impl Layout {
    /// Check `rootfs` and plan its paths. Errors say what is wrong and come
    /// before any namespace or mount exists. Missing mount points (`/proc`,
    /// `/sys`, `/dev`) are created in the rootfs, as Docker does.
    pub fn new(rootfs: &Path) -> Result<Layout, Error> {
        let fail = |reason: String| Error::Rootfs {
            path: rootfs.to_path_buf(),
            reason,
        };
        let root = fs::canonicalize(rootfs).map_err(|e| match e.kind() {
            ErrorKind::NotFound => fail("does not exist".into()),
            _ => fail(e.to_string()),
        })?;
        if !root.is_dir() {
            return Err(fail("is not a directory".into()));
        }
        if root == Path::new("/") {
            return Err(fail(
                "is the host's own root: a container needs a directory of its own".into(),
            ));
        }
        for name in MOUNT_POINTS {
            let point = root.join(name);
            match fs::symlink_metadata(&point) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(fail(format!(
                        "/{name} is not a directory, and a mount point must be one"
                    )));
                }
                Err(e) if e.kind() == ErrorKind::NotFound => fs::create_dir(&point)
                    .map_err(|e| fail(format!("cannot create /{name}: {e}")))?,
                Err(e) => return Err(fail(format!("/{name}: {e}"))),
            }
        }
        let dev = root.join("dev");
        Ok(Layout {
            proc: root.join("proc"),
            sys: root.join("sys"),
            dev_pts: dev.join("pts"),
            dev_shm: dev.join("shm"),
            devices: DEVICES.iter().map(|d| dev.join(d.name)).collect(),
            links: LINKS.iter().map(|(name, _)| dev.join(name)).collect(),
            dev,
            root,
        })
    }
}
