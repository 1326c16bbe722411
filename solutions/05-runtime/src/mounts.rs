//! config.json's mounts, masked and read-only paths, and sysctls: in the
//! child, between `clone` and exec.
//!
//! Lab 03 mounted a fixed list; here the list is the caller's. The same
//! rule holds: a mount point inside the rootfs is opened with `openat2`
//! and `RESOLVE_IN_ROOT` (lab 03's [`rootfs::target`]) and mounted on by
//! fd, so a symlink in an image cannot send a mount to the host. Missing
//! mount points are created one component at a time the same way — `/dev/pts`
//! only exists once `/dev`'s tmpfs is mounted, so this cannot be done by
//! the parent beforehand.
//!
//! A bind mount ignores the flags given with it (`ro`, `nosuid`, …) — the
//! kernel applies them only on a *remount* of the bind — and the
//! propagation (`rprivate`, `rslave`, …) is a third `mount(2)` call of its
//! own: three calls for one line of config.json.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, SFlag, fstat, makedev, mkdirat, mknodat, umask};
use nix::unistd::symlinkat;
use rootfs::Layout;
use rootfs::layout::{DEVICES, LINKS};
use rootfs::target::{self, FdPath};

use crate::plan::{MountPlan, Plan};

const NONE: Option<&str> = None;

