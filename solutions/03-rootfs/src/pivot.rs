//! Changing the root: `pivot_root`, and why `chroot` is not enough.
//!
//! `chroot(2)` changes only where *this process* resolves `/`. The host's
//! filesystem is still mounted in its mount namespace, and a root process
//! can walk back out: chroot into a subdirectory while keeping its current
//! directory outside it, `chdir("..")` up to the real top, and `chroot(".")`
//! there (`probe breakout` does exactly that).
//!
//! `pivot_root(2)` changes the root *mount* of the whole mount namespace:
//! the rootfs becomes `/`, and the old root is moved to a directory under
//! it — from which we detach it. After that, the host's filesystem is not
//! mounted anywhere in the namespace: there is nothing left to walk to.
//!
//! `pivot_root(".", ".")` is runc's trick to need no directory for the old
//! root: with the current directory at the new root, both become `.`; the
//! old root ends up mounted *on top of* the new one, and `umount2(".",
//! MNT_DETACH)` peels it off.
//!
//! The way in is `fchdir` on an fd of the rootfs (see [`crate::target`]),
//! not `chdir` by path: the directory is the one opened, whatever its path
//! names by then.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::mount::{MntFlags, umount2};
use nix::unistd::{chdir, chroot, fchdir, pivot_root};

use crate::layout::Layout;
use crate::target;

// ANCHOR: pivot
/// Make the rootfs the root of this mount namespace and detach the host's.
pub fn pivot(layout: &Layout) -> Result<(), Errno> {
    // TASK 03.6: fchdir to the opened rootfs, pivot_root, detach the old root, chdir to /
    fchdir(target::open_root(&layout.root_c)?.as_fd())?; // the fd is closed at once
    pivot_root(".", ".")?;
    // The old root is now stacked on `.`: detach it (lazily, as it is busy).
    umount2(".", MntFlags::MNT_DETACH)?;
    chdir("/")
    // END TASK 03.6
}
// ANCHOR_END: pivot

/// Only `chroot` into the rootfs — **unsafe**: kept to show the breakout
/// (`dockyard run --unsafe-chroot`). Never use it for a real container.
pub fn chroot_only(layout: &Layout) -> Result<(), Errno> {
    fchdir(target::open_root(&layout.root_c)?.as_fd())?;
    chroot(".")?;
    chdir("/")
}
