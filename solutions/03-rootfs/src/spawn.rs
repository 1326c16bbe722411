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
use namespaces::child::step;
use process::child::StepResult;
use process::spawn::Child;
use process::{Command, DEFAULT_PATH};

use crate::error::Error;
use crate::layout::Layout;
use crate::{dev, mask, mounts, pivot, resolve};

pub const STEP_PRIVATE: u32 = 10;
pub const STEP_BIND: u32 = 11;
pub const STEP_PROC_SYS: u32 = 12;
pub const STEP_DEV: u32 = 13;
pub const STEP_PIVOT: u32 = 14;
pub const STEP_MASK: u32 = 15;

/// Every setup step of lab 03, in order.
pub const STEPS: [u32; 6] = [
    STEP_PRIVATE,
    STEP_BIND,
    STEP_PROC_SYS,
    STEP_DEV,
    STEP_PIVOT,
    STEP_MASK,
];

/// The name of a setup step (lab 03's or lab 02's), for error messages.
pub fn step_name(step: u32) -> &'static str {
    match step {
        STEP_PRIVATE => "make the mounts private",
        STEP_BIND => "bind-mount the rootfs onto itself",
        STEP_PROC_SYS => "mount /proc and /sys",
        STEP_DEV => "set up /dev",
        STEP_PIVOT => "change the root",
        STEP_MASK => "mask paths",
        _ => namespaces::child::step_name(step),
    }
}

/// How the child changes its root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RootMode {
    /// `pivot_root`, and the host's root detached: the real thing.
    #[default]
    Pivot,
    /// Only `chroot`: escapable. For the breakout demonstration only.
    UnsafeChroot,
}

// ANCHOR: spawn
/// Start `cmd` in new namespaces with `rootfs` as its root, held on the sync
/// pipe until [`Child::start`]. A bad rootfs or a program missing from it is
/// an error before anything is created.
pub fn spawn(
    cmd: &Command,
    config: &Config,
    rootfs: &Path,
    mode: RootMode,
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
    // TASK 03.8: run the rootfs steps, in order, in the child after lab 02's
    let fail_at = config.fail_at;
    let mut steps = || -> StepResult {
        step(fail_at, STEP_PRIVATE, || mounts::make_private(&layout))?;
        step(fail_at, STEP_BIND, || mounts::bind_root(&layout))?;
        step(fail_at, STEP_PROC_SYS, || mounts::mount_proc_sys(&layout))?;
        step(fail_at, STEP_DEV, || dev::mount_dev(&layout))?;
        step(fail_at, STEP_PIVOT, || match mode {
            RootMode::Pivot => pivot::pivot(&layout),
            RootMode::UnsafeChroot => pivot::chroot_only(&layout),
        })?;
        step(fail_at, STEP_MASK, || mask::mask_paths(&layout))
    };
    Ok(namespaces::spawn::spawn_with(
        cmd, config, step_name, &mut steps,
    )?)
    // END TASK 03.8
}
// ANCHOR_END: spawn
