//! `process.terminal`: a pty for the container, its master sent to the
//! caller over `--console-socket`.
//!
//! A caller that wants a terminal (Docker's `-t`, through containerd's
//! shim) listens on a Unix socket and passes its path to `create`. The
//! runtime does what runc does:
//!
//! 1. `create` connects to the socket *before* clone, on the host's side
//!    of every namespace (the path is a host path); the child inherits
//!    the connection.
//! 2. The child, after `pivot_root` and the mounts, opens `/dev/pts/ptmx`:
//!    the pty is made in the container's own devpts instance (config.json
//!    mounts one with `newinstance`), so its slave is a `/dev/pts/N` the
//!    container can see, and the host's ptys are not.
//! 3. It unlocks the pty and gets the slave with `TIOCGPTPEER` (an fd,
//!    with no path lookup that a hostile rootfs could redirect).
//! 4. It sends the master over the socket as `SCM_RIGHTS` ancillary data
//!    and closes its copy: from now on only the caller holds the master,
//!    and it copies between the master and its own stdio.
//! 5. `setsid()` makes the process leader of a new session without a
//!    terminal, `ioctl(TIOCSCTTY)` makes the slave that session's
//!    controlling terminal (job control, `^C` as SIGINT, SIGHUP when the
//!    master closes), and the slave becomes fds 0, 1 and 2.
//!
//! Everything runs in the child between clone and exec, where nothing may
//! allocate (see lab 01): plain `libc` calls and a control-message buffer
//! on the stack.

use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::errno::Errno;

use crate::error::Error;

/// The connection to the caller's console socket, made by `create`.
#[derive(Debug)]
pub struct ConsoleSocket(OwnedFd);

impl ConsoleSocket {
    /// Connect to the socket at `path` (std's sockets are close-on-exec:
    /// the container's program never inherits it).
    pub fn connect(path: &Path) -> Result<ConsoleSocket, Error> {
        let stream =
            UnixStream::connect(path).map_err(Error::io("connect to the console socket", path))?;
        Ok(ConsoleSocket(OwnedFd::from(stream)))
    }

    /// The raw fd, for the child's step.
    pub fn raw(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }
}

// ANCHOR: connect
/// `create`'s side: connect to the console socket when the process has a
/// terminal. A terminal without a socket, or a socket without a terminal,
/// is an error that says so (as runc's).
pub fn connect(terminal: bool, socket: Option<&Path>) -> Result<Option<ConsoleSocket>, Error> {
    // TASK 05.6: a terminal needs --console-socket, and --console-socket a terminal
    match (terminal, socket) {
        (true, Some(path)) => Ok(Some(ConsoleSocket::connect(path)?)),
        (true, None) => Err(Error::Console(
            "process.terminal is true: the pty's master must go somewhere; pass --console-socket SOCKET",
        )),
        (false, Some(_)) => Err(Error::Console(
            "--console-socket is given but process.terminal is false: there is no pty to send",
        )),
        (false, None) => Ok(None),
    }
    // END TASK 05.6
}
// ANCHOR_END: connect

fn check(ret: libc::c_int) -> Result<libc::c_int, Errno> {
    if ret < 0 { Err(Errno::last()) } else { Ok(ret) }
}

// ANCHOR: setup
/// In the child: make the pty, send its master over `socket`, and make
/// the slave the controlling terminal and stdio. Allocates nothing.
pub fn setup(socket: RawFd) -> Result<(), Errno> {
    // TASK 05.6: ptmx in its devpts, master over the socket, setsid, TIOCSCTTY, slave as 0/1/2
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: NUL-terminated paths; the results are checked.
    let master = match check(unsafe { libc::open(c"/dev/pts/ptmx".as_ptr(), flags) }) {
        Ok(fd) => fd,
        // No devpts mounted on /dev/pts: /dev/ptmx (perhaps the host's).
        Err(Errno::ENOENT) => check(unsafe { libc::open(c"/dev/ptmx".as_ptr(), flags) })?,
        Err(errno) => return Err(errno),
    };
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int; TIOCGPTPEER returns a new fd.
    check(unsafe { libc::ioctl(master, libc::TIOCSPTLCK, &unlock) })?;
    let slave = check(unsafe { libc::ioctl(master, libc::TIOCGPTPEER, flags) })?;
    send_fd(socket, master)?;
    // SAFETY: fds this function opened (and the inherited socket, which
    // the child owns a copy of and no longer needs).
    unsafe {
        libc::close(master);
        libc::close(socket);
    }
    // A new session has no controlling terminal; TIOCSCTTY gives it one.
    check(unsafe { libc::setsid() })?;
    check(unsafe { libc::ioctl(slave, libc::TIOCSCTTY, 0) })?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard fds; dup2 clears close-on-exec.
        check(unsafe { libc::dup2(slave, fd) })?;
    }
    unsafe { libc::close(slave) };
    Ok(())
    // END TASK 05.6
}
// ANCHOR_END: setup

/// Send `fd` over the Unix socket `socket` as SCM_RIGHTS, with the name
/// runc sends as the message's bytes (callers read and ignore it).
fn send_fd(socket: RawFd, fd: RawFd) -> Result<(), Errno> {
    // A control-message buffer on the stack, aligned for cmsghdr.
    #[repr(C)]
    union Buffer {
        bytes: [u8; 64],
        _align: libc::cmsghdr,
    }
    let mut buffer = Buffer { bytes: [0; 64] };
    let name = b"/dev/ptmx";
    let mut iov = libc::iovec {
        iov_base: name.as_ptr() as *mut libc::c_void,
        iov_len: name.len(),
    };
    // SAFETY: msghdr is plain data; the buffer outlives the call and is
    // large enough for one fd's CMSG_SPACE; CMSG_* compute within it.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = buffer.bytes.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(size_of::<RawFd>() as u32) as usize;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
        loop {
            match libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL) {
                n if n >= 0 => return Ok(()),
                _ if Errno::last() == Errno::EINTR => continue,
                _ => return Err(Errno::last()),
            }
        }
    }
}
