//! Starting a child, and the parent's handle on it.
//!
//! A start has two rendezvous, as an OCI runtime's `create` and `start`:
//!
//! ```text
//!  parent                                  child
//!  ──────                                  ─────
//!  prepare, pipes, gate
//!  fork ─────────────────────────────────▶ wait on the sync pipe …
//!  the parent's part (lab 02: id maps,
//!  lab 04: cgroup), then release ────────▶ setup steps (hostname, mounts, …)
//!  wait for the report … ◀── "created" ─── wait at the gate …
//!        ⋮   (the parent may exit here: `create`; another process may `start`)
//!  start: open the gate ─────────────────▶ reset signals, close fds, execve
//!         read the report ◀──── EOF ───────────────────── program runs
//!  wait: waitpid ◀─────────────────────────────────────── exit(code)
//! ```
//!
//! Later labs replace `fork` by `clone` (new namespaces), add setup steps
//! and a parent's part; they reuse [`Startup`] and [`Child`].

use std::path::PathBuf;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{ForkResult, Pid, fork};

use crate::child::{self, ChildSide};
use crate::command::{Command, Prepared};
use crate::error::SpawnError;
use crate::exec_report::{
    self, ChildFailure, Report, ReportReader, ReportWriter, STEP_EXEC, STEP_FDS, STEP_GATE,
    STEP_PANIC,
};
use crate::gate::{self, Gate, GateWait};
use crate::panic_report;
use crate::signals::Forwarding;
use crate::status::{ExitStatus, wait_pid};
use crate::steps::{StepNames, Steps};
use crate::sync_pipe::{self, SyncRelease, SyncWait};

/// Whether a child is killed when its parent dies before `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// `dockyard run`: the parent starts it; if the parent dies first, the
    /// child dies too.
    Attached,
    /// `dockyard create`: it waits at its gate after the parent exits,
    /// until someone starts or kills it.
    Detached,
}

/// Everything a start needs, made before `fork`: the pipes, both ends
/// each, and the gate.
#[derive(Debug)]
pub struct Startup {
    sync_wait: SyncWait,
    sync_release: SyncRelease,
    report_writer: ReportWriter,
    report_reader: ReportReader,
    gate: Gate,
    gate_wait: GateWait,
    lifetime: Lifetime,
}

impl Startup {
    /// Make the sync pipe and the report pipe, and open the gate's
    /// directory for the child. Installs the child's panic hook.
    pub fn new(gate: Gate, lifetime: Lifetime) -> Result<Startup, SpawnError> {
        panic_report::install();
        let (sync_wait, sync_release) =
            sync_pipe::channel().map_err(SpawnError::sys("create the sync pipe"))?;
        let (report_writer, report_reader) =
            exec_report::channel().map_err(SpawnError::sys("create the report pipe"))?;
        let gate_wait = gate
            .waiter()
            .map_err(SpawnError::sys("open the start gate"))?;
        Ok(Startup {
            sync_wait,
            sync_release,
            report_writer,
            report_reader,
            gate,
            gate_wait,
            lifetime,
        })
    }

    /// The gate the child will wait at.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The raw fds of the child's side (sync pipe, report pipe, gate), for a
    /// child that forks again and must close its copies (lab 02's init).
    pub fn child_fds(&self) -> [i32; 3] {
        [
            raw(&self.sync_wait),
            raw(&self.report_writer),
            raw(&self.gate_wait),
        ]
    }

