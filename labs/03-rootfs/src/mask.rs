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

/// Mask [`MASKED`] and make [`READ_ONLY`] read-only (after `pivot_root`).
pub fn mask_paths(_layout: &Layout) -> Result<(), Errno> {
    // TASK 03.7: by fd: /dev/null on MASKED files, ro tmpfs on MASKED dirs; remount READ_ONLY ro
    todo!("03.7: by fd: /dev/null on MASKED files, ro tmpfs on MASKED dirs; remount READ_ONLY ro")
    // END TASK 03.7
}
