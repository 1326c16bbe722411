//! Forwarding signals to the child.
//!
//! `docker run` passes the signals it receives on to the container, so that
//! Ctrl-C or a `kill` of the client stops the app gracefully. The parent
//! does not install handlers (a handler may run at any moment and may do
//! almost nothing); instead it *blocks* the signals — they stay pending —
//! and reads them, one at a time, from a `signalfd(2)`.
//!
//! The child's end is watched the same way: a `pidfd` (`pidfd_open(2)`)
//! becomes readable when the process exits. One `poll(2)` on both answers
//! "what happened first?" without races and without SIGCHLD, which in a
//! multi-threaded process may be delivered to another thread.
//!
//! The signals are blocked *before* `fork`: a signal arriving between
//! `fork` and the first `poll` then simply waits, pending, instead of
//! killing the parent. The child unblocks them before `exec`.
//!
//! A signal mask belongs to a *thread* (`pthread_sigmask(3)`), and a
//! process-directed signal goes to any thread that does not block it. So
//! blocking is the job of the program's main thread — the CLI — before it
//! starts any other thread; a library function that blocked signals in
//! whatever thread called it would leave them deliverable to every other
//! thread. The lab-12 daemon will block them in `main` before it starts a
//! thread, and read them on one dedicated thread.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, pthread_sigmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

use crate::status::{ExitStatus, wait_pid};

/// The signals passed on to the child.
pub const FORWARDED: [Signal; 6] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// The forwarded signals, blocked in this thread until dropped.
#[derive(Debug)]
pub struct Forwarding {
    set: SigSet,
    old_mask: SigSet,
}

impl Forwarding {
    /// Block [`FORWARDED`] in the calling thread; they stay pending until
    /// [`Forwarding::wait`] reads them.
    pub fn block() -> Result<Forwarding, Errno> {
        let set: SigSet = FORWARDED.into_iter().collect();
        let mut old_mask = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old_mask))?;
        Ok(Forwarding { set, old_mask })
    }

    // ANCHOR: forward
    /// Wait for `child` to end, passing every forwarded signal on to it.
    pub fn wait(&self, child: Pid) -> Result<ExitStatus, Errno> {
        // TASK 01.7: poll a signalfd and a pidfd; forward each signal until the child exits
        let signals = SignalFd::with_flags(&self.set, SfdFlags::SFD_CLOEXEC)?;
        let exited = pidfd_open(child)?;
        loop {
            let mut fds = [
                PollFd::new(signals.as_fd(), PollFlags::POLLIN),
                PollFd::new(exited.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(errno),
            }
            let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
            if ready(&fds[1]) {
                return wait_pid(child);
            }
            if ready(&fds[0])
                && let Some(info) = signals.read_signal()?
            {
                let signal = Signal::try_from(info.ssi_signo as i32)?;
                // A child that exited is a zombie until waitpid reaps it:
                // kill on it returns 0 (and does nothing), and the pidfd
                // says it ended. ESRCH only if something else reaped it.
                match kill(child, signal) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(errno) => return Err(errno),
                }
            }
        }
        // END TASK 01.7
    }
    // ANCHOR_END: forward
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        // Unblock: any signal still pending is now delivered to us as usual.
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.old_mask), None);
    }
}

/// A file descriptor that becomes readable when `pid` exits (Linux 5.3+).
pub fn pidfd_open(pid: Pid) -> Result<OwnedFd, Errno> {
    // SAFETY: a plain system call; on success it returns a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just gave us this fd, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