    /// In the child: close the parent's ends (raw `close`: this copy of the
    /// parent never returns, so Rust's ownership here no longer matters),
    /// then live the child's life ([`child::run`]). Without the close, the
    /// child would hold the sync pipe's write end itself and never see
    /// end-of-file if the parent died.
    pub fn run_child(
        &self,
        prepared: &Prepared,
        steps: &mut Steps<'_>,
        finish: &mut dyn FnMut(ChildSide<'_>) -> i32,
    ) -> ! {
        // SAFETY: closing fds in the child; the parent's copies are unaffected.
        unsafe {
            libc::close(raw(&self.sync_release));
            libc::close(raw(&self.report_reader));
        }
        let side = ChildSide {
            prepared,
            sync: &self.sync_wait,
            report: &self.report_writer,
            gate: &self.gate_wait,
            attached: self.lifetime == Lifetime::Attached,
        };
        child::run(side, steps, finish)
    }

    /// In the parent, right after `fork`/`clone` made `pid`: do the
    /// parent's part (`parent_part`: id maps, cgroup, … — while the child
    /// waits), release the child, and wait until it reports "created".
    /// On any error the child is killed and reaped.
    pub fn parent<E: From<SpawnError>>(
        self,
        pid: Pid,
        cmd: &Command,
        steps: &Steps<'_>,
        parent_part: impl FnOnce(Pid) -> Result<(), E>,
    ) -> Result<Child, E> {
        let Startup {
            sync_wait,
            sync_release,
            report_writer,
            report_reader,
            gate,
            gate_wait,
            lifetime: _,
        } = self;
        // Keeping our copies of the child's ends open would hide the
        // end-of-file that says "exec worked" or "the child is gone".
        drop((sync_wait, report_writer, gate_wait));
        let mut child = Child {
            pid,
            program: cmd.program().to_string_lossy().into_owned(),
            steps: StepNames::of(steps),
            report: Some(report_reader),
            gate,
            owned: true,
            reaped: false,
        };
        parent_part(pid)?; // on error, dropping `child` kills and reaps it
        sync_release
            .release()
            .map_err(SpawnError::sys("release the child"))?;
        child.created()?;
        Ok(child)
    }
}

fn raw(fd: &impl std::os::fd::AsFd) -> i32 {
    use std::os::fd::AsRawFd;
    fd.as_fd().as_raw_fd()
}

/// A child process: set up ("created"), held at its gate until
/// [`Child::start`].
///
/// Dropping a `Child` that was not waited for kills and reaps it, so an
/// error on the way never leaves a stray process or a zombie — unless it
/// was [`Child::detach`]ed.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    program: String,
    steps: StepNames,
    /// `None` for a child found again by pid: only its creator has the pipe.
    report: Option<ReportReader>,
    gate: Gate,
    /// Killed and reaped on drop (not detached, not found again).
    owned: bool,
    reaped: bool,
}

// ANCHOR: spawn
/// Fork a child for `cmd`; returns once it is created, held at its gate:
/// nothing of the program runs until [`Child::start`].
pub fn spawn(cmd: &Command) -> Result<Child, SpawnError> {
    let prepared = cmd.prepare()?;
    let gate = Gate::temporary().map_err(SpawnError::sys("make the start gate"))?;
    let startup = Startup::new(gate, Lifetime::Attached)?;
    let mut steps = Steps::new(); // lab 01's child has no setup steps
    // TASK 01.6: fork; the child runs its side (then execs), the parent waits until it is created
    // SAFETY: after fork the child calls only async-signal-safe functions
    // (see `child`) and never returns.
    match unsafe { fork() }.map_err(SpawnError::sys("fork"))? {
        ForkResult::Child => startup.run_child(&prepared, &mut steps, &mut child::exec_program),
        ForkResult::Parent { child } => startup.parent(child, cmd, &steps, |_| Ok(())),
    }
    // END TASK 01.6
}
// ANCHOR_END: spawn

impl Child {
    /// The child's process id.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The path of the child's gate: whoever opens it starts the child.
    pub fn gate(&self) -> PathBuf {
        self.gate.path()
    }

    /// Wait for "created". A failed step comes back as an error naming it,
    /// and the failed child is reaped.
    fn created(&mut self) -> Result<(), SpawnError> {
        match self.next_report()? {
            Report::Created => Ok(()),
            Report::Failed(failure) => Err(self.failed(failure)),
            Report::Closed => {
                let status = self.wait()?;
                Err(SpawnError::Died {
                    during: "setup",
                    status,
                })
            }
        }
    }

