//! Many layers: past the one page of `mount(2)`.
//!
//! Images of 50 or 100 layers exist (a Dockerfile's every `RUN` is one),
//! and 100 absolute paths of a layer store do not fit in the 4096 bytes
//! that `mount(2)` copies. Two ways out:
//!
//! - **Docker's (`overlay2`)**: each layer gets a short symlink,
//!   `l/ABCDEFGHIJKLMNOPQRSTUVWXYZ`, and the mount data names the links by
//!   *relative* paths (`lowerdir=l/A…:l/B…`), with the mount done from a
//!   process whose current directory is the store. Works on any kernel,
//!   but needs a child process (the current directory is per process, and
//!   a threaded engine cannot `chdir` under its threads' feet).
//! - **The new mount API** (Linux 5.2+, `lowerdir+` since 6.8): build the
//!   mount step by step on a file descriptor, one system call per option.
//!
//! ```text
//! fd = fsopen("overlay")                     a filesystem context
//! fsconfig(fd, SET_STRING, "lowerdir+", L)   once per layer, top first
//! fsconfig(fd, SET_STRING, "upperdir", U)    (each value ≤ 256 bytes)
//! fsconfig(fd, SET_STRING, "workdir", W)
//! fsconfig(fd, CMD_CREATE)                   the superblock is made here
//! m = fsmount(fd)                            a mount not yet attached anywhere
//! move_mount(m, "", AT_FDCWD, target, F_EMPTY_PATH)   now it is visible
//! ```
//!
//! This crate takes the second way. Each value is a string of its own,
//! so no page limit and no `:` or `,` parsing; overlay still limits a
//! stack to 500 lower layers. A bonus: when a step fails, the kernel
//! writes *why* into the context, and `read(fd)` returns it
//! (`e overlay: failed to resolve '/x': -2`) — `mount(2)` only ever says
//! EINVAL and leaves the reason in `dmesg`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use crate::error::Error;
use crate::overlay::Dirs;

// From <linux/mount.h>; the libc crate has the system call numbers only.
const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

/// A filesystem context (`fsopen`), configured one option at a time.
pub struct FsContext {
    fd: OwnedFd,
    fstype: &'static str,
}

fn cstring(text: &[u8]) -> CString {
    CString::new(text).expect("paths and option names hold no NUL")
}

impl FsContext {
    /// `fsopen(fstype)`.
    pub fn open(fstype: &'static str) -> Result<FsContext, Error> {
        let name = cstring(fstype.as_bytes());
        // SAFETY: a valid C string; the result is a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC) };
        if fd < 0 {
            return Err(Error::Sys {
                what: "open a filesystem context (fsopen, Linux 5.2+) for",
                path: fstype.into(),
                errno: Errno::last(),
            });
        }
        // SAFETY: fsopen returned a new fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        Ok(FsContext { fd, fstype })
    }

    fn config(
        &self,
        cmd: libc::c_uint,
        key: Option<&str>,
        value: Option<&[u8]>,
    ) -> Result<(), Error> {
        let key = key.map(|k| cstring(k.as_bytes()));
        let value = value.map(cstring);
        // SAFETY: the fd is ours; key and value are NUL-terminated or null.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                cmd,
                key.as_ref().map_or(std::ptr::null(), |k| k.as_ptr()),
                value.as_ref().map_or(std::ptr::null(), |v| v.as_ptr()),
                0,
            )
        };
        if rc < 0 {
            let errno = Errno::last();
            let what = key.map_or("create".into(), |k| k.to_string_lossy().into_owned());
            return Err(Error::Mount {
                target: format!("({} option {what})", self.fstype).into(),
                errno,
                detail: self.log(),
            });
        }
        Ok(())
    }

    /// `fsconfig(SET_STRING, key, value)`.
    pub fn set_string(&self, key: &str, value: &Path) -> Result<(), Error> {
        self.config(
            FSCONFIG_SET_STRING,
            Some(key),
            Some(value.as_os_str().as_bytes()),
        )
    }

    /// `fsconfig(SET_FLAG, key)`.
    pub fn set_flag(&self, key: &str) -> Result<(), Error> {
        self.config(FSCONFIG_SET_FLAG, Some(key), None)
    }

    /// Make the superblock (`CMD_CREATE`), mount it detached (`fsmount`)
    /// and attach it on `target` (`move_mount`).
    pub fn mount_on(&self, target: &Path) -> Result<(), Error> {
        self.config(FSCONFIG_CMD_CREATE, None, None)?;
        // SAFETY: the fd is ours; the result is a new fd or -1.
        let mnt =
            unsafe { libc::syscall(libc::SYS_fsmount, self.fd.as_raw_fd(), FSMOUNT_CLOEXEC, 0) };
        if mnt < 0 {
            return Err(Error::Mount {
                target: target.to_path_buf(),
                errno: Errno::last(),
                detail: self.log(),
            });
        }
        // SAFETY: fsmount returned a new fd that nothing else owns.
        let mnt = unsafe { OwnedFd::from_raw_fd(mnt as i32) };
        let empty = cstring(b"");
        let to = cstring(target.as_os_str().as_bytes());
        // SAFETY: valid fds and C strings.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_move_mount,
                mnt.as_raw_fd(),
                empty.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH,
            )
        };
        if rc < 0 {
            return Err(Error::Mount {
                target: target.to_path_buf(),
                errno: Errno::last(),
                detail: " (move_mount)".into(),
            });
        }
        // Closing `mnt` now is fine: the mount is attached, and it lives on.
        Ok(())
    }

    /// What the kernel logged into the context, `: e overlay: …; …`, or "".
    fn log(&self) -> String {
        let mut lines = Vec::new();
        let mut buf = [0u8; 1024];
        // Each read returns one message; ENODATA when there are no more.
        while let Ok(n) = nix::unistd::read(&self.fd, &mut buf) {
            if n == 0 || lines.len() > 16 {
                break;
            }
            lines.push(String::from_utf8_lossy(&buf[..n]).trim().to_string());
        }
        if lines.is_empty() {
            String::new()
        } else {
            format!(" ({})", lines.join("; "))
        }
    }
}

/// Mount an overlay of any number of layers on `target` with the new
/// mount API: one `lowerdir+` per layer.
// ANCHOR: mount_many
pub fn mount_many(dirs: &Dirs, target: &Path) -> Result<(), Error> {
    // TASK 06.3: fsopen overlay; lowerdir+ per layer, top first; upper, work, flags; mount
    let fs = FsContext::open("overlay")?;
    // `lowerdir+` appends to the stack, which is read top to bottom:
    // the top layer goes in first, as in `lowerdir=`.
    for lower in dirs.lowers.iter().rev() {
        fs.set_string("lowerdir+", lower)?;
    }
    fs.set_string("upperdir", dirs.upper)?;
    fs.set_string("workdir", dirs.work)?;
    if dirs.userxattr {
        fs.set_flag("userxattr")?;
    }
    if dirs.volatile {
        fs.set_flag("volatile")?;
    }
    fs.mount_on(target)
    // END TASK 06.3
}
// ANCHOR_END: mount_many
