//! Starting a child, and the parent's handle on it.
//!
//! The order matters:
//!
//! 1. prepare everything the child needs (no allocation after `fork`);
//! 2. make the two pipes and block the signals the parent forwards;
//! 3. `fork`;
//! 4. parent: close the child's pipe ends (or end-of-file never comes);
//!    child: close the parent's ends and run [`child::run`];
//! 5. later, [`Child::start`] releases the child and reads the exec report.
//!
//! ```text
//!  parent                                 child
//!  ──────                                 ─────
//!  prepare, pipes, block signals
//!  fork ────────────────────────────────▶ restore signal mask
//!  (set the child up)                     read sync pipe … blocks
//!  start: write sync byte ──────────────▶ execve ──▶ program runs,
//!         read report pipe ◀── EOF ───────────────── report pipe closed
//!  wait: waitpid ◀────────────────────────────────── exit(code)
//! ```

use nix::sys::signal::{Signal, kill};
use nix::unistd::{ForkResult, Pid, fork};

use crate::child;
use crate::command::Command;
use crate::error::SpawnError;
use crate::exec_report::{self, ReportReader};
use crate::signals::Forwarding;
use crate::status::{ExitStatus, wait_pid};
use crate::sync_pipe::{self, SyncRelease};

/// A child process that waits on its sync pipe until [`Child::start`].
///
/// Dropping a `Child` that was not waited for kills and reaps it, so an
/// error on the way never leaves a stray process or a zombie.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    program: String,
    release: Option<SyncRelease>,
    report: Option<ReportReader>,
    forwarding: Forwarding,
    reaped: bool,
}

// ANCHOR: spawn
/// Fork a child for `cmd`. The child is held on the sync pipe: nothing of
/// the program runs until [`Child::start`].
pub fn spawn(cmd: &Command) -> Result<Child, SpawnError> {
    let prepared = cmd.prepare()?;
    let (sync_wait, sync_release) =
        sync_pipe::channel().map_err(SpawnError::sys("create the sync pipe"))?;
    let (report_writer, report_reader) =
        exec_report::channel().map_err(SpawnError::sys("create the exec report pipe"))?;
    // Blocked before fork, so that no signal can arrive between fork and the
    // moment the parent starts forwarding.
    let forwarding = Forwarding::block().map_err(SpawnError::sys("block the forwarded signals"))?;
    // TASK 01.6: fork; the child runs child::run, the parent keeps its ends of the pipes
    // SAFETY: after fork the child calls only async-signal-safe functions
    // (see `child`) and never returns.
    match unsafe { fork() }.map_err(SpawnError::sys("fork"))? {
        ForkResult::Child => {
            drop(sync_release);
            drop(report_reader);
            child::run(&prepared, sync_wait, report_writer, forwarding.old_mask())
        }
        ForkResult::Parent { child } => {
            // The child holds its own copies of these. Keeping ours open
            // would hide the end-of-file that says "exec worked".
            drop(sync_wait);
            drop(report_writer);
            Ok(Child {
                pid: child,
                program: cmd.program().to_string_lossy().into_owned(),
                release: Some(sync_release),
                report: Some(report_reader),
                forwarding,
                reaped: false,
            })
        }
    }
    // END TASK 01.6
}
// ANCHOR_END: spawn

impl Child {
    /// The child's process id.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    // ANCHOR: start
    /// Release the child and wait until it has exec'd. An exec failure comes
    /// back as [`SpawnError::Exec`], and the failed child is reaped.
    pub fn start(&mut self) -> Result<(), SpawnError> {
        // TASK 01.6: release the child, then read its exec report
        let (Some(release), Some(report)) = (self.release.take(), self.report.take()) else {
            return Err(SpawnError::Sys {
                what: "start the child twice",
                errno: nix::errno::Errno::EALREADY,
            });
        };
        release
            .release()
            .map_err(SpawnError::sys("release the child"))?;
        match report.outcome() {
            Ok(()) => Ok(()),
            Err(errno) => {
                self.wait()?;
                Err(SpawnError::Exec {
                    program: self.program.clone(),
                    errno,
                })
            }
        }
        // END TASK 01.6
    }
    // ANCHOR_END: start

    /// Wait for the child to end, without forwarding signals.
    pub fn wait(&mut self) -> Result<ExitStatus, SpawnError> {
        let status = wait_pid(self.pid).map_err(SpawnError::sys("wait for the child"))?;
        self.reaped = true;
        Ok(status)
    }

    /// Wait for the child to end, forwarding the signals this process gets
    /// (SIGINT, SIGTERM, …) to it, as `docker run` does.
    pub fn wait_forwarding(&mut self) -> Result<ExitStatus, SpawnError> {
        let status = self
            .forwarding
            .wait(self.pid)
            .map_err(SpawnError::sys("wait for the child"))?;
        self.reaped = true;
        Ok(status)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = wait_pid(self.pid);
        }
    }
}
