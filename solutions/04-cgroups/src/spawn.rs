//! Starting a container in a cgroup of its own, **before** it execs.
//!
//! ```text
//! parent                                    child
//! create the cgroup, write the limits
//! clone (no CLONE_NEWCGROUP) ─────────────▶ wait on the sync pipe
//! id maps; write the pid to cgroup.procs
//! release ────────────────────────────────▶ lab 02/03 steps … pivot_root
//!                                           unshare(CLONE_NEWCGROUP)   ← root: its own cgroup
//!                                           mount /sys/fs/cgroup (ro)
//!                                           gate … exec: limited from its first instruction
//! ```
//!
//! Why the parent places the child while it waits, rather than after it
//! started: a process's children are born in its cgroup. A container
//! placed after exec has already run — allocated, forked — outside its
//! limits, and the children it forked meanwhile stay outside for good.
//! The sync pipe makes "before" a guarantee, not a race.
//!
//! Whatever fails after the cgroup exists — a limit the kernel refuses,
//! a setup step, exec — the cgroup is removed before the error returns
//! (the child, if any, is already killed and reaped by lab 01's `Child`).

use std::path::Path;

use namespaces::{Config, Namespaces};
use process::gate::Gate;
use process::{Command, Lifetime, SpawnError, Startup};
use rootfs::RootMode;

use crate::container::Container;
use crate::error::Error;
use crate::layout::{self, Layout};
use crate::limits::Limits;
use crate::manager::{self, CgroupManager};
use crate::namespace::{self, Plan};

/// Start `cmd` with `limits`, in a new cgroup at the top of each of this
/// host's hierarchies, in `rootfs` if given (else the host's files, as in
/// lab 02); returns once it is created, held at its gate until
/// [`Container::start`].
pub fn spawn(
    cmd: &Command,
    config: &Config,
    rootfs: Option<&Path>,
    limits: &Limits,
) -> Result<Container, Error> {
    limits.validate()?;
    let layout = layout::detect()?;
    let cgroup = manager::for_layout(&layout, &manager::random_name());
    spawn_in(cmd, config, rootfs, limits, &layout, cgroup)
}

// ANCHOR: spawn_in
/// [`spawn`], in the `cgroup` given (created here, removed on error), on
/// a host of `layout`.
pub fn spawn_in(
    cmd: &Command,
    config: &Config,
    rootfs: Option<&Path>,
    limits: &Limits,
    layout: &Layout,
    cgroup: Box<dyn CgroupManager>,
) -> Result<Container, Error> {
    limits.validate()?;
    let gate = Gate::temporary().map_err(SpawnError::sys("make the start gate"))?;
    let startup = Startup::new(gate, Lifetime::Attached)?;
    // The cgroup namespace is the child's own step, after it is placed.
    let cgroupns = config.namespaces.cgroup;
    let config = Config {
        namespaces: Namespaces {
            cgroup: false,
            ..config.namespaces
        },
        ..config.clone()
    };
    let plan = Plan::new(layout, rootfs.is_some(), cgroupns);
    // TASK 04.6: create, apply; spawn, adding the pid in the parent's part; remove on error
    cgroup.create()?;
    let started = (|| -> Result<process::Child, Error> {
        cgroup.apply(limits)?;
        let steps = namespace::steps(&plan, cgroupns);
        // Runs while the child waits on the sync pipe: before any step,
        // before exec.
        let mut place = |pid| {
            let placed = cgroup.add(pid);
            placed.map_err(|err| namespaces::Error::Parent(Box::new(err)))
        };
        Ok(match rootfs {
            Some(dir) => {
                let mode = RootMode::Pivot;
                rootfs::spawn::spawn_with(cmd, &config, dir, mode, steps, &mut place, startup)?
            }
            None => namespaces::spawn::spawn_with(cmd, &config, steps, &mut place, startup)?,
        })
    })();
    match started {
        Ok(child) => Ok(Container::new(child, cgroup, *limits)),
        Err(err) => {
            // The child, if there was one, is already reaped.
            let _ = cgroup.remove();
            Err(err)
        }
    }
    // END TASK 04.6
}
// ANCHOR_END: spawn_in
