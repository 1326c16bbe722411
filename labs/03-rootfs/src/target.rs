//! Mount targets inside an untrusted rootfs, opened by file descriptor.
//!
//! A rootfs is not ours: it comes from an image, and its directories can be
//! shared with other containers through volumes. Mounting on a *path* such
//! as `/tmp/rootfs/proc` lets the kernel walk that path again at `mount(2)`
//! time, and if a component is a symlink by then — swapped in by another
//! container between our check and our mount — the mount lands wherever the
//! link points, possibly on the host (runc's CVE-2019-19921 and
//! CVE-2021-30465). So the child never mounts by path under the rootfs:
//!
//! 1. it opens the rootfs itself ([`open_root`]) and each target in it
//!    ([`open_in`]) with `openat2(2)` and `RESOLVE_IN_ROOT`: the kernel
//!    resolves every symlink and `..` as if the rootfs were `/`, so the
//!    result is inside it whatever the links say; `RESOLVE_NO_MAGICLINKS`
//!    refuses `/proc/…/fd/N`-style links, which would jump anywhere;
//! 2. it mounts on the file that fd holds, through `/proc/self/fd/N`
//!    ([`FdPath`], [`mount_on`]): the kernel follows that magic link to the
//!    very file opened, not to whatever the path names now.
//!
//! Every fd is `O_PATH | O_CLOEXEC` (it can only name a file, and exec
//! never inherits it) and an [`OwnedFd`], closed when the step returns.
//! Nothing here allocates: it runs in the child between `clone` and exec.
//!
//! A kernel older than 5.6 has no `openat2` (`ENOSYS`): then the path is
//! walked one component at a time with `O_NOFOLLOW`, and any symlink on the
//! way is refused (`ENOTDIR` where a directory is needed, else `ELOOP`) —
//! stricter, but never outside the rootfs.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::NixPath;
use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, OFlag, OpenHow, ResolveFlag, open, openat, openat2};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, SFlag, fstat};

/// Every fd opened here: a handle on a file, never inherited across exec.
const PATH_FD: OFlag = OFlag::O_PATH.union(OFlag::O_CLOEXEC);

/// Open the rootfs, `root` (an absolute host path with no symlink in it:
/// [`crate::Layout`] made it canonical), as a directory. A symlink anywhere
/// in it now is refused (`ELOOP`, or `ENOTDIR` for the last component)
/// rather than followed.
pub fn open_root(root: &CStr) -> Result<OwnedFd, Errno> {
    let flags = PATH_FD | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS);
    match openat2(AT_FDCWD, root, how) {
        // No openat2: walk it from `/`, refusing every symlink.
        Err(Errno::ENOSYS) => {
            let top = open(c"/", PATH_FD | OFlag::O_DIRECTORY, Mode::empty())?;
            walk_in(top.as_fd(), root, OFlag::O_DIRECTORY)
        }
        result => result,
    }
}

/// Open `path` inside the directory `root` as if `root` were `/`: an
/// absolute path or symlink starts at `root`, and `..` never climbs above
/// it. `flags` are added to `O_PATH | O_CLOEXEC`: `O_DIRECTORY` for a
/// mount point that must be a directory, `O_NOFOLLOW` to refuse a symlink
/// as the last component (a mount point is never a link).
///
/// `path` is a `&CStr`, or a `&str` that nix copies into a NUL-terminated
/// buffer on the stack (up to 1024 bytes: ours are short).
pub fn open_in<P: ?Sized + NixPath>(
    root: BorrowedFd,
    path: &P,
    flags: OFlag,
) -> Result<OwnedFd, Errno> {
    let how = OpenHow::new()
        .flags(PATH_FD | flags)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    match openat2(root, path, how) {
        Err(Errno::ENOSYS) => path.with_nix_path(|path| walk_in(root, path, flags))?,
        result => result,
    }
}

