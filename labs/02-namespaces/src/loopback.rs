//! NET: a new network namespace has one interface, `lo`, and it is down.
//!
//! Until `lo` is up, even `127.0.0.1` is unreachable inside the container.
//! Bringing an interface up is setting `IFF_UP` in its flags, which the
//! old `ioctl(2)` interface does in two calls on any socket: get the flags
//! (`SIOCGIFFLAGS`), set them back with `IFF_UP` (`SIOCSIFFLAGS`). (`ip link
//! set lo up` does the same over netlink.) Runs in the child: no allocation.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

/// An `ifreq` naming `lo`.
fn lo_request() -> libc::ifreq {
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    req
}

/// Bring the loopback interface of the current network namespace up.
pub fn up() -> Result<(), Errno> {
    // TASK 02.3: bring lo up: get its flags (SIOCGIFFLAGS), add IFF_UP, set them (SIOCSIFFLAGS)
    todo!("02.3: bring lo up: get its flags (SIOCGIFFLAGS), add IFF_UP, set them (SIOCSIFFLAGS)")
    // END TASK 02.3
}
