//! A minimal `/dev`.
//!
//! The host's `/dev` holds every disk and device of the machine; the
//! container gets a fresh tmpfs with only the harmless nodes programs
//! expect ([`DEVICES`]), a private `devpts` instance for its terminals, a
//! `shm` tmpfs for POSIX shared memory, and the `fd`/`stdin`/… symlinks.
//!
//! A device node is a file that names a driver by two numbers (major,
//! minor); `mknod(2)` makes one. Creating device nodes is forbidden inside
//! a user namespace, so there (rootless) the host's node is bind-mounted
//! onto an empty file instead, as runc does.
//!
//! Everything is created *relative to an fd of the new `/dev`* (`mknodat`,
//! `mkdirat`, `symlinkat`), never by host path: see [`crate::target`].

use std::os::fd::{AsFd, BorrowedFd};

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag, makedev, mkdirat, mknodat, umask};
use nix::unistd::symlinkat;

use crate::layout::{DEVICES, LINKS, Layout};
use crate::target;

// ANCHOR: dev
/// Mount a tmpfs on the rootfs's `/dev` and fill it.
pub fn mount_dev(layout: &Layout) -> Result<(), Errno> {
    // TASK 03.5: mount a tmpfs on dev, open it again (the new mount), fill it with no umask
    let root = target::open_root(&layout.root_c)?;
    let data = Some("mode=755,size=65536k");
    target::mount_in(root.as_fd(), c"dev", "tmpfs", MsFlags::MS_NOSUID, data)?;
    // An fd opened before the mount would name the directory *under* the
    // tmpfs: open `dev` again to get the new mount's top.
    let dev = target::open_in(root.as_fd(), c"dev", OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW)?;
    // Modes below are meant as written: no umask.
    let old_umask = umask(Mode::empty());
    let result = fill_dev(dev.as_fd());
    umask(old_umask);
    result
    // END TASK 03.5
}
// ANCHOR_END: dev

// ANCHOR: fill_dev
/// Fill the fresh tmpfs `dev` (an fd on its top directory).
fn fill_dev(dev: BorrowedFd) -> Result<(), Errno> {
    let rw_all = Mode::from_bits_truncate(0o666);
    for device in DEVICES {
        let number = makedev(device.major, device.minor);
        match mknodat(dev, device.name, SFlag::S_IFCHR, rw_all, number) {
            Ok(()) => {}
            // In a user namespace: bind the host's node on an empty file.
            Err(Errno::EPERM) => {
                let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
                let file = openat(dev, device.name, flags, rw_all)?;
                target::mount_on(
                    file.as_fd(),
                    Some(device.host),
                    None,
                    MsFlags::MS_BIND,
                    None,
                )?;
            }
            Err(errno) => return Err(errno),
        }
    }
    mkdirat(dev, c"pts", Mode::from_bits_truncate(0o755))?;
    target::mount_in(
        dev,
        c"pts",
        "devpts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )?;
    mkdirat(dev, c"shm", Mode::from_bits_truncate(0o1777))?;
    target::mount_in(
        dev,
        c"shm",
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )?;
    for (name, link_target) in LINKS {
        symlinkat(link_target, dev, name)?;
    }
    Ok(())
}
// ANCHOR_END: fill_dev
