//! Masked and read-only paths, as Docker sets them by default.
//!
//! `/proc` and `/sys` are per-namespace in parts only: some files still show
//! (or change!) the whole host — its memory (`/proc/kcore`), its keyrings,
//! its timers, its firmware. Docker hides those: a masked *file* gets
//! `/dev/null` bind-mounted over it (it reads empty), a masked *directory*
//! an empty read-only tmpfs. Some others stay readable but are made
//! read-only (`/proc/sys`, `/proc/sysrq-trigger`, …). A path the kernel
//! does not have is skipped.

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{SFlag, lstat};

use crate::mounts::PSEUDO;

const NONE: Option<&str> = None;

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
pub fn mask_paths() -> Result<(), Errno> {
    // TASK 03.7: hide MASKED (/dev/null on files, empty tmpfs on dirs), remount READ_ONLY ro
    for path in MASKED {
        match lstat(path) {
            Err(Errno::ENOENT) => continue,
            Err(errno) => return Err(errno),
            Ok(stat)
                if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR =>
            {
                mount(Some("tmpfs"), path, Some("tmpfs"), MsFlags::MS_RDONLY, NONE)?
            }
            Ok(_) => mount(Some("/dev/null"), path, NONE, MsFlags::MS_BIND, NONE)?,
        }
    }
    for path in READ_ONLY {
        match lstat(path) {
            Err(Errno::ENOENT) => continue,
            Err(errno) => return Err(errno),
            Ok(_) => {}
        }
        // A bind mount can be made read-only only by remounting it. A
        // remount sets the flags anew: keep /proc's nosuid, nodev, noexec.
        mount(
            Some(path),
            path,
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            NONE,
        )?;
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | PSEUDO;
        mount(Some(path), path, NONE, ro, NONE)?;
    }
    Ok(())
    // END TASK 03.7
}
// ANCHOR_END: mask
