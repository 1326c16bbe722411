//! Mounts in the container's mount namespace: propagation, the rootfs,
//! `/proc` and `/sys`.
//!
//! **Propagation.** On systemd hosts `/` is a *shared* mount: a mount made
//! under it in one namespace is propagated to its peers — including the
//! host's namespace. A container that mounts its `/proc` before making its
//! mounts private would mount it on the host as well. So the first step
//! makes every mount private, recursively (`mount --make-rprivate /`).
//!
//! **Bind onto itself.** `pivot_root(2)` wants the new root to be a mount
//! point; a plain directory fails — `EINVAL` ("not a mount point"), or
//! `EBUSY` when it sits on the same mount as the current root: a classic
//! trap. Bind-mounting the rootfs onto itself makes it one.
//!
//! **`/proc` and `/sys`.** procfs shows the PID namespace of the process
//! that mounts it: mounted from inside the new one, `/proc` lists only the
//! container's processes. sysfs is mounted read-only: it exposes the host's
//! devices and kernel settings.
//!
//! **By fd, not by path.** The rootfs is opened once per step and every
//! mount point under it is reached through [`target`]: resolved inside the
//! rootfs by the kernel, and mounted on through `/proc/self/fd/N`.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};

use crate::layout::Layout;
use crate::target::{self, FdPath};

const NONE: Option<&str> = None;

/// Make every mount of this mount namespace private, recursively.
pub fn make_private(_layout: &Layout) -> Result<(), Errno> {
    // TASK 03.2: make every mount private, recursively, so nothing propagates to the host
    todo!("03.2: make every mount private, recursively, so nothing propagates to the host")
    // END TASK 03.2
}

/// Bind-mount the rootfs onto itself, so that it is a mount point.
pub fn bind_root(layout: &Layout) -> Result<(), Errno> {
    // TASK 03.3: open the rootfs and bind it onto itself, recursively, through its fd
    todo!("03.3: open the rootfs and bind it onto itself, recursively, through its fd")
    // END TASK 03.3
}

/// The flags of a pseudo-filesystem: no setuid programs, no device nodes,
/// no programs at all.
pub const PSEUDO: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// Mount a new procfs on the rootfs's `/proc` and sysfs, read-only, on `/sys`.
pub fn mount_proc_sys(layout: &Layout) -> Result<(), Errno> {
    // TASK 03.4: open the rootfs; mount proc, and sysfs read-only, in it (nosuid, nodev, noexec)
    todo!("03.4: open the rootfs; mount proc, and sysfs read-only, in it (nosuid, nodev, noexec)")
    // END TASK 03.4
}
