//! A new volume starts with what the image has at its mount point.
//!
//! `docker run -v db:/var/lib/postgresql/data postgres` finds the image's
//! directory there in the volume, with its owner and mode: Docker copies
//! the image's content into a volume the first time it is mounted, *if
//! the volume is empty* — never over data a container already wrote
//! (`nocopy` turns the copy off). An anonymous volume is always new, so it
//! always starts as the image's directory did.
//!
//! The image is untrusted: its directory at the mount point may be a
//! symlink to the host's `/etc` (then the copy would publish the host's
//! files into the volume), and anything under it may be a link. So the
//! target is resolved inside the rootfs first ([`crate::resolve`]), the
//! directory is opened with lab 03's `open_in` (`RESOLVE_IN_ROOT`), and
//! the tree is walked by file descriptor: every entry opened relative to
//! its directory's fd with `O_NOFOLLOW`, a symlink copied as a symlink,
//! never followed. Directories, regular files and symlinks are copied
//! with their mode and owner; device nodes, FIFOs and sockets are not.
//!
//! The copy goes into `volumes/NAME/_seed` and is renamed over the empty
//! `_data` (`rename(2)` replaces an empty directory): a copy killed
//! half-way never looks like a seeded volume.

use std::ffi::OsStr;
use std::fs;
use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{PermissionsExt, lchown, symlink};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};
use rootfs::target;

use crate::error::Error;
use crate::resolve;

/// The kind of a file, from its mode.
fn kind(stat: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT
}

/// Open the image's directory at `resolved` (a path inside the rootfs) for
/// reading; `None` when the image has no directory there.
pub fn open_image_dir(rootfs: &Path, resolved: &Path) -> Result<Option<OwnedFd>, Error> {
    let root = resolve::open_rootfs(rootfs)?;
    let at = match target::open_in(root.as_fd(), resolved, OFlag::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(Errno::ENOENT | Errno::ENOTDIR) => return Ok(None),
        Err(errno) => {
            return Err(Error::Io {
                what: "open the image's directory",
                path: resolve::host_path(rootfs, resolved),
                source: errno.into(),
            });
        }
    };
    // `open_in` gives an O_PATH fd: open "." through it to read entries.
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let dir = openat(at.as_fd(), ".", flags, Mode::empty())
        .map_err(Error::sys("open the image's directory"))?;
    Ok(Some(dir))
}

/// Whether the image has a directory with entries at `resolved`: an
/// empty one has nothing to copy. (Docker would still give the volume
/// that directory's owner and mode; this engine does so only when it
/// copies.)
pub fn image_has_content(rootfs: &Path, resolved: &Path) -> Result<bool, Error> {
    match open_image_dir(rootfs, resolved)? {
        Some(dir) => Ok(!names_in(dir.as_fd())?.is_empty()),
        None => Ok(false),
    }
}

/// The names in the directory `dir` holds (not `.` and `..`), through
/// `/proc/self/fd/N`, which names that very directory.
fn names_in(dir: BorrowedFd) -> Result<Vec<std::ffi::OsString>, Error> {
    let path = format!("/proc/self/fd/{}", dir.as_raw_fd());
    let mut names: Vec<_> = fs::read_dir(&path)
        .map_err(Error::io("list", &path))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(Error::io("list", &path))?;
    names.sort();
    Ok(names)
}

/// Mode and owner of `stat` on `path` (owner first: chown clears set-id bits).
fn set_meta(path: &Path, stat: &FileStat, link: bool) -> Result<(), Error> {
    lchown(path, Some(stat.st_uid), Some(stat.st_gid)).map_err(Error::io("chown", path))?;
    if !link {
        let mode = fs::Permissions::from_mode(stat.st_mode & 0o7777);
        fs::set_permissions(path, mode).map_err(Error::io("chmod", path))?;
    }
    Ok(())
}

/// Copy what the directory `src` holds into the new directory `dst`.
fn copy_dir(src: BorrowedFd, dst: &Path) -> Result<(), Error> {
    for name in names_in(src)? {
        let name: &OsStr = &name;
        let to = dst.join(name);
        let stat = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(Error::sys("look at an entry of the image's directory"))?;
        match kind(&stat) {
            SFlag::S_IFDIR => {
                let flags =
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                let sub = openat(src, name, flags, Mode::empty())
                    .map_err(Error::sys("open a directory of the image"))?;
                fs::create_dir(&to).map_err(Error::io("create", &to))?;
                copy_dir(sub.as_fd(), &to)?;
                set_meta(&to, &stat, false)?;
            }
            SFlag::S_IFREG => {
                let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                let fd = openat(src, name, flags, Mode::empty())
                    .map_err(Error::sys("open a file of the image"))?;
                let mut from = fs::File::from(fd);
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&to)
                    .map_err(Error::io("create", &to))?;
                std::io::copy(&mut from, &mut file).map_err(Error::io("copy into", &to))?;
                set_meta(&to, &stat, false)?;
            }
            SFlag::S_IFLNK => {
                let text = readlinkat(src, name).map_err(Error::sys("read a link of the image"))?;
                symlink(&text, &to).map_err(Error::io("create the link", &to))?;
                set_meta(&to, &stat, true)?;
            }
            // Devices, FIFOs, sockets: not data.
            _ => {}
        }
    }
    Ok(())
}

/// Fill the volume whose data dir is `data` with the image's directory at
/// `resolved` (inside `rootfs`, from [`resolve::target_in`]) — only if the
/// volume is empty. Returns whether it copied.
pub fn seed(rootfs: &Path, resolved: &Path, data: &Path) -> Result<bool, Error> {
    // TASK 07.4: only an empty volume; copy by fd from inside the rootfs, then rename over _data
    todo!("07.4: only an empty volume; copy by fd from inside the rootfs, then rename over _data")
    // END TASK 07.4
}
