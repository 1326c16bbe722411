//! Masked and read-only paths, as Docker sets them by default.
//!
//! `/proc` and `/sys` are per-namespace in parts only: some files still show
//! (or change!) the whole host — its memory (`/proc/kcore`), its keyrings,
//! its timers, its firmware. Docker hides those: a masked *file* gets
//! `/dev/null` bind-mounted over it (it reads empty), a masked *directory*
//! an empty read-only tmpfs. Some others stay readable but are made
//! read-only (`/proc/sys`, `/proc/sysrq-trigger`, …). A path the kernel
//! does not have is skipped.
//!
//! This runs after `pivot_root`: `/` is the rootfs. Each path is still
//! opened inside it by fd (see [`crate::target`]) and mounted on through
//! its fd, so a symlink cannot send a mask somewhere else.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::{SFlag, fstat};

use crate::layout::Layout;
use crate::mounts::PSEUDO;
use crate::target::{self, FdPath};

/// Hidden: read empty.
pub const MASKED: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Read-only.
pub const READ_ONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

// ANCHOR: mask
/// Mask [`MASKED`] and make [`READ_ONLY`] read-only (after `pivot_root`).
pub fn mask_paths(_layout: &Layout) -> Result<(), Errno> {
    // TASK 03.7: by fd: /dev/null on MASKED files, ro tmpfs on MASKED dirs; remount READ_ONLY ro
    let root = target::open_root(c"/")?;
    // The last component is not followed: a mask covers that very file.
    for path in MASKED {
        let file = match target::open_in(root.as_fd(), path, OFlag::O_NOFOLLOW) {
            Err(Errno::ENOENT) => continue,
            other => other?,
        };
        let kind = SFlag::from_bits_truncate(fstat(&file)?.st_mode) & SFlag::S_IFMT;
        if kind == SFlag::S_IFDIR {
            target::mount_on(
                file.as_fd(),
                Some("tmpfs"),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None,
            )?;
        } else {
            let null = Some("/dev/null"); // the container's own, from 03.5
            target::mount_on(file.as_fd(), null, None, MsFlags::MS_BIND, None)?;
        }
    }
    for path in READ_ONLY {
        let file = match target::open_in(root.as_fd(), path, OFlag::O_NOFOLLOW) {
            Err(Errno::ENOENT) => continue,
            other => other?,
        };
        // A bind mount can be made read-only only by remounting it.
        let source = FdPath::new(file.as_fd());
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        target::mount_on(file.as_fd(), Some(source.as_c_str()), None, bind, None)?;
        // `file` still names what is *under* the new bind: open it again to
        // reach the bind itself. A remount sets the flags anew: keep /proc's
        // nosuid, nodev, noexec.
        let bound = target::open_in(root.as_fd(), path, OFlag::O_NOFOLLOW)?;
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | PSEUDO;
        target::mount_on(bound.as_fd(), None::<&str>, None, ro, None)?;
    }
    Ok(())
    // END TASK 03.7
}
// ANCHOR_END: mask
