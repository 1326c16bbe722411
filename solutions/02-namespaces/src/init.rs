//! PID: a minimal init, as PID 1 of the container.
//!
//! In a new PID namespace the first process is PID 1, and PID 1 has two
//! jobs no ordinary program does:
//!
//! - **reaping**: a process whose parent died is re-parented to PID 1. When
//!   it exits it stays a zombie until PID 1 `wait`s for it. An app that is
//!   not written to be an init never does, and zombies pile up.
//! - **signals**: the kernel does not deliver a signal to PID 1 for which
//!   it has no handler (so that init cannot be killed by accident). A
//!   SIGTERM from `docker stop` to an app running as PID 1 with default
//!   handlers does nothing — until the SIGKILL ten seconds later.
//!
//! So with `--init` (like `docker run --init`, which runs tini), PID 1 is
//! this loop, and the app is its child: init forwards the signals it gets
//! to the app, reaps every child, and exits with the app's exit code when
//! the app is gone (the kernel then kills whatever else is left in the
//! namespace). It runs in the cloned child, so it does not allocate.

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, pthread_sigmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use process::ExitStatus;
use process::signals::FORWARDED;

/// Init's exit code when its own system calls fail (the app's status is lost).
pub const EXIT_INIT_FAILED: i32 = 125;

// ANCHOR: reap
/// Reap every child that has ended, without blocking. Returns the app's
/// status if the app was among them.
pub fn reap(app: Pid) -> Result<Option<ExitStatus>, Errno> {
    // TASK 02.6: reap every ended child (waitpid -1, WNOHANG); keep the app's status
    let mut app_status = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(app_status),
            Ok(WaitStatus::Exited(pid, code)) if pid == app => {
                app_status = Some(ExitStatus::Exited(code))
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == app => {
                app_status = Some(ExitStatus::Signaled(signal))
            }
            // An orphan that ended: reaped, nothing more to do.
            Ok(_) => {}
            Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    // END TASK 02.6
}
// ANCHOR_END: reap

/// Be PID 1 for `app` until it ends, then exit with its code.
pub fn run(app: Pid) -> ! {
    let code = serve(app).unwrap_or(EXIT_INIT_FAILED);
    // SAFETY: _exit is async-signal-safe; init's namespace dies with it.
    unsafe { libc::_exit(code) }
}

// ANCHOR: serve
/// Init's loop: returns the app's exit code.
fn serve(app: Pid) -> Result<i32, Errno> {
    // TASK 02.7: read a signalfd: forward signals, reap on SIGCHLD, return the app's code
    // The forwarded signals are still blocked (inherited from the parent);
    // block SIGCHLD too, *before* the first reap, so none is missed.
    let mut set: SigSet = FORWARDED.into_iter().collect();
    set.add(Signal::SIGCHLD);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC)?;
    loop {
        if let Some(status) = reap(app)? {
            return Ok(status.code());
        }
        let Some(info) = signals.read_signal()? else {
            continue;
        };
        let signal = Signal::try_from(info.ssi_signo as i32)?;
        if signal != Signal::SIGCHLD {
            // An app that exited is a zombie until the next reap: kill
            // returns 0 and does nothing. The next reap says it ended.
            let _ = kill(app, signal);
        }
    }
    // END TASK 02.7
}
// ANCHOR_END: serve