    // ANCHOR: start
    /// Open the gate, and wait until the child has exec'd. A failure in the
    /// child comes back as an error, and the failed child is reaped.
    pub fn start(&mut self) -> Result<(), SpawnError> {
        // TASK 01.6: open the gate; then read the report: Closed means exec worked
        let opened = gate::start(&self.gate.path(), self.pid);
        if self.report.is_none() {
            // Found again by pid: only its creator has the report pipe.
            return opened.map_err(SpawnError::sys("open the start gate"));
        }
        // Opened or not, the report says what became of the child.
        match self.next_report()? {
            // End-of-file: exec worked — unless the child died at the gate.
            Report::Closed => opened.map_err(SpawnError::sys("open the start gate")),
            Report::Failed(failure) => Err(self.failed(failure)),
            Report::Created => Err(SpawnError::Sys {
                what: "start the child: it reported 'created' twice",
                errno: Errno::EPROTO,
            }),
        }
        // END TASK 01.6
    }
    // ANCHOR_END: start

    fn next_report(&mut self) -> Result<Report, SpawnError> {
        let report = self.report.as_mut().ok_or(SpawnError::Sys {
            what: "read the child's report: only its creator can",
            errno: Errno::EBADF,
        })?;
        report
            .next()
            .map_err(SpawnError::sys("read the child's report"))
    }

    /// Reap the failed child and turn its report into an error that names
    /// what failed.
    fn failed(&mut self, failure: ChildFailure) -> SpawnError {
        let _ = self.wait();
        match failure.step {
            STEP_EXEC => SpawnError::Exec {
                program: self.program.clone(),
                errno: failure.errno,
            },
            STEP_PANIC => SpawnError::ChildPanicked {
                message: failure.message,
            },
            STEP_GATE => SpawnError::Setup {
                step: "wait at the start gate",
                errno: failure.errno,
            },
            STEP_FDS => SpawnError::Setup {
                step: "mark the inherited fds close-on-exec",
                errno: failure.errno,
            },
            n => SpawnError::Setup {
                step: self.steps.name(n),
                errno: failure.errno,
            },
        }
    }

    /// Leave the child running, or waiting at its gate, when this handle
    /// goes: for `create`, whose process exits before `start`. Returns its
    /// pid; [`Child::found`] makes a handle again.
    pub fn detach(mut self) -> Pid {
        self.owned = false;
        self.gate.keep(); // whoever starts it later needs the gate
        self.pid
    }

    /// A handle on a child created earlier, perhaps by another process,
    /// found again by its pid and the directory of its gate. It can be
    /// started and signalled; it is not killed on drop; only its parent can
    /// wait for it.
    pub fn found(pid: Pid, gate_dir: &std::path::Path) -> Result<Child, SpawnError> {
        kill(pid, None).map_err(SpawnError::sys("find the child"))?;
        Ok(Child {
            pid,
            program: String::new(),
            steps: StepNames::default(),
            report: None,
            gate: Gate::existing(gate_dir),
            owned: false,
            reaped: false,
        })
    }

    /// Wait for the child to end.
    pub fn wait(&mut self) -> Result<ExitStatus, SpawnError> {
        let status = wait_pid(self.pid).map_err(SpawnError::sys("wait for the child"))?;
        self.reaped = true;
        Ok(status)
    }

    /// Wait for the child to end, passing on the signals `forwarding`
    /// holds blocked (SIGINT, SIGTERM, …), as `docker run` does.
    pub fn wait_forwarding(&mut self, forwarding: &Forwarding) -> Result<ExitStatus, SpawnError> {
        let status = forwarding
            .wait(self.pid)
            .map_err(SpawnError::sys("wait for the child"))?;
        self.reaped = true;
        Ok(status)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.owned && !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            // waitpid itself, not `wait_pid` (task 01.2): a drop may run
            // while a panic unwinds, and a second panic there — a
            // `todo!()` not written yet — aborts the whole test binary.
            while let Err(Errno::EINTR) = nix::sys::wait::waitpid(self.pid, None) {}
        }
    }
}
