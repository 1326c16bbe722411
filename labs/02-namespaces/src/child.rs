//! The child's side in lab 02: between `clone` and exec.
//!
//! ```text
//!  wait for release ─▶ hostname ─▶ lo up ─▶ (later labs' steps) ─▶ exec
//!                                                             └─▶ --init: fork;
//!                                                                 app: exec; PID 1: init loop
//! ```
//!
//! Each setup step has a number, so that a failure reaches the parent as
//! "cannot bring up the loopback interface in the container: EPERM:
//! Operation not permitted" rather than a bare errno. Later labs add their own steps, numbered from 10.

use std::os::fd::{AsFd, AsRawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};

use nix::errno::Errno;
use nix::unistd::{ForkResult, fork};
use process::Prepared;
use process::child::{EXIT_EXEC_FAILED, EXIT_SETUP_FAILED, StepResult};
use process::exec_report::{ReportWriter, STEP_EXEC};
use process::spawn::Pipes;

use crate::config::Config;
use crate::{hostname, init, loopback};

pub const STEP_HOSTNAME: u32 = 1;
pub const STEP_LOOPBACK: u32 = 2;
pub const STEP_FORK_APP: u32 = 3;

/// The name of a lab 02 setup step, for error messages.
pub fn step_name(step: u32) -> &'static str {
    match step {
        STEP_HOSTNAME => "set the hostname",
        STEP_LOOPBACK => "bring up the loopback interface",
        STEP_FORK_APP => "fork the app under init",
        _ => "set up",
    }
}

/// Run setup step `n` — or fail it on purpose when `fail_at` says so.
pub fn step(
    fail_at: Option<u32>,
    n: u32,
    action: impl FnOnce() -> Result<(), Errno>,
) -> StepResult {
    if fail_at == Some(n) {
        return Err((n, Errno::ECANCELED));
    }
    action().map_err(|errno| (n, errno))
}

/// What the child does once its own setup is over.
enum Next {
    /// `_exit` with this code (exec failed, or a step did).
    Exit(i32),
    /// Be PID 1 for the app with this pid.
    Init(nix::unistd::Pid),
}

/// The child's life after `clone`: never returns.
pub fn run(
    prepared: &Prepared,
    pipes: &Pipes,
    config: &Config,
    extra: &mut dyn FnMut() -> StepResult,
) -> ! {
    pipes.close_parent_ends();
    let (wait, report) = pipes.child_ends();
    let next = catch_unwind(AssertUnwindSafe(|| {
        if wait.wait().is_err() {
            return Next::Exit(EXIT_SETUP_FAILED); // the parent gave up on us
        }
        if let Err((step, errno)) = setup(config).and_then(|()| extra()) {
            report.send(step, errno);
            return Next::Exit(EXIT_SETUP_FAILED);
        }
        if config.init {
            start_under_init(prepared, report, config.fail_at)
        } else {
            Next::Exit(exec_app(prepared, report))
        }
    }))
    .unwrap_or_else(|payload| {
        report.send_panic(payload.as_ref());
        Next::Exit(EXIT_SETUP_FAILED)
    });
    match next {
        // Outside `catch_unwind`, and after init closed its copy of the
        // report pipe: a panic in init's loop aborts it (its namespace goes
        // with it), rather than writing to a closed, perhaps reused, fd.
        Next::Init(app) => init::run(app),
        // SAFETY: _exit is async-signal-safe and ends only this process.
        Next::Exit(code) => unsafe { libc::_exit(code) },
    }
}

/// Lab 02's setup steps, in order.
fn setup(config: &Config) -> StepResult {
    step(config.fail_at, STEP_HOSTNAME, || match &config.hostname {
        Some(name) => hostname::set(name),
        None => Ok(()),
    })?;
    step(config.fail_at, STEP_LOOPBACK, || {
        if config.namespaces.net {
            loopback::up()
        } else {
            Ok(())
        }
    })
}

/// Reset the signals and become the program; returns only on failure.
fn exec_app(prepared: &Prepared, report: &ReportWriter) -> i32 {
    process::child::reset_signals();
    report.send(STEP_EXEC, process::child::exec(prepared));
    EXIT_EXEC_FAILED
}

/// Fork the app; this process will stay PID 1 and run the init loop.
fn start_under_init(prepared: &Prepared, report: &ReportWriter, fail_at: Option<u32>) -> Next {
    // SAFETY (fork): both sides only make async-signal-safe calls.
    let forked = step(fail_at, STEP_FORK_APP, || Ok(()))
        .and_then(|()| unsafe { fork() }.map_err(|errno| (STEP_FORK_APP, errno)));
    match forked {
        Ok(ForkResult::Child) => Next::Exit(exec_app(prepared, report)),
        Ok(ForkResult::Parent { child }) => {
            // Init must not hold the report pipe: the parent's end-of-file
            // ("exec worked") comes only when every copy is closed.
            // SAFETY: closing our copy; the app keeps its own.
            unsafe { libc::close(report.as_fd().as_raw_fd()) };
            Next::Init(child)
        }
        Err((step, errno)) => {
            report.send(step, errno);
            Next::Exit(EXIT_SETUP_FAILED)
        }
    }
}
