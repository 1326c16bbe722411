//! The child's side: what runs between `fork` (or `clone`) and `exec`.
//!
//! Everything here runs in a copy of one thread of the parent, so only
//! *async-signal-safe* calls are allowed (see `signal-safety(7)`): no
//! allocation, no locks, no `println!`. Raw system calls — `read`, `write`,
//! `sigprocmask`, `execve`, `_exit` — are fine. The child never returns into
//! the parent's code: it either becomes the new program or calls `_exit`
//! (not `exit`, which would run the parent's atexit handlers and flush its
//! stdio buffers a second time).
//!
//! ```text
//!  wait for the parent's part ─▶ setup steps ─▶ report "created"
//!    (sync pipe: id maps,          (hostname,      ─▶ wait at the gate ─▶ reset signals,
//!     cgroup, …)                    mounts, …)         (until `start`)     close fds, exec
//! ```

use nix::errno::Errno;
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, pthread_sigmask, signal};

use crate::command::Prepared;
use crate::exec_report::{ReportWriter, STEP_EXEC, STEP_FDS, STEP_GATE};
use crate::gate::GateWait;
use crate::panic_report;
use crate::steps::Steps;
use crate::sync_pipe::SyncWait;

/// The child's exit code when it could not exec (Docker and shells: 127).
pub const EXIT_EXEC_FAILED: i32 = 127;
/// The child's exit code when a setup step failed or the parent gave up.
pub const EXIT_SETUP_FAILED: i32 = 125;

/// What the child holds: its ends of the pipes and of the gate, and the
/// command, all prepared by the parent.
#[derive(Debug, Clone, Copy)]
pub struct ChildSide<'a> {
    pub prepared: &'a Prepared,
    pub sync: &'a SyncWait,
    pub report: &'a ReportWriter,
    pub gate: &'a GateWait,
    /// Killed when the parent dies before `start` (`PR_SET_PDEATHSIG`).
    pub attached: bool,
}

/// The child's life: wait for the parent's part, run the setup steps,
/// report "created", wait at the gate, then `finish` — usually
/// [`exec_program`]; lab 02's init does more. Never returns.
pub fn run(
    side: ChildSide<'_>,
    steps: &mut Steps<'_>,
    finish: &mut dyn FnMut(ChildSide<'_>) -> i32,
) -> ! {
    panic_report::arm(side.report);
    if side.attached {
        // If the parent dies before `start`, nobody will ever open the gate:
        // die too rather than wait forever. (The sync pipe covers a parent
        // that died before this line: its read sees end-of-file.)
        // SAFETY: a plain prctl(2).
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    }
    if side.sync.wait().is_err() {
        exit(EXIT_SETUP_FAILED); // the parent gave up on us
    }
    if let Err((step, errno)) = steps.run() {
        side.report.send(step, errno);
        exit(EXIT_SETUP_FAILED);
    }
    side.report.send_created();
    if let Err(errno) = side.gate.wait() {
        side.report.send(STEP_GATE, errno);
        exit(EXIT_SETUP_FAILED);
    }
    if side.attached {
        // Started: from now on the program lives on its own, as with
        // `docker run`, even if dockyard goes. (Lab 02's init is the
        // exception: it never passes a gate — its app does — so it keeps
        // the signal, and an `--init` container dies with dockyard.)
        // SAFETY: a plain prctl(2).
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, 0) };
    }
    exit(finish(side))
}

/// `_exit`: async-signal-safe, and ends only this process.
pub fn exit(code: i32) -> ! {
    // SAFETY: see above.
    unsafe { libc::_exit(code) }
}

// ANCHOR: exec_program
/// Become the program: give it a clean signal state and only fds 0, 1 and
/// 2, then exec. Returns only if that failed, with the exit code to use.
pub fn exec_program(side: ChildSide<'_>) -> i32 {
    // TASK 01.5: reset the signals, close inherited fds, exec; report the errno if exec fails
    reset_signals();
    if let Err(errno) = close_inherited_fds() {
        side.report.send(STEP_FDS, errno);
        return EXIT_SETUP_FAILED;
    }
    let errno = exec(side.prepared);
    // Back from a failed exec: SIGPIPE is at its default again, and the
    // parent may be gone (`dockyard create` exits before start). Ignore it,
    // or the report below would kill us instead of failing quietly.
    // SAFETY: ignoring a signal installs no handler.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
    side.report.send(STEP_EXEC, errno);
    EXIT_EXEC_FAILED
    // END TASK 01.5
}
// ANCHOR_END: exec_program

/// Give the program the signal state a new process expects. The signal mask
/// and ignored signals survive `execve`: the CLI blocked the signals it
/// forwards (see `signals`), and Rust's runtime ignores SIGPIPE — left so,
/// `yes | head -1` in the container would print "Broken pipe" instead of
/// ending quietly. (Handlers do not survive exec: they are reset by it.)
pub fn reset_signals() {
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // SAFETY: restoring the default disposition installs no handler.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

// ANCHOR: close_fds
/// Mark every fd above 2 close-on-exec, whatever the caller left open.
///
/// An fd the container inherits is a door out of it: a directory fd of the
/// host's `/` survives `pivot_root`, and `/proc/self/fd/N/etc/shadow` then
/// reads the host's file (runc's CVE-2024-21626). *Close-on-exec* rather
/// than close: the report pipe must stay open until the exec itself.
pub fn close_inherited_fds() -> Result<(), Errno> {
    // TASK 01.5: mark every fd from 3 up close-on-exec (close_range with CLOSE_RANGE_CLOEXEC)
    // SAFETY: a plain system call (Linux 5.11+: CLOSE_RANGE_CLOEXEC).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    match Errno::last() {
        // An older kernel: mark them one at a time, up to the fd limit.
        Errno::ENOSYS | Errno::EINVAL => {
            // SAFETY: plain system calls on integers.
            let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) }.clamp(3, 1 << 20) as i32;
            for fd in 3..max {
                // SAFETY: as above; EBADF for a closed fd is fine.
                unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            }
            Ok(())
        }
        errno => Err(errno),
    }
    // END TASK 01.5
}
// ANCHOR_END: close_fds

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
