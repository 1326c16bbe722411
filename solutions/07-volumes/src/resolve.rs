//! A mount target resolved inside the rootfs, as if the rootfs were `/`.
//!
//! The rootfs comes from an image, and an image may hold any symlink:
//! `/data -> /etc`, `/data -> ../../../etc`, or a chain of them. Joined to
//! the rootfs's host path as text (`rootfs.join("data")`) and handed to
//! the host's path walk, such a link leaves the rootfs: `mkdir -p`,
//! `mount` or a copy of the image's content would then happen on the
//! *host's* `/etc`. Docker resolves a target the way `filepath-securejoin`
//! does: one component at a time, reading each symlink itself and
//! restarting its text from the rootfs (absolute) or from where it is
//! (relative), with `..` never climbing above the rootfs. The result is a
//! path *inside* the container that names no symlink — it goes into
//! config.json as the mount's destination.
//!
//! Every lookup here goes through lab 03's [`rootfs::target::open_in`]
//! (`openat2` with `RESOLVE_IN_ROOT`), so even a directory swapped for a
//! link between two lookups is resolved inside the rootfs. Lab 05's
//! runtime opens the destination the same way when it mounts: what this
//! module adds is following a link that *is* the target (the runtime
//! refuses to mount on a link, `O_NOFOLLOW`) and a path to read the
//! image's content from ([`crate::seed`]) and to show the user.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, readlinkat};
use nix::sys::stat::{SFlag, fstatat};
use rootfs::target;

use crate::error::Error;

/// How many symlinks a resolution follows before it gives up (`ELOOP`), as
/// the kernel's `MAXSYMLINKS`.
pub const MAX_LINKS: usize = 40;

fn target_error(target: &Path, reason: impl Into<String>) -> Error {
    Error::Target {
        target: target.to_path_buf(),
        reason: reason.into(),
    }
}

/// The rootfs as an `O_PATH` fd (lab 03's `open_root`: no symlink in its
/// own path).
pub fn open_rootfs(rootfs: &Path) -> Result<std::os::fd::OwnedFd, Error> {
    let c_root = CString::new(rootfs.as_os_str().as_bytes())
        .map_err(|_| target_error(rootfs, "the rootfs path holds a NUL byte"))?;
    target::open_root(&c_root).map_err(|errno| Error::Io {
        what: "open the rootfs",
        path: rootfs.to_path_buf(),
        source: errno.into(),
    })
}

/// What a name is inside a directory of the rootfs, without following it.
enum Entry {
    Link(OsString),
    Other,
    Missing,
}

fn entry_at(root: std::os::fd::BorrowedFd, dir: &Path, name: &OsStr) -> Result<Entry, Errno> {
    let dir = match target::open_in(root, dir, OFlag::O_DIRECTORY) {
        Ok(fd) => fd,
        // A directory on the way that does not exist (yet): nor does the name.
        Err(Errno::ENOENT) => return Ok(Entry::Missing),
        Err(errno) => return Err(errno),
    };
    match fstatat(dir.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(stat) if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK => {
            Ok(Entry::Link(readlinkat(dir.as_fd(), name)?))
        }
        Ok(_) => Ok(Entry::Other),
        Err(Errno::ENOENT) => Ok(Entry::Missing),
        Err(errno) => Err(errno),
    }
}

// ANCHOR: target_in
/// The path inside `rootfs` (an absolute, canonical host path) that
/// `target` (absolute, as the container sees it) names once every symlink
/// on the way is followed *inside* the rootfs. The result is absolute,
/// holds no `.`, `..` or symlink (unless the rootfs changes meanwhile) and
/// need not exist: the runtime creates what is missing.
pub fn target_in(rootfs: &Path, target: &Path) -> Result<PathBuf, Error> {
    // TASK 07.1: walk the target one component at a time; follow links inside the rootfs
    let root = open_rootfs(rootfs)?;
    // What is left to walk, first component last (a stack).
    let mut todo: Vec<OsString> = Vec::new();
    let push = |todo: &mut Vec<OsString>, path: &Path| {
        for component in path.components().rev() {
            match component {
                Component::Normal(name) => todo.push(name.to_os_string()),
                Component::ParentDir => todo.push("..".into()),
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            }
        }
    };
    push(&mut todo, target);
    let mut resolved = PathBuf::from("/");
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            // Never above the rootfs: `/..` is `/`, as in the kernel.
            resolved.pop();
            continue;
        }
        let entry = entry_at(root.as_fd(), &resolved, &name).map_err(|errno| {
            target_error(
                target,
                format!("cannot look at {}: {errno}", resolved.join(&name).display()),
            )
        })?;
        match entry {
            Entry::Link(text) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(target_error(target, "too many levels of symbolic links"));
                }
                let text = PathBuf::from(text);
                if text.is_absolute() {
                    // Absolute: from the rootfs, not from the host's `/`.
                    resolved = PathBuf::from("/");
                }
                push(&mut todo, &text);
            }
            Entry::Other | Entry::Missing => resolved.push(&name),
        }
    }
    Ok(resolved)
    // END TASK 07.1
}
// ANCHOR_END: target_in

/// `target` as a host path under `rootfs`, once resolved inside it: for
/// messages and for the checks. Never used to open anything.
pub fn host_path(rootfs: &Path, resolved: &Path) -> PathBuf {
    rootfs.join(resolved.strip_prefix("/").unwrap_or(resolved))
}
