//! Many layers: past the one page of `mount(2)`.
//!
//! Images of 50 or 100 layers exist (a Dockerfile's every `RUN` is one),
//! and 100 absolute paths of a layer store do not fit in the 4096 bytes
//! that `mount(2)` copies. Two ways out, and this crate has both:
//!
//! - **The new mount API** (Linux 5.2+, overlay's `lowerdir+` since 6.8):
//!   build the mount step by step on a file descriptor, one system call
//!   per option ([`mount_many`]).
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
//!   Each value is a string of its own, so no page limit and no `:` or `,`
//!   parsing; overlay still limits a stack to 500 lower layers. A bonus:
//!   when a step fails, the kernel writes *why* into the context, and
//!   `read(fd)` returns it (`e overlay: failed to resolve '/x': -2`) —
//!   `mount(2)` only ever says EINVAL and leaves the reason in `dmesg`.
//!
//! - **Short links and a relative `lowerdir`** (any kernel; what Docker's
//!   `overlay2` does, [`mount_short_links`]): each lower gets a symlink
//!   with a short name in a directory of links (Docker: `l/` of 26-letter
//!   ids; here the layer's own `l/`, names `0`, `1`, … bottom-first), and
//!   `mount(2)` runs with that directory as its current directory, so the
//!   data names the layers by their links: `lowerdir=100:99:…:0`. Overlay
//!   resolves each name (following the link) when it mounts; afterwards
//!   the links are not used any more. 500 layers (overlay's maximum) take
//!   at most 4 bytes each, 1,890 bytes in all: always less than a page,
//!   whatever the store's paths. The current directory belongs to the
//!   whole process, so the mount is made from a thread that first takes a
//!   current directory of its own (`unshare(CLONE_FS)`), never by moving
//!   the engine's ([`mount_from`]).
//!
//! Kernels before 6.8 refuse `lowerdir+` with EINVAL: from 6.5 (overlay on
//! the new API; WSL2's 6.6) at the `fsconfig` call, before 6.5 (Debian 12's
//! 6.1, Ubuntu 22.04's 5.15: the option reaches overlay's old parser as
//! text) only at `CMD_CREATE`. And before 5.2 there is no `fsopen` at all
//! (ENOSYS). [`ManyLayers::Auto`] tries `lowerdir+` and takes the short
//! links when it is refused that way.

use std::ffi::CString;
use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, symlink};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::overlay::{Dirs, MOUNT_DATA_MAX, option_path};

/// How to mount an overlay whose mount data does not fit in a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ManyLayers {
    /// `lowerdir+` when the kernel takes it (6.8+), short links otherwise.
    #[default]
    Auto,
    /// Only the new mount API's `lowerdir+` (Linux 6.8+).
    LowerdirPlus,
    /// Only short links and a relative `lowerdir` (any kernel).
    ShortLinks,
}

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

/// Mount an overlay of `dirs` on `target` the way `how` says; `links` is
/// the directory for the short links (made when they are used).
// ANCHOR: mount_beyond_a_page
pub fn mount_beyond_a_page(
    dirs: &Dirs,
    links: &Path,
    target: &Path,
    how: ManyLayers,
) -> Result<(), Error> {
    match how {
        ManyLayers::LowerdirPlus => mount_many(dirs, target),
        ManyLayers::ShortLinks => mount_short_links(dirs, links, target),
        ManyLayers::Auto => match mount_many(dirs, target) {
            Err(refused) if lowerdir_plus_refused(&refused) => {
                mount_short_links(dirs, links, target).map_err(|err| Error::BadPath {
                    path: target.to_path_buf(),
                    reason: format!("lowerdir+ was refused ({refused}); short links: {err}"),
                })
            }
            done => done,
        },
    }
}
// ANCHOR_END: mount_beyond_a_page

