//! The rootfs, checked, and what the child's steps need to find it.
//!
//! The child runs between `clone` and exec, where it must not allocate (see
//! lab 01), and building a path allocates. So the parent checks the rootfs
//! and keeps its path as a C string, ready for system calls. Everything
//! *under* the rootfs is named relative to it, by constants (`c"proc"`,
//! [`DEVICES`]…): the child opens the rootfs once and reaches the rest
//! through file descriptors (see [`crate::target`]), never by host path.

use std::ffi::{CStr, CString};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// A character device node of the container's `/dev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    /// Its name in `/dev`.
    pub name: &'static CStr,
    pub major: u64,
    pub minor: u64,
    /// The host's node, bind-mounted where `mknod` is not allowed.
    pub host: &'static CStr,
}

/// The device nodes every container gets, as runc makes them: the same
/// major and minor numbers as the host's, so they are the same devices.
pub const DEVICES: [Device; 6] = [
    Device {
        name: c"null",
        major: 1,
        minor: 3,
        host: c"/dev/null",
    },
    Device {
        name: c"zero",
        major: 1,
        minor: 5,
        host: c"/dev/zero",
    },
    Device {
        name: c"full",
        major: 1,
        minor: 7,
        host: c"/dev/full",
    },
    Device {
        name: c"random",
        major: 1,
        minor: 8,
        host: c"/dev/random",
    },
    Device {
        name: c"urandom",
        major: 1,
        minor: 9,
        host: c"/dev/urandom",
    },
    Device {
        name: c"tty",
        major: 5,
        minor: 0,
        host: c"/dev/tty",
    },
];

/// The symlinks of `/dev`: name → target.
pub const LINKS: [(&CStr, &CStr); 5] = [
    (c"fd", c"/proc/self/fd"),
    (c"stdin", c"/proc/self/fd/0"),
    (c"stdout", c"/proc/self/fd/1"),
    (c"stderr", c"/proc/self/fd/2"),
    (c"ptmx", c"pts/ptmx"),
];

/// The mount points a rootfs must have (created when missing).
pub const MOUNT_POINTS: [&str; 3] = ["proc", "sys", "dev"];

/// A checked rootfs.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The rootfs, canonical: no symlink in it, absolute.
    pub root: PathBuf,
    /// The same path as a C string, for the child's system calls.
    pub root_c: CString,
}

impl Layout {
    /// Check `rootfs`. Errors say what is wrong and come
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
        let root_c = CString::new(root.as_os_str().as_bytes())
            .map_err(|_| fail("holds a NUL byte".into()))?;
        Ok(Layout { root, root_c })
    }
}
