//! How a child ended, and the exit code a shell (and Docker) reports for it.
//!
//! `waitpid(2)` says either "exited with code N" or "killed by signal N".
//! A process's own exit code has only 8 bits, so shells report a death by
//! signal N as `128 + N`: 137 is SIGKILL (9) — often the OOM killer — and
//! 143 is SIGTERM (15). Docker does the same for `docker run`.

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It called `exit(code)` (or returned from `main`).
    Exited(i32),
    /// A signal killed it.
    Signaled(Signal),
}

impl ExitStatus {
    // ANCHOR: code
    /// The exit code a shell would report: the code itself, or `128 + N`
    /// for a death by signal `N`.
    pub fn code(self) -> i32 {
        // TASK 01.2: report an exit code as is and a death by signal N as 128 + N
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(signal) => 128 + signal as i32,
        }
        // END TASK 01.2
    }
    // ANCHOR_END: code
}

// ANCHOR: wait_pid
/// Wait until `pid` ends, and reap it, so that it does not stay a zombie.
pub fn wait_pid(pid: Pid) -> Result<ExitStatus, Errno> {
    // TASK 01.2: wait for the child to end, retrying when a signal interrupts the wait
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(ExitStatus::Exited(code)),
            Ok(WaitStatus::Signaled(_, signal, _core_dumped)) => {
                return Ok(ExitStatus::Signaled(signal));
            }
            // Stopped or continued: not an end. Keep waiting.
            Ok(_) => continue,
            // A signal handler ran while we waited: the wait itself is fine.
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno),
        }
    }
    // END TASK 01.2
}
// ANCHOR_END: wait_pid
