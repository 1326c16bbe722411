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

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, SFlag, makedev, mknod, umask};
use nix::unistd::mkdir;

use crate::layout::{DEVICES, LINKS, Layout};

const NONE: Option<&str> = None;

/// Mount a tmpfs on the rootfs's `/dev` and fill it.
pub fn mount_dev(layout: &Layout) -> Result<(), Errno> {
    // TASK 03.5: a tmpfs /dev with the device nodes, devpts, shm and the fd symlinks
    todo!("03.5: a tmpfs /dev with the device nodes, devpts, shm and the fd symlinks")
    // END TASK 03.5
}

fn fill_dev(layout: &Layout) -> Result<(), Errno> {
    let rw_all = Mode::from_bits_truncate(0o666);
    for (device, path) in DEVICES.iter().zip(&layout.devices) {
        match mknod(
            path.as_path(),
            SFlag::S_IFCHR,
            rw_all,
            makedev(device.major, device.minor),
        ) {
            Ok(()) => {}
            // In a user namespace: bind the host's node instead.
            Err(Errno::EPERM) => {
                drop(open(
                    path.as_path(),
                    OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                    rw_all,
                )?);
                mount(Some(device.host), path, NONE, MsFlags::MS_BIND, NONE)?;
            }
            Err(errno) => return Err(errno),
        }
    }
    mkdir(&layout.dev_pts, Mode::from_bits_truncate(0o755))?;
    mount(
        Some("devpts"),
        &layout.dev_pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )?;
    mkdir(&layout.dev_shm, Mode::from_bits_truncate(0o1777))?;
    mount(
        Some("shm"),
        &layout.dev_shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )?;
    for ((_, target), link) in LINKS.iter().zip(&layout.links) {
        std::os::unix::fs::symlink(target, link)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    }
    Ok(())
}
