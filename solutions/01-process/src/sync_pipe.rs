//! The sync pipe: the child waits until the parent says "go".
//!
//! Right after `fork` the parent often has work to do *for* the child
//! before the child may run its program: in later labs, write its uid map,
//! put it into a cgroup, set up its network. The child blocks reading one
//! byte from a pipe; the parent writes that byte when it is done.
//!
//! If the parent dies or gives up instead, its end of the pipe is closed and
//! the child's read returns end-of-file: the child must then exit rather
//! than run unprepared (or wait forever).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{pipe2, read, write};

/// The child's end: wait for the release.
#[derive(Debug)]
pub struct SyncWait(OwnedFd);

/// The parent's end: release the child.
#[derive(Debug)]
pub struct SyncRelease(OwnedFd);

/// A new sync pipe: `(child's end, parent's end)`.
///
/// Both ends are close-on-exec, so neither leaks into the program the child
/// runs.
pub fn channel() -> Result<(SyncWait, SyncRelease), Errno> {
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC)?;
    Ok((SyncWait(read_end), SyncRelease(write_end)))
}

impl SyncWait {
    // ANCHOR: wait
    /// Block until the parent releases us. `Err(EPIPE)` means the parent
    /// closed its end without releasing: it gave up, so should we.
    pub fn wait(&self) -> Result<(), Errno> {
        // TASK 01.3: block until the parent writes its byte; end-of-file means it gave up
        let mut byte = [0u8; 1];
        loop {
            match read(&self.0, &mut byte) {
                Ok(1) => return Ok(()),
                Ok(_) => return Err(Errno::EPIPE),
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(errno),
            }
        }
        // END TASK 01.3
    }
    // ANCHOR_END: wait
}

impl SyncRelease {
    // ANCHOR: release
    /// Let the child go on.
    pub fn release(self) -> Result<(), Errno> {
        // TASK 01.3: write the byte that releases the child
        loop {
            match write(&self.0, &[1]) {
                Ok(_) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(errno),
            }
        }
        // END TASK 01.3
    }
    // ANCHOR_END: release
}

impl AsFd for SyncWait {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsFd for SyncRelease {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
