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

// ANCHOR: private
/// Make every mount of this mount namespace private, recursively.
pub fn make_private(_layout: &Layout) -> Result<(), Errno> {
    // TASK 03.2: make every mount private, recursively, so nothing propagates to the host
    mount(NONE, "/", NONE, MsFlags::MS_REC | MsFlags::MS_PRIVATE, NONE)
    // END TASK 03.2
}
// ANCHOR_END: private

// ANCHOR: bind
/// Bind-mount the rootfs onto itself, so that it is a mount point.
pub fn bind_root(layout: &Layout) -> Result<(), Errno> {
    // TASK 03.3: open the rootfs and bind it onto itself, recursively, through its fd
    let root = target::open_root(&layout.root_c)?;
    let path = FdPath::new(root.as_fd());
    mount(
        Some(path.as_c_str()),
        path.as_c_str(),
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    // END TASK 03.3
}
// ANCHOR_END: bind

/// The flags of a pseudo-filesystem: no setuid programs, no device nodes,
/// no programs at all.
pub const PSEUDO: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

// ANCHOR: proc_sys
/// Mount a new procfs on the rootfs's `/proc` and sysfs, read-only, on `/sys`.
pub fn mount_proc_sys(layout: &Layout) -> Result<(), Errno> {
    // TASK 03.4: open the rootfs; mount proc, and sysfs read-only, in it (nosuid, nodev, noexec)
    // Opened after bind_root: the fd is the bind mount's top, the future `/`.
    let root = target::open_root(&layout.root_c)?;
    target::mount_in(root.as_fd(), c"proc", "proc", PSEUDO, NONE)?;
    let read_only = PSEUDO | MsFlags::MS_RDONLY;
    target::mount_in(root.as_fd(), c"sys", "sysfs", read_only, NONE)
    // END TASK 03.4
}
// ANCHOR_END: proc_sys