/// The fallback of [`open_in`] for kernels without `openat2`: one
/// component at a time, each opened with `O_NOFOLLOW`; a symlink is refused
/// (`ENOTDIR` where a directory is needed, else `ELOOP`), and so is `..`
/// (`EXDEV`, as `RESOLVE_BENEATH` says).
pub fn walk_in(root: BorrowedFd, path: &CStr, flags: OFlag) -> Result<OwnedFd, Errno> {
    let mut parts = path
        .to_bytes()
        .split(|b| *b == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
        .peekable();
    // The directory the walk is in; `None` while it is `root` itself.
    let mut at: Option<OwnedFd> = None;
    let mut name = [0u8; 256]; // NAME_MAX + 1 for the NUL
    while let Some(part) = parts.next() {
        if part == b".." {
            return Err(Errno::EXDEV);
        }
        if part.len() >= name.len() {
            return Err(Errno::ENAMETOOLONG);
        }
        name[..part.len()].copy_from_slice(part);
        name[part.len()] = 0;
        let c_name = CStr::from_bytes_with_nul(&name[..=part.len()]).map_err(|_| Errno::EINVAL)?;
        let last = parts.peek().is_none();
        let extra = if last { flags } else { OFlag::O_DIRECTORY };
        let dir = at.as_ref().map_or(root, |fd| fd.as_fd());
        let fd = openat(
            dir,
            c_name,
            PATH_FD | OFlag::O_NOFOLLOW | extra,
            Mode::empty(),
        )?;
        if SFlag::from_bits_truncate(fstat(&fd)?.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK {
            return Err(Errno::ELOOP);
        }
        at = Some(fd);
    }
    match at {
        Some(fd) => Ok(fd),
        // The path named `root` itself: a second fd on it.
        None => openat(root, c".", PATH_FD | flags, Mode::empty()),
    }
}

/// `/proc/self/fd/N`: a path that the kernel resolves to the very file an
/// fd holds. Formatted in a buffer on the stack (the child must not
/// allocate); valid while the fd is open.
pub struct FdPath {
    buf: [u8; 32],
    len: usize, // with the NUL
}

impl FdPath {
    pub fn new(fd: BorrowedFd) -> FdPath {
        const PREFIX: &[u8] = b"/proc/self/fd/";
        let mut buf = [0u8; 32];
        buf[..PREFIX.len()].copy_from_slice(PREFIX);
        // The digits of a non-negative fd, most significant first.
        let mut digits = [0u8; 10];
        let mut n = fd.as_raw_fd().unsigned_abs();
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for (i, digit) in digits[..count].iter().rev().enumerate() {
            buf[PREFIX.len() + i] = *digit;
        }
        FdPath {
            buf,
            len: PREFIX.len() + count + 1, // the buffer was zeroed: the NUL is there
        }
    }

    pub fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_with_nul(&self.buf[..self.len]).expect("one NUL, at the end")
    }
}

/// `mount(2)` on the file `target` holds. `source` is a path (or a word for
/// a pseudo-filesystem); for a bind of another fd, pass its [`FdPath`].
pub fn mount_on<S: ?Sized + NixPath>(
    target: BorrowedFd,
    source: Option<&S>,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), Errno> {
    mount(source, FdPath::new(target).as_c_str(), fstype, flags, data)
}

/// Mount a filesystem on the directory `path` inside `root` (see
/// [`open_in`]; a symlink as the mount point itself is refused), and close
/// the fd.
pub fn mount_in<P: ?Sized + NixPath>(
    root: BorrowedFd,
    path: &P,
    fstype: &str,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), Errno> {
    let target = open_in(root, path, OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW)?;
    // The source of a pseudo-filesystem is free text: its type, as Docker.
    mount_on(target.as_fd(), Some(fstype), Some(fstype), flags, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, symlink};

    fn dir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("dockyard-target-")
            .tempdir()
            .unwrap()
    }

    fn inode(fd: &OwnedFd) -> (u64, u64) {
        let stat = fstat(fd).unwrap();
        (stat.st_dev, stat.st_ino)
    }

    #[test]
    fn fd_paths_name_the_fd() {
        let root = std::fs::File::open("/").unwrap();
        let path = FdPath::new(root.as_fd());
        let expected = format!("/proc/self/fd/{}", root.as_raw_fd());
        assert_eq!(path.as_c_str().to_str().unwrap(), expected);
    }

    #[test]
    fn a_link_resolves_inside_the_root_or_is_refused() {
        let tmp = dir();
        let root_path = tmp.path().canonicalize().unwrap().join("root");
        std::fs::create_dir_all(root_path.join("etc")).unwrap();
        std::fs::create_dir_all(tmp.path().join("etc")).unwrap();
        symlink("/etc", root_path.join("proc")).unwrap();
        symlink("../../../etc", root_path.join("up")).unwrap();
        let c_root = std::ffi::CString::new(root_path.to_str().unwrap()).unwrap();
        let root = open_root(&c_root).unwrap();
        let etc = open_in(root.as_fd(), c"etc", OFlag::O_DIRECTORY).unwrap();
        let via_link = open_in(root.as_fd(), c"/proc", OFlag::O_DIRECTORY).unwrap();
        let via_up = open_in(root.as_fd(), c"up", OFlag::O_DIRECTORY).unwrap();
        assert_eq!(
            inode(&via_link),
            inode(&etc),
            "/proc -> /etc is the rootfs's etc"
        );
        assert_eq!(inode(&via_up), inode(&etc), "'..' stops at the rootfs");
        let no_follow = OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
        assert_eq!(
            open_in(root.as_fd(), c"proc", no_follow).err(),
            Some(Errno::ENOTDIR)
        );
        // The fallback refuses links outright: a link is not a directory,
        // and a link where a file may be is ELOOP.
        assert_eq!(
            walk_in(root.as_fd(), c"proc", no_follow).err(),
            Some(Errno::ENOTDIR)
        );
        assert_eq!(
            walk_in(root.as_fd(), c"up/x", no_follow).err(),
            Some(Errno::ENOTDIR)
        );
        assert_eq!(
            walk_in(root.as_fd(), c"proc", OFlag::O_NOFOLLOW).err(),
            Some(Errno::ELOOP)
        );
        assert_eq!(
            walk_in(root.as_fd(), c"../etc", no_follow).err(),
            Some(Errno::EXDEV)
        );
        let walked = walk_in(root.as_fd(), c"/etc/", OFlag::O_DIRECTORY).unwrap();
        assert_eq!(inode(&walked), inode(&etc));
        let top = walk_in(root.as_fd(), c"/", OFlag::O_DIRECTORY).unwrap();
        let meta = std::fs::metadata(&root_path).unwrap();
        assert_eq!(inode(&top), (meta.dev(), meta.ino()));
        // open_root's fallback: the rootfs's path walked from the host's `/`.
        let slash = open(c"/", PATH_FD | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        let walked_root = walk_in(slash.as_fd(), &c_root, OFlag::O_DIRECTORY).unwrap();
        assert_eq!(inode(&walked_root), inode(&root));
    }

    #[test]
    fn the_root_itself_may_not_be_a_link() {
        let tmp = dir();
        std::fs::create_dir(tmp.path().join("real")).unwrap();
        symlink("real", tmp.path().join("link")).unwrap();
        let link = std::ffi::CString::new(tmp.path().join("link").to_str().unwrap()).unwrap();
        assert_eq!(open_root(&link).err(), Some(Errno::ENOTDIR));
    }
}
