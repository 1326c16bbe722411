//! How a failure in the child reaches the parent: the close-on-exec trick.
//!
//! After `fork`, only the child can see `execve` fail. It could exit with
//! 127, but then the parent cannot tell "the program is missing" from "the
//! program ran and exited 127". So the child gets the write end of a pipe
//! opened with `O_CLOEXEC`:
//!
//! - if `execve` succeeds, the kernel closes the pipe as part of the exec,
//!   and the parent reads end-of-file: the program is running;
//! - if it fails, the child writes what failed into the pipe and exits, and
//!   the parent reads it.
//!
//! The parent must close its own copy of the write end right after `fork`,
//! or it would wait for an end-of-file that never comes. Rust's
//! `std::process::Command` works this way.
//!
//! A report is 8 bytes: the *step* that failed (a `u32`: [`STEP_EXEC`], or a
//! setup step of a later lab) and the `errno` (an `i32`). When the child's
//! Rust code panicked, the step is [`STEP_PANIC`] and the panic message
//! follows.

use std::any::Any;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{pipe2, read, write};

/// The step number of `execve` itself.
pub const STEP_EXEC: u32 = 0;
/// The step number that says "the child panicked"; a message follows.
pub const STEP_PANIC: u32 = u32::MAX;

/// What the child reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFailure {
    /// [`STEP_EXEC`], [`STEP_PANIC`], or a lab's setup step (1, 2, …).
    pub step: u32,
    pub errno: Errno,
    /// The panic message, for [`STEP_PANIC`]; empty otherwise.
    pub message: String,
}

/// The child's end: tell the parent what failed.
#[derive(Debug)]
pub struct ReportWriter(OwnedFd);

/// The parent's end: learn whether the child made it to the program.
#[derive(Debug)]
pub struct ReportReader(OwnedFd);

/// A new report pipe: `(child's end, parent's end)`, both close-on-exec.
pub fn channel() -> Result<(ReportWriter, ReportReader), Errno> {
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC)?;
    Ok((ReportWriter(write_end), ReportReader(read_end)))
}

impl ReportWriter {
    // ANCHOR: send
    /// Tell the parent that `step` failed with `errno`. Called in the child,
    /// so it must not allocate; a failure to write cannot be reported either.
    pub fn send(&self, step: u32, errno: Errno) {
        // TASK 01.4: send the step and the errno to the parent as 8 bytes
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&step.to_ne_bytes());
        bytes[4..].copy_from_slice(&(errno as i32).to_ne_bytes());
        write_all(&self.0, &bytes);
        // END TASK 01.4
    }
    // ANCHOR_END: send

    /// Tell the parent that the child's code panicked, with the message.
    /// (The panic has already allocated; one more allocation changes nothing.)
    pub fn send_panic(&self, payload: &(dyn Any + Send)) {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        let mut bytes = STEP_PANIC.to_ne_bytes().to_vec();
        bytes.extend_from_slice(&0i32.to_ne_bytes());
        bytes.extend_from_slice(message.as_bytes());
        write_all(&self.0, &bytes);
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

/// A panic message longer than this is cut.
const MAX_REPORT: usize = 64 * 1024;

impl ReportReader {
    // ANCHOR: outcome
    /// Block until the child has exec'd (end-of-file with nothing read: `Ok`)
    /// or reported what failed.
    pub fn outcome(self) -> Result<(), ChildFailure> {
        // TASK 01.4: read the report to end-of-file: nothing means exec worked, else decode it
        let mut report = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match read(&self.0, &mut buf) {
                Ok(0) => break,
                Ok(n) if report.len() < MAX_REPORT => report.extend_from_slice(&buf[..n]),
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(errno) => {
                    return Err(ChildFailure {
                        step: STEP_EXEC,
                        errno,
                        message: String::new(),
                    });
                }
            }
        }
        if report.is_empty() {
            return Ok(());
        }
        if report.len() < 8 {
            // The child died in the middle of writing: say so rather than guess.
            return Err(ChildFailure {
                step: STEP_EXEC,
                errno: Errno::EIO,
                message: "a truncated report".into(),
            });
        }
        let step = u32::from_ne_bytes(report[..4].try_into().expect("4 bytes"));
        let errno = Errno::from_raw(i32::from_ne_bytes(
            report[4..8].try_into().expect("4 bytes"),
        ));
        let message = String::from_utf8_lossy(&report[8..]).into_owned();
        Err(ChildFailure {
            step,
            errno,
            message,
        })
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
