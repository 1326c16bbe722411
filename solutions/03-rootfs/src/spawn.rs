//! Starting a container in a root filesystem of its own.
//!
//! Lab 02's `spawn_with` runs extra steps in the child after its own
//! (hostname, `lo`): here, the rootfs steps, in an order that matters —
//!
//! 1. private propagation first, or every later mount leaks to the host;
//! 2. the bind mount, which `pivot_root` needs;
//! 3. `/proc`, `/sys`, `/dev` mounted *into the rootfs* while the host's
//!    `/dev` is still reachable (rootless binds its device nodes);
//! 4. `pivot_root`, after which the host is gone;
//! 5. the masked paths, at their final places under the new `/proc`.
//!
//! Every step runs in the child's own mount namespace, so whatever fails,
//! nothing stays mounted on the host: the namespace, with everything
//! mounted in it, goes away with the child.

use std::path::Path;

use namespaces::Config;
use namespaces::spawn::ParentPart;
use process::gate::Gate;
use process::{Child, Command, DEFAULT_PATH, Lifetime, SpawnError, Startup, Steps};

use crate::error::Error;
use crate::layout::Layout;
use crate::{dev, mask, mounts, pivot, resolve};

pub const STEP_PRIVATE: &str = "make the mounts private";
pub const STEP_BIND: &str = "bind-mount the rootfs onto itself";
pub const STEP_PROC_SYS: &str = "mount /proc and /sys";
pub const STEP_DEV: &str = "set up /dev";
pub const STEP_PIVOT: &str = "change the root";
pub const STEP_MASK: &str = "mask paths";

/// Every setup step of lab 03, in order.
pub const STEPS: [&str; 6] = [
    STEP_PRIVATE,
    STEP_BIND,
    STEP_PROC_SYS,
    STEP_DEV,
    STEP_PIVOT,
    STEP_MASK,
];

/// How the child changes its root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RootMode {
    /// `pivot_root`, and the host's root detached: the real thing.
    #[default]
    Pivot,
    /// Only `chroot`: escapable. For the breakout demonstration only.
    UnsafeChroot,
}

/// Start `cmd` in new namespaces with `rootfs` as its root; returns once
/// it is created, held at its gate until [`Child::start`]. A bad rootfs or
/// a program missing from it is an error before anything is created.
pub fn spawn(
    cmd: &Command,
    config: &Config,
    rootfs: &Path,
    mode: RootMode,
) -> Result<Child, Error> {
    let gate = Gate::temporary().map_err(SpawnError::sys("make the start gate"))?;
    let startup = Startup::new(gate, Lifetime::Attached)?;
    spawn_with(
        cmd,
        config,
        rootfs,
        mode,
        Steps::new(),
        &mut |_| Ok(()),
        startup,
    )
}

// ANCHOR: spawn
/// [`spawn`], with a later lab's `extra` steps (run after the rootfs
/// steps, in the new root) and `parent_part` (see lab 02's `spawn_with`),
/// and the `startup` (gate, lifetime) the caller chose.
pub fn spawn_with(
    cmd: &Command,
    config: &Config,
    rootfs: &Path,
    mode: RootMode,
    extra: Steps<'_>,
    parent_part: ParentPart<'_>,
    startup: Startup,
) -> Result<Child, Error> {
    config.validate()?; // before touching the rootfs
    if !config.namespaces.mount {
        let reason = "a root filesystem needs a mount namespace".into();
        return Err(Error::Rootfs {
            path: rootfs.to_path_buf(),
            reason,
        });
    }
    let layout = Layout::new(rootfs)?;
    let path = cmd.get_env("PATH").unwrap_or(DEFAULT_PATH.as_ref());
    if resolve::find_program(&layout.root, cmd.program(), path).is_none() {
        let program = cmd.program().to_string_lossy().into_owned();
        return Err(Error::NotFound {
            program,
            rootfs: layout.root,
        });
    }
    let mut steps = rootfs_steps(&layout, mode);
    steps.append(extra);
    let spawned = namespaces::spawn::spawn_with(cmd, config, steps, parent_part, startup);
    Ok(spawned?)
}
// ANCHOR_END: spawn

// ANCHOR: steps
/// The rootfs steps, in the order they must run, for the child to run
/// after lab 02's.
pub fn rootfs_steps(layout: &Layout, mode: RootMode) -> Steps<'_> {
    // TASK 03.8: add the rootfs steps (STEPS), in order, each calling its module
    let mut steps = Steps::new();
    steps
        .add(STEP_PRIVATE, || mounts::make_private(layout))
        .add(STEP_BIND, || mounts::bind_root(layout))
        .add(STEP_PROC_SYS, || mounts::mount_proc_sys(layout))
        .add(STEP_DEV, || dev::mount_dev(layout))
        .add(STEP_PIVOT, move || match mode {
            RootMode::Pivot => pivot::pivot(layout),
            RootMode::UnsafeChroot => pivot::chroot_only(layout),
        })
        .add(STEP_MASK, || mask::mask_paths(layout));
    steps
    // END TASK 03.8
}
// ANCHOR_END: steps