/// Make each directory `(parent, name)` (parents first, as the plan lists
/// them), each opened inside the rootfs: one already there is fine.
pub(crate) fn make_dirs(
    root: std::os::fd::BorrowedFd,
    dirs: &[(std::ffi::CString, std::ffi::CString)],
) -> Result<(), Errno> {
    for (parent, name) in dirs {
        let dir = target::open_in(root, parent.as_c_str(), OFlag::O_DIRECTORY)?;
        match mkdirat(
            dir.as_fd(),
            name.as_c_str(),
            Mode::from_bits_truncate(0o755),
        ) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// Create the directories on the way to `mount`'s destination, and the
/// file a bind of a file needs.
fn make_target(root: std::os::fd::BorrowedFd, mount: &MountPlan) -> Result<(), Errno> {
    make_dirs(root, &mount.dirs)?;
    if mount.file {
        match target::open_in(root, mount.destination.as_c_str(), OFlag::O_NOFOLLOW) {
            Ok(_) => {}
            Err(Errno::ENOENT) => {
                // The last (parent, name) pair was left out for a file: make it.
                let dest = mount.destination.as_bytes();
                let cut = dest.iter().rposition(|b| *b == b'/').unwrap_or(0);
                let (parent, name) = dest.split_at(cut + 1);
                let mut buf = [0u8; 4096];
                let parent = c_in(
                    &mut buf,
                    if parent.len() > 1 {
                        &parent[..cut]
                    } else {
                        b"/"
                    },
                )?;
                let dir = target::open_in(root, parent, OFlag::O_DIRECTORY)?;
                let mut buf = [0u8; 256];
                let name = c_in(&mut buf, name)?;
                let flags = OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
                openat(dir.as_fd(), name, flags, Mode::from_bits_truncate(0o644))?;
            }
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// A C string in a stack buffer (the child does not allocate).
fn c_in<'b>(buf: &'b mut [u8], bytes: &[u8]) -> Result<&'b std::ffi::CStr, Errno> {
    if bytes.len() >= buf.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    buf[..bytes.len()].copy_from_slice(bytes);
    buf[bytes.len()] = 0;
    std::ffi::CStr::from_bytes_with_nul(&buf[..=bytes.len()]).map_err(|_| Errno::EINVAL)
}

// ANCHOR: mount_all
/// Mount every entry of config.json's `mounts`, in order, inside the rootfs.
pub fn mount_all(layout: &Layout, plan: &Plan) -> Result<(), Errno> {
    // TASK 05.3: per mount: its target, mount (bind: remount for flags), propagation
    let root = target::open_root(&layout.root_c)?;
    for mount in &plan.mounts {
        make_target(root.as_fd(), mount)?;
        let at = target::open_in(
            root.as_fd(),
            mount.destination.as_c_str(),
            OFlag::O_NOFOLLOW,
        )?;
        match (mount.bind, &mount.fstype) {
            (Some(bind), _) => {
                let source = Some(mount.source.as_c_str());
                target::mount_on(at.as_fd(), source, None, bind, None)?;
                if !mount.flags.is_empty() {
                    // Open again: the fd above is the directory *under* the bind.
                    let bound = target::open_in(
                        root.as_fd(),
                        mount.destination.as_c_str(),
                        OFlag::O_NOFOLLOW,
                    )?;
                    let remount = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | mount.flags;
                    target::mount_on(bound.as_fd(), NONE, None, remount, None)?;
                }
            }
            (None, fstype) => {
                let source = Some(mount.source.as_c_str());
                let fstype = fstype.as_deref();
                let data = mount.data.as_deref();
                target::mount_on(at.as_fd(), source, fstype, mount.flags, data)?;
            }
        }
        if !mount.propagation.is_empty() {
            let mounted = target::open_in(
                root.as_fd(),
                mount.destination.as_c_str(),
                OFlag::O_NOFOLLOW,
            )?;
            target::mount_on(mounted.as_fd(), NONE, None, mount.propagation, None)?;
        }
    }
    Ok(())
    // END TASK 05.3
}
// ANCHOR_END: mount_all

/// In a `/dev` tmpfs of config.json's: the default devices (as runc makes
/// them: the spec requires null, zero, full, random, urandom, tty, ptmx and
/// the fd links), by mknod, or by a bind of the host's node where mknod is
/// refused (a user namespace).
pub fn make_devices(layout: &Layout) -> Result<(), Errno> {
    let root = target::open_root(&layout.root_c)?;
    let dev = target::open_in(
        root.as_fd(),
        c"/dev",
        OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
    )?;
    let old = umask(Mode::empty());
    let result = (|| {
        for device in DEVICES {
            let number = makedev(device.major, device.minor);
            let mode = Mode::from_bits_truncate(0o666);
            match mknodat(dev.as_fd(), device.name, SFlag::S_IFCHR, mode, number) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(Errno::EPERM) => {
                    let flags = OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
                    let file = openat(dev.as_fd(), device.name, flags, mode)?;
                    let source = Some(device.host);
                    target::mount_on(file.as_fd(), source, None, MsFlags::MS_BIND, None)?;
                }
                Err(errno) => return Err(errno),
            }
        }
        for (name, link) in LINKS {
            match symlinkat(link, dev.as_fd(), name) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(errno) => return Err(errno),
            }
        }
        Ok(())
    })();
    umask(old);
    result
}

/// After `pivot_root`: the root's propagation, then `/` read-only if asked.
pub fn finish_root(plan: &Plan) -> Result<(), Errno> {
    if !plan.rootfs_propagation.is_empty() {
        mount(NONE, "/", NONE, plan.rootfs_propagation, NONE)?;
    }
    if plan.rootfs_readonly {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(NONE, "/", NONE, flags, NONE)?;
    }
    Ok(())
}

/// Write config.json's sysctls into the container's own `/proc/sys`
/// (before it is made read-only).
pub fn write_sysctls(plan: &Plan) -> Result<(), Errno> {
    for (path, value) in &plan.sysctl {
        let file = nix::fcntl::open(
            path.as_c_str(),
            OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        nix::unistd::write(&file, value.as_bytes())?;
    }
    Ok(())
}

// ANCHOR: mask
/// Hide `maskedPaths` (a read-only empty tmpfs on a directory, `/dev/null`
/// on a file) and make `readonlyPaths` read-only (a bind, then a remount).
/// A path the container does not have is skipped, as runc does.
pub fn mask_and_protect(plan: &Plan) -> Result<(), Errno> {
    // TASK 05.3: mask (ro tmpfs or /dev/null), read-only (bind + remount ro)
    let root = target::open_root(c"/")?;
    for path in &plan.masked {
        let file = match target::open_in(root.as_fd(), path.as_c_str(), OFlag::O_NOFOLLOW) {
            Err(Errno::ENOENT) => continue,
            other => other?,
        };
        let kind = SFlag::from_bits_truncate(fstat(&file)?.st_mode) & SFlag::S_IFMT;
        if kind == SFlag::S_IFDIR {
            let ro = MsFlags::MS_RDONLY;
            target::mount_on(file.as_fd(), Some("tmpfs"), Some("tmpfs"), ro, None)?;
        } else {
            target::mount_on(
                file.as_fd(),
                Some("/dev/null"),
                None,
                MsFlags::MS_BIND,
                None,
            )?;
        }
    }
    for path in &plan.readonly {
        let file = match target::open_in(root.as_fd(), path.as_c_str(), OFlag::O_NOFOLLOW) {
            Err(Errno::ENOENT) => continue,
            other => other?,
        };
        let source = FdPath::new(file.as_fd());
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        target::mount_on(file.as_fd(), Some(source.as_c_str()), None, bind, None)?;
        let bound = target::open_in(root.as_fd(), path.as_c_str(), OFlag::O_NOFOLLOW)?;
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        let keep = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        target::mount_on(bound.as_fd(), NONE, None, ro | keep, None)?;
    }
    Ok(())
    // END TASK 05.3
}
// ANCHOR_END: mask
