//! Starting a child, and the parent's handle on it.
//!
//! The order matters:
//!
//! 1. prepare everything the child needs (no allocation after `fork`);
//! 2. make the two pipes and block the signals the parent forwards;
//! 3. `fork`;
//! 4. parent: close the child's pipe ends (or end-of-file never comes);
//!    child: close the parent's ends and run [`child::run`];
//! 5. later, [`Child::start`] releases the child and reads its report.
//!
//! ```text
//!  parent                                 child
//!  ──────                                 ─────
//!  prepare, pipes, block signals
//!  fork ────────────────────────────────▶ reset signals
//!  (set the child up)                     read sync pipe … blocks
//!  start: write sync byte ──────────────▶ (setup) execve ──▶ program runs,
//!         read report pipe ◀── EOF ─────────────────────── report pipe closed
//!  wait: waitpid ◀──────────────────────────────────────── exit(code)
//! ```
//!
//! Later labs replace `fork` by `clone` (new namespaces) and add setup steps
//! in the child; they reuse [`Pipes`], [`Child`] and [`child::run`].

use std::os::fd::{AsFd, AsRawFd};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{ForkResult, Pid, fork};

use crate::child::{self, StepResult};
use crate::command::{Command, Prepared};
use crate::error::SpawnError;
use crate::exec_report::{self, ChildFailure, ReportReader, ReportWriter, STEP_EXEC, STEP_PANIC};
use crate::signals::Forwarding;
use crate::status::{ExitStatus, wait_pid};
use crate::sync_pipe::{self, SyncRelease, SyncWait};

/// The two pipes between parent and child, both ends of each.
#[derive(Debug)]
pub struct Pipes {
    sync_wait: SyncWait,
    sync_release: SyncRelease,
    report_writer: ReportWriter,
    report_reader: ReportReader,
}

impl Pipes {
    /// Make the sync pipe and the report pipe.
    pub fn new() -> Result<Pipes, SpawnError> {
        let (sync_wait, sync_release) =
            sync_pipe::channel().map_err(SpawnError::sys("create the sync pipe"))?;
        let (report_writer, report_reader) =
            exec_report::channel().map_err(SpawnError::sys("create the report pipe"))?;
        Ok(Pipes {
            sync_wait,
            sync_release,
            report_writer,
            report_reader,
        })
    }

    /// In the child: close the parent's ends. (Raw `close`: this copy of the
    /// parent never returns, so Rust's ownership here no longer matters.)
    /// Without this, the child would hold the sync pipe's write end itself
    /// and never see end-of-file if the parent died.
    pub fn close_parent_ends(&self) {
        // SAFETY: closing fds in the child; the parent's copies are unaffected.
        unsafe {
            libc::close(self.sync_release.as_fd().as_raw_fd());
            libc::close(self.report_reader.as_fd().as_raw_fd());
        }
    }

    /// The child's ends, for [`child::run`] or a later lab's child code.
    pub fn child_ends(&self) -> (&SyncWait, &ReportWriter) {
        (&self.sync_wait, &self.report_writer)
    }

    /// In the child: close the parent's ends, then [`child::run`].
    pub fn run_child(&self, prepared: &Prepared, setup: &mut dyn FnMut() -> StepResult) -> ! {
        self.close_parent_ends();
        child::run(prepared, &self.sync_wait, &self.report_writer, setup)
    }
}

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
    steps: StepNames,
    reaped: bool,
}

/// Names a child's setup step (1, 2, …) for error messages.
pub type StepNames = fn(u32) -> &'static str;

/// What the child does between the release and exec, in lab 01: nothing.
fn no_setup() -> StepResult {
    Ok(())
}

/// Lab 01 has no setup steps.
fn no_steps(_: u32) -> &'static str {
    "set up"
}

/// Fork a child for `cmd`. The child is held on the sync pipe: nothing of
/// the program runs until [`Child::start`].
pub fn spawn(cmd: &Command) -> Result<Child, SpawnError> {
    let prepared = cmd.prepare()?;
    let pipes = Pipes::new()?;
    // Blocked before fork, so that no signal can arrive between fork and the
    // moment the parent starts forwarding.
    let forwarding = Forwarding::block().map_err(SpawnError::sys("block the forwarded signals"))?;
    // TASK 01.6: fork; the child runs its side, the parent keeps a Child
    todo!("01.6: fork; the child runs its side, the parent keeps a Child")
    // END TASK 01.6
}

impl Child {
    /// The parent's handle on a child just forked (or cloned) with `pipes`:
    /// closes the child's ends of the pipes — keeping ours open would hide
    /// the end-of-file that says "exec worked". `steps` names the child's
    /// setup steps for error messages.
    pub fn new(
        pid: Pid,
        cmd: &Command,
        pipes: Pipes,
        forwarding: Forwarding,
        steps: StepNames,
    ) -> Child {
        let Pipes {
            sync_wait,
            sync_release,
            report_writer,
            report_reader,
        } = pipes;
        drop(sync_wait);
        drop(report_writer);
        Child {
            pid,
            program: cmd.program().to_string_lossy().into_owned(),
            release: Some(sync_release),
            report: Some(report_reader),
            forwarding,
            steps,
            reaped: false,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Release the child and wait until it has exec'd. A failure in the child
    /// comes back as an error, and the failed child is reaped.
    pub fn start(&mut self) -> Result<(), SpawnError> {
        // TASK 01.6: release the child, then read its report
        todo!("01.6: release the child, then read its report")
        // END TASK 01.6
    }

    /// Turn a child's report into an error that names what failed.
    fn describe(&self, failure: ChildFailure) -> SpawnError {
        match failure.step {
            STEP_EXEC => SpawnError::Exec {
                program: self.program.clone(),
                errno: failure.errno,
            },
            STEP_PANIC => SpawnError::ChildPanicked {
                message: failure.message,
            },
            n => SpawnError::Setup {
                step: (self.steps)(n),
                errno: failure.errno,
            },
        }
    }

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