/// Whether `err` is how a kernel without `lowerdir+` says no: no
/// `fsopen` (ENOSYS, before 5.2), or EINVAL from `fsconfig` (6.5–6.7)
/// or from `CMD_CREATE` (before 6.5). A genuine mistake (a bad work dir)
/// is EINVAL too; then the short links fail the same way, and both
/// errors are shown.
fn lowerdir_plus_refused(err: &Error) -> bool {
    matches!(
        err,
        Error::Mount {
            errno: Errno::EINVAL,
            ..
        } | Error::Sys {
            errno: Errno::ENOSYS,
            ..
        }
    )
}

/// Mount an overlay of any number of layers (up to overlay's 500) on
/// `target` with `mount(2)`: one short link per lower in `links`, and a
/// `lowerdir` of the links' names, relative to `links`.
// ANCHOR: mount_short_links
pub fn mount_short_links(dirs: &Dirs, links: &Path, target: &Path) -> Result<(), Error> {
    // TASK 06.3: a link per lower in links/, lowerdir= their names top first, mount_from(links)
    empty_dir(links)?;
    let mut names = Vec::with_capacity(dirs.lowers.len());
    // Named bottom-first (0 is the base layer), listed top-first.
    for (index, lower) in dirs.lowers.iter().enumerate() {
        let name = index.to_string();
        let link = links.join(&name);
        symlink(lower, &link).map_err(Error::io("make the short link", &link))?;
        names.push(name);
    }
    names.reverse();
    let mut data = format!(
        "lowerdir={},upperdir={},workdir={}",
        names.join(":"),
        option_path(dirs.upper)?,
        option_path(dirs.work)?
    );
    if dirs.userxattr {
        data.push_str(",userxattr");
    }
    if dirs.volatile {
        data.push_str(",volatile");
    }
    mount_from(links, &data, target)
    // END TASK 06.3
}
// ANCHOR_END: mount_short_links

/// Make `dir` an empty directory (0700): links left by an earlier mount of
/// the same layer are removed (never followed: `remove_dir_all` unlinks a
/// symlink, it does not enter it).
pub fn empty_dir(dir: &Path) -> Result<(), Error> {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("remove the old links in", dir)(e)),
    }
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(Error::io("create the links directory", dir))
}

/// `mount(2)` of an overlay with `data`, whose relative paths are resolved
/// from `dir`, on `target` (absolute).
///
/// The current directory is shared by every thread of a process: a
/// `chdir` here would move it under the feet of an engine's other threads
/// (Docker re-executes itself as a child process for this, `mountfrom`).
/// A thread can leave that sharing instead: `unshare(CLONE_FS)` gives it
/// its own copy of the current directory, root and umask, so its `chdir`
/// changes nothing for the others. The mount namespace is not part of it:
/// the mount is seen by the whole process, as any other.
// ANCHOR: mount_from
pub fn mount_from(dir: &Path, data: &str, target: &Path) -> Result<(), Error> {
    if data.len() > MOUNT_DATA_MAX {
        return Err(Error::BadPath {
            path: target.to_path_buf(),
            reason: format!(
                "{} bytes of mount data even with short links, more than mount(2) takes \
                 ({MOUNT_DATA_MAX})",
                data.len()
            ),
        });
    }
    if !target.is_absolute() {
        return Err(Error::BadPath {
            path: target.to_path_buf(),
            reason: "the mount point must be absolute (it is looked up from the links)".into(),
        });
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                unshare(CloneFlags::CLONE_FS).map_err(Error::sys(
                    "give the mounting thread a current directory of its own for",
                    dir,
                ))?;
                nix::unistd::chdir(dir).map_err(Error::sys("change into", dir))?;
                mount(
                    Some("overlay"),
                    target,
                    Some("overlay"),
                    MsFlags::empty(),
                    Some(data),
                )
                .map_err(|errno| Error::Mount {
                    target: target.to_path_buf(),
                    errno,
                    detail: format!(
                        " (lowerdir relative to {}; `dmesg | grep overlay` says why)",
                        dir.display()
                    ),
                })
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
// ANCHOR_END: mount_from
