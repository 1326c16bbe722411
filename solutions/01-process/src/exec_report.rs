//! How an exec error reaches the parent: the close-on-exec trick.
//!
//! After `fork`, only the child can see `execve` fail. It could exit with
//! 127, but then the parent cannot tell "the program is missing" from "the
//! program ran and exited 127". So the child gets the write end of a pipe
//! opened with `O_CLOEXEC`:
//!
//! - if `execve` succeeds, the kernel closes the pipe as part of the exec,
//!   and the parent reads end-of-file: the program is running;
//! - if it fails, the child writes its `errno` (4 bytes) into the pipe and
//!   exits, and the parent reads the error.
//!
//! The parent must close its own copy of the write end right after `fork`,
//! or it would wait for an end-of-file that never comes. Rust's
//! `std::process::Command` works this way.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{pipe2, read, write};

/// The child's end: tell the parent why exec failed.
#[derive(Debug)]
pub struct ReportWriter(OwnedFd);

/// The parent's end: learn whether exec worked.
#[derive(Debug)]
pub struct ReportReader(OwnedFd);

/// A new report pipe: `(child's end, parent's end)`, both close-on-exec.
pub fn channel() -> Result<(ReportWriter, ReportReader), Errno> {
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC)?;
    Ok((ReportWriter(write_end), ReportReader(read_end)))
}

impl ReportWriter {
    // ANCHOR: send
    /// Send `errno` to the parent. Called in the child after a failed exec,
    /// so it must not allocate; a failure to write cannot be reported either.
    pub fn send(self, errno: Errno) {
        // TASK 01.4: send the errno to the parent as 4 bytes
        let bytes = (errno as i32).to_ne_bytes();
        let mut sent = 0;
        while sent < bytes.len() {
            match write(&self.0, &bytes[sent..]) {
                Ok(n) => sent += n,
                Err(Errno::EINTR) => continue,
                Err(_) => return,
            }
        }
        // END TASK 01.4
    }
    // ANCHOR_END: send
}

impl ReportReader {
    // ANCHOR: outcome
    /// Block until the child has exec'd (end-of-file: `Ok`) or reported why
    /// it could not (`Err(errno)`).
    pub fn outcome(self) -> Result<(), Errno> {
        // TASK 01.4: read the child's report: nothing means exec worked, 4 bytes are its errno
        let mut bytes = [0u8; 4];
        let mut got = 0;
        while got < bytes.len() {
            match read(&self.0, &mut bytes[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(errno),
            }
        }
        match got {
            0 => Ok(()),
            4 => Err(Errno::from_raw(i32::from_ne_bytes(bytes))),
            // The child died in the middle of writing: say so rather than guess.
            _ => Err(Errno::EIO),
        }
        // END TASK 01.4
    }
    // ANCHOR_END: outcome
}

impl AsFd for ReportWriter {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsFd for ReportReader {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
