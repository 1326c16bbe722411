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
//! After `clone`, while the child waits on lab 01's sync pipe, the parent
//! does its part: it writes the user namespace's id maps (see `idmap`).
//! Only then may the child go on: until its ids are mapped it is nobody,
//! and its setup steps would fail. A later lab adds to the parent's part
//! (lab 04 places the child in its cgroup): it too must be done before the
//! child runs a single instruction of its own.

use nix::sched::clone;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use process::gate::Gate;
use process::{Command, Lifetime, SpawnError, Startup, Steps};

use crate::config::Config;
use crate::error::Error;
use crate::{child, clone3, idmap};

/// The child's stack. Mapped lazily: only the pages it touches cost memory.
const STACK_SIZE: usize = 8 << 20;

/// Start `cmd` in new namespaces; returns once it is created, held at its
/// gate until [`process::Child::start`].
pub fn spawn(cmd: &Command, config: &Config) -> Result<process::Child, Error> {
    let gate = Gate::temporary().map_err(SpawnError::sys("make the start gate"))?;
    let startup = Startup::new(gate, Lifetime::Attached)?;
    spawn_with(cmd, config, Steps::new(), &mut |_| Ok(()), startup)
}

/// A later lab's share of the parent's part, run after the id maps while
/// the child still waits on the sync pipe (lab 04: put it in its cgroup).
pub type ParentPart<'p> = &'p mut dyn FnMut(Pid) -> Result<(), Error>;

// ANCHOR: spawn
/// [`spawn`], with `extra` setup steps (a later lab's) that the child runs
/// after lab 02's, a later lab's `parent_part` that the parent does after
/// the id maps, and the `startup` (gate, lifetime) the caller chose.
pub fn spawn_with<'a>(
    cmd: &Command,
    config: &'a Config,
    extra: Steps<'a>,
    parent_part: ParentPart<'_>,
    startup: Startup,
) -> Result<process::Child, Error> {
    config.validate()?;
    let prepared = cmd.prepare()?;
    let mut steps = child::steps(config);
    steps.append(extra);
    if config.init {
        child::add_init(&mut steps, startup.child_fds());
    }
    if let Some(name) = &config.fail_at {
        steps.fail_at(name).map_err(Error::Config)?;
    }
    let (uid_map, gid_map) = config.id_maps();
    if config.namespaces.user {
        // The container's root must be able to open its gate.
        let root = |map: &idmap::IdMap| map.to_host(0).unwrap_or(map.ranges()[0].outside);
        let give = startup.gate().give_to(root(&uid_map), root(&gid_map));
        give.map_err(SpawnError::sys(
            "hand the start gate to the container's root",
        ))?;
    }
    let mut stack = vec![0u8; STACK_SIZE];
    // TASK 02.5: clone into new namespaces to run the child side; then id maps and parent_part
    let callback = Box::new(|| -> isize {
        startup.run_child(&prepared, &mut steps, &mut process::child::exec_program)
    });
    let flags = config.namespaces.clone_flags();
    let pid = match config.clone_into_cgroup {
        // Lab 05's: born in its cgroup, nothing to migrate (see `clone3`).
        Some(cgroup) => clone3::clone_into_cgroup(callback, &mut stack, flags, cgroup),
        // SAFETY: the child runs only `run_child`, which never returns and
        // makes only async-signal-safe calls; SIGCHLD makes it an ordinary
        // child that waitpid sees.
        None => unsafe { clone(callback, &mut stack, flags, Some(Signal::SIGCHLD as i32)) },
    };
    let pid = pid.map_err(|errno| Error::Clone {
        errno,
        userns: config.namespaces.user,
    })?;
    startup.parent(pid, cmd, &steps, |pid| {
        if config.namespaces.user {
            idmap::write_maps(pid, uid_map, gid_map)?;
        }
        parent_part(pid)
    })
    // END TASK 02.5
}
// ANCHOR_END: spawn
