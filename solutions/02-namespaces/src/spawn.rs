//! Starting a child in new namespaces with `clone(2)`.
//!
//! `fork` is `clone` without flags. With `CLONE_NEW*` flags, the kernel
//! creates the new namespaces and puts the child in them, atomically. The
//! user namespace, if asked for, is created first, so it owns the others:
//! that is why an unprivileged user can create all of them at once.
//!
//! `clone` runs the child on a stack we provide (the child's memory is a
//! copy-on-write copy of ours, as with fork). It also works in a
//! multi-threaded process, where `unshare(CLONE_NEWUSER)` would fail.
//!
//! After `clone`, and before the child is released, the parent writes the
//! user namespace's id maps (see `idmap`).

use nix::sched::clone;
use nix::sys::signal::Signal;
use nix::unistd::{getegid, geteuid};
use process::child::StepResult;
use process::signals::Forwarding;
use process::spawn::{Child, Pipes, StepNames};
use process::{Command, SpawnError};

use crate::child;
use crate::config::Config;
use crate::error::Error;
use crate::idmap::{self, IdMap};

/// The child's stack. Mapped lazily: only the pages it touches cost memory.
const STACK_SIZE: usize = 8 << 20;

/// Start `cmd` in new namespaces, held on the sync pipe until
/// [`Child::start`].
pub fn spawn(cmd: &Command, config: &Config) -> Result<Child, Error> {
    spawn_with(cmd, config, child::step_name, &mut || Ok(()))
}

// ANCHOR: spawn
/// [`spawn`], with `extra` setup steps that later labs run in the child
/// after lab 02's (named by `steps`).
pub fn spawn_with(
    cmd: &Command,
    config: &Config,
    steps: StepNames,
    extra: &mut dyn FnMut() -> StepResult,
) -> Result<Child, Error> {
    config.validate()?;
    let prepared = cmd.prepare()?;
    let pipes = Pipes::new()?;
    let forwarding = Forwarding::block().map_err(SpawnError::sys("block the forwarded signals"))?;
    let mut stack = vec![0u8; STACK_SIZE];
    // TASK 02.5: clone the child into new namespaces to run child::run; then write its id maps
    let callback = Box::new(|| -> isize { child::run(&prepared, &pipes, config, extra) });
    let flags = config.namespaces.clone_flags();
    // SAFETY: the child runs only `child::run`, which never returns and makes
    // only async-signal-safe calls; SIGCHLD makes it an ordinary child that
    // waitpid sees.
    let pid = unsafe { clone(callback, &mut stack, flags, Some(Signal::SIGCHLD as i32)) }.map_err(
        |errno| Error::Clone {
            errno,
            userns: config.namespaces.user,
        },
    )?;
    let child = Child::new(pid, cmd, pipes, forwarding, steps);
    if config.namespaces.user {
        // On error, dropping `child` kills and reaps it.
        idmap::write_maps(
            pid,
            IdMap::root_is(geteuid().as_raw()),
            IdMap::root_is(getegid().as_raw()),
        )?;
    }
    Ok(child)
    // END TASK 02.5
}
// ANCHOR_END: spawn
