//! How the child tells the parent how far it got: the report pipe.
//!
//! After `fork`, only the child sees its setup steps and `execve` fail. It
//! could exit with 127, but then the parent cannot tell "the program is
//! missing" from "the program ran and exited 127". So the child gets the
//! write end of a pipe opened with `O_CLOEXEC`, and writes *records* into
//! it; a record is 8 bytes, a step number (`u32`) and an errno (`i32`):
//!
//! - `(STEP_CREATED, 0)`: every setup step worked; the child now waits at
//!   its start gate (see [`crate::gate`]);
//! - `(N, errno)`: setup step N failed (see [`crate::steps`]), or
//!   `(STEP_EXEC, errno)`: `execve` failed;
//! - `(STEP_PANIC, length)`: the child's Rust code panicked; `length` bytes
//!   of message follow.
//!
//! And the best news comes as silence: if `execve` succeeds, the kernel
//! closes the pipe as part of the exec, and the parent reads end-of-file.
//! The parent must close its own copy of the write end right after `fork`,
//! or it would wait for an end-of-file that never comes. Rust's
//! `std::process::Command` works this way.

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{pipe2, read, write};

/// The step number of `execve` itself.
pub const STEP_EXEC: u32 = 0;
/// "Set up, waiting at the gate."
pub const STEP_CREATED: u32 = u32::MAX - 1;
/// Waiting at the start gate failed.
pub const STEP_GATE: u32 = u32::MAX - 2;
/// Marking the inherited fds close-on-exec failed.
pub const STEP_FDS: u32 = u32::MAX - 3;
/// "The child panicked"; the errno field holds the message's length.
pub const STEP_PANIC: u32 = u32::MAX;

/// A panic message longer than this is cut.
pub const MAX_MESSAGE: usize = 4096;

/// What the child reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFailure {
    /// [`STEP_EXEC`], [`STEP_PANIC`], [`STEP_GATE`], [`STEP_FDS`], or a
    /// setup step (1, 2, …).
    pub step: u32,
    pub errno: Errno,
    /// The panic message, for [`STEP_PANIC`]; empty otherwise.
    pub message: String,
}

/// One thing the parent learns from the report pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Set up and waiting at the gate.
    Created,
    /// A step, exec, or the child's code failed.
    Failed(ChildFailure),
    /// End-of-file: every copy of the write end is closed — the child
    /// exec'd (or died).
    Closed,
}

/// The child's end: tell the parent how far it got.
#[derive(Debug)]
pub struct ReportWriter(OwnedFd);

/// The parent's end.
#[derive(Debug)]
pub struct ReportReader(OwnedFd);

/// A new report pipe: `(child's end, parent's end)`, both close-on-exec.
pub fn channel() -> Result<(ReportWriter, ReportReader), Errno> {
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC)?;
    Ok((ReportWriter(write_end), ReportReader(read_end)))
}

impl ReportWriter {
    /// Send one record: `step` and `errno`. Called in the child, so it must
    /// not allocate; a failure to write cannot be reported either.
    pub fn send(&self, step: u32, errno: Errno) {
        // TASK 01.4: send the step and the errno to the parent as one 8-byte record
        todo!("01.4: send the step and the errno to the parent as one 8-byte record")
        // END TASK 01.4
    }

    /// A writer for an fd already open.
    ///
    /// # Safety
    /// `fd` must be the open write end of a report pipe, owned by nothing
    /// that will close it while this value lives.
    pub unsafe fn from_raw(fd: RawFd) -> ReportWriter {
        // SAFETY: as the caller promised.
        ReportWriter(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// "Set up, waiting at the gate."
    pub fn send_created(&self) {
        self.send(STEP_CREATED, Errno::UnknownErrno);
    }

    /// Tell the parent that the child's code panicked, with the message
    /// (cut to [`MAX_MESSAGE`] bytes). Allocates nothing.
    pub fn send_panic(&self, message: &str) {
        let message = &message.as_bytes()[..message.len().min(MAX_MESSAGE)];
        self.send(STEP_PANIC, Errno::from_raw(message.len() as i32));
        write_all(&self.0, message);
    }
}

/// Write all of `bytes`, retrying after signals; give up on any error.
fn write_all(fd: &OwnedFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}

impl ReportReader {
    /// Block until the next record, or end-of-file. (Not an `Iterator`:
    /// reading can fail, and the end is a value of its own.)
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Report, Errno> {
        // TASK 01.4: read one 8-byte record (end-of-file: Closed) and decode it
        todo!("01.4: read one 8-byte record (end-of-file: Closed) and decode it")
        // END TASK 01.4
    }

    /// Read until `buf` is full or end-of-file; returns how much was read.
    pub fn read_full(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut got = 0;
        while got < buf.len() {
            match read(&self.0, &mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(errno),
            }
        }
        Ok(got)
    }

    /// The `length` bytes of a panic message that follow its record.
    pub fn message(&self, length: usize) -> Result<String, Errno> {
        let mut bytes = vec![0u8; length.min(MAX_MESSAGE)];
        let got = self.read_full(&mut bytes)?;
        bytes.truncate(got);
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
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
