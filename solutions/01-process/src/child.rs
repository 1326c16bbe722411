//! The child's side: what runs between `fork` and `exec`.
//!
//! Everything here runs in a copy of one thread of the parent, so only
//! *async-signal-safe* calls are allowed (see `signal-safety(7)`): no
//! allocation, no locks, no `println!`. Raw system calls — `read`, `write`,
//! `sigprocmask`, `execve`, `_exit` — are fine. The child never returns into
//! the parent's code: it either becomes the new program or calls `_exit`
//! (not `exit`, which would run the parent's atexit handlers and flush its
//! stdio buffers a second time).

use std::panic::{AssertUnwindSafe, catch_unwind};

use nix::errno::Errno;
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, pthread_sigmask, signal};

use crate::command::Prepared;
use crate::exec_report::{ReportWriter, STEP_EXEC};
use crate::sync_pipe::SyncWait;

/// The child's exit code when it could not exec (Docker and shells: 127).
pub const EXIT_EXEC_FAILED: i32 = 127;
/// The child's exit code when a setup step failed or the parent gave up.
pub const EXIT_SETUP_FAILED: i32 = 125;

/// A setup step that failed in the child: its number (1, 2, … in the order
/// of the lab's step names) and the errno.
pub type StepResult = Result<(), (u32, Errno)>;

/// Run in the child right after `fork`: reset the signals, wait for the
/// parent's release, run `setup` (later labs: hostname, mounts, …), then
/// exec. A failure is reported through `report`, then the child exits.
pub fn run(
    prepared: &Prepared,
    wait: &SyncWait,
    report: &ReportWriter,
    setup: &mut dyn FnMut() -> StepResult,
) -> ! {
    // A panic must not unwind into the parent's code (this is a copy of it):
    // report it, then exit.
    let code = catch_unwind(AssertUnwindSafe(|| {
        reset_signals();
        if wait.wait().is_err() {
            return EXIT_SETUP_FAILED; // the parent gave up on us
        }
        if let Err((step, errno)) = setup() {
            report.send(step, errno);
            return EXIT_SETUP_FAILED;
        }
        report.send(STEP_EXEC, exec(prepared));
        EXIT_EXEC_FAILED
    }))
    .unwrap_or_else(|payload| {
        report.send_panic(payload.as_ref());
        EXIT_SETUP_FAILED
    });
    // SAFETY: _exit is async-signal-safe and ends only this process.
    unsafe { libc::_exit(code) }
}

/// Give the program the signal state a new process expects. The signal mask
/// and ignored signals survive `execve`: the parent blocked the signals it
/// forwards (see `signals`), and Rust's runtime ignores SIGPIPE — left so,
/// `yes | head -1` in the container would print "Broken pipe" instead of
/// ending quietly. (Handlers do not survive exec: they are reset by it.)
pub fn reset_signals() {
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // SAFETY: restoring the default disposition installs no handler.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

// ANCHOR: exec
/// Replace this process with the program: try each candidate path in turn
/// with `execve(2)`. Returns only if all failed, with the most telling
/// error: like `execvp(3)`, a "permission denied" seen on the way beats a
/// later "no such file", and any other error stops the search.
pub fn exec(prepared: &Prepared) -> Errno {
    // TASK 01.5: execve each candidate in turn and return the most telling errno
    let mut denied = false;
    for path in prepared.candidates() {
        // SAFETY: every pointer comes from `prepared`, which outlives the
        // call; the arrays are null-terminated. execve only returns on error.
        unsafe { libc::execve(path.as_ptr(), prepared.argv_ptr(), prepared.envp_ptr()) };
        match Errno::last() {
            Errno::ENOENT | Errno::ENOTDIR => {}
            Errno::EACCES => denied = true,
            other => return other,
        }
    }
    if denied { Errno::EACCES } else { Errno::ENOENT }
    // END TASK 01.5
}
// ANCHOR_END: exec
