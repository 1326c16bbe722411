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

// ANCHOR: up
/// Bring the loopback interface of the current network namespace up.
pub fn up() -> Result<(), Errno> {
    // TASK 02.3: bring lo up: get its flags (SIOCGIFFLAGS), add IFF_UP, set them (SIOCSIFFLAGS)
    // SAFETY: socket(2) returns a new fd or -1.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: we own the fd just returned.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = lo_request();
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags of `req`.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(Errno::last());
    }
    // SAFETY: after SIOCGIFFLAGS the union holds the flags.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the name and the flags of `req`.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(Errno::last());
    }
    Ok(())
    // END TASK 02.3
}
// ANCHOR_END: up
