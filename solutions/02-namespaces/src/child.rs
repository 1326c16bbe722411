//! The child's side in lab 02: its setup steps, named.
//!
//! ```text
//!  (lab 01: wait for the parent's part) ─▶ hostname ─▶ lo up ─▶ (later labs' steps)
//!    ─▶ with --init: fork the app ──▶ app:  (lab 01: report "created", gate, exec)
//!                                 └─▶ PID 1: the init loop
//! ```
//!
//! Each step is a name and an action (see `process::steps`): the parent
//! builds the list, the child runs it, and a failure reaches the parent as
//! "cannot bring up the loopback interface in the container: EPERM". Later
//! labs append their own steps.

use std::os::fd::RawFd;

use nix::unistd::{ForkResult, fork};
use process::Steps;

use crate::config::Config;
use crate::{hostname, idmap, init, loopback};

pub const STEP_IDS: &str = "become root in the user namespace";
pub const STEP_HOSTNAME: &str = "set the hostname";
pub const STEP_LOOPBACK: &str = "bring up the loopback interface";
pub const STEP_FORK_APP: &str = "fork the app under init";

/// Lab 02's setup steps for `config`, in order (the init step comes last,
/// after any later lab's: see [`add_init`]).
pub fn steps(config: &Config) -> Steps<'_> {
    let mut steps = Steps::new();
    steps.add(STEP_IDS, move || {
        if config.namespaces.user {
            idmap::become_root()
        } else {
            Ok(())
        }
    });
    steps.add(STEP_HOSTNAME, move || match &config.hostname {
        Some(name) => hostname::set(name),
        None => Ok(()),
    });
    steps.add(STEP_LOOPBACK, move || {
        if config.namespaces.net {
            loopback::up()
        } else {
            Ok(())
        }
    });
    steps
}

/// The last step with `--init`: fork. The app (the child) goes on through
/// lab 01's path — report "created", wait at the gate, exec — while this
/// process stays PID 1 and runs the init loop. `child_fds` are lab 01's
/// pipe and gate fds of the child's side: init closes its copies, so that
/// the parent's end-of-file ("exec worked") comes when the *app* execs.
pub fn add_init(steps: &mut Steps<'_>, child_fds: [RawFd; 3]) {
    steps.add(STEP_FORK_APP, move || {
        // SAFETY (fork): both sides only make async-signal-safe calls.
        match unsafe { fork() }? {
            ForkResult::Child => Ok(()),
            ForkResult::Parent { child } => {
                for fd in child_fds {
                    // SAFETY: our copies only; the app keeps its own.
                    unsafe { libc::close(fd) };
                }
                // No report pipe any more: a panic in init's loop says one
                // line on the container's stderr.
                process::panic_report::arm_stderr();
                init::run(child)
            }
        }
    });
}
