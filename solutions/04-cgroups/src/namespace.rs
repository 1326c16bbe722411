//! A cgroup namespace, and the cgroup filesystem seen from inside.
//!
//! A cgroup namespace changes one thing: the cgroup that a process sees as
//! `/`. The namespace's root is the cgroup its creator was in *when it was
//! created*. Inside, `/proc/self/cgroup` reads `0::/` instead of
//! `0::/dockyard-3f2a…`, and a cgroup filesystem mounted inside shows that
//! cgroup as its top: the container cannot name, let alone reach, the
//! host's other cgroups through it.
//!
//! That is why the order matters. lab 02 creates every namespace with the
//! `clone` — including the cgroup one, whose root would then be the
//! *engine's* cgroup, before the parent moved the child anywhere. So this
//! lab clones without `CLONE_NEWCGROUP`, lets the parent place the child,
//! and only then has the child `unshare(CLONE_NEWCGROUP)` as a setup step,
//! as runc does. The new namespace's root is the container's own cgroup.
//!
//! Then, in the new root, the cgroup filesystem is mounted at
//! `/sys/fs/cgroup`, read-only, as Docker does: on v2, one `cgroup2`
//! mount; on v1 and hybrid, a small tmpfs holding one `cgroup` mount per
//! hierarchy (and the `cgroup2` one at `unified`). Mounted from inside the
//! namespace, each shows the container's cgroup as its top. The plan (the
//! paths and options as C strings) is made by the parent: the child does
//! not allocate.

use std::ffi::CString;

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::stat::Mode;
use process::Steps;

use crate::layout::Layout;

pub const STEP_CGROUPNS: &str = "enter a new cgroup namespace";
pub const STEP_CGROUPFS: &str = "mount the cgroup filesystem";

/// Lab 04's setup steps, in order.
pub const STEPS: [&str; 2] = [STEP_CGROUPNS, STEP_CGROUPFS];

const NONE: Option<&str> = None;
const TOP: &str = "/sys/fs/cgroup";

/// What to mount at `/sys/fs/cgroup` inside the container.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Nothing: no cgroup namespace, or no rootfs of its own (then the
    /// mounts would land in a copy of the host's mount table).
    Nothing,
    /// One cgroup2 mount.
    V2,
    /// A tmpfs, then per hierarchy (path, controllers), then cgroup2 at
    /// `unified` if the host has it.
    V1 {
        hierarchies: Vec<(CString, CString)>,
        unified: Option<CString>,
    },
}

impl Plan {
    /// The mounts for `layout`, or nothing when there is no rootfs or no
    /// cgroup namespace.
    pub fn new(layout: &Layout, rootfs: bool, cgroupns: bool) -> Plan {
        if !rootfs || !cgroupns {
            return Plan::Nothing;
        }
        let c = |s: String| CString::new(s).expect("no NUL in a mount point");
        match layout {
            Layout::V2 { .. } => Plan::V2,
            Layout::V1 {
                hierarchies,
                unified,
            } => Plan::V1 {
                hierarchies: hierarchies
                    .iter()
                    .map(|h| {
                        let name = h.controllers.join(",");
                        let dir = h
                            .mount_point
                            .file_name()
                            .map_or(name.clone(), |n| n.to_string_lossy().into_owned());
                        (c(format!("{TOP}/{dir}")), c(name))
                    })
                    .collect(),
                unified: unified.as_ref().map(|_| c(format!("{TOP}/unified"))),
            },
        }
    }
}

/// The steps: a new cgroup namespace (if asked for), then the mounts.
pub fn steps(plan: &Plan, cgroupns: bool) -> Steps<'_> {
    let mut steps = Steps::new();
    steps
        .add(STEP_CGROUPNS, move || {
            if cgroupns {
                unshare(CloneFlags::CLONE_NEWCGROUP)
            } else {
                Ok(())
            }
        })
        .add(STEP_CGROUPFS, move || mount_cgroupfs(plan));
    steps
}

/// In the child, after `pivot_root` and the cgroup namespace: mount the
/// plan. No allocation.
fn mount_cgroupfs(plan: &Plan) -> Result<(), Errno> {
    let read_only = rootfs::mounts::PSEUDO | MsFlags::MS_RDONLY;
    match plan {
        Plan::Nothing => Ok(()),
        Plan::V2 => mount(Some("cgroup2"), TOP, Some("cgroup2"), read_only, NONE),
        Plan::V1 {
            hierarchies,
            unified,
        } => {
            let tmpfs_flags = rootfs::mounts::PSEUDO;
            mount(
                Some("tmpfs"),
                TOP,
                Some("tmpfs"),
                tmpfs_flags,
                Some("mode=755"),
            )?;
            for (dir, controllers) in hierarchies {
                nix::unistd::mkdir(dir.as_c_str(), Mode::from_bits_truncate(0o755))?;
                let options = Some(controllers.as_c_str());
                mount(
                    Some("cgroup"),
                    dir.as_c_str(),
                    Some("cgroup"),
                    read_only,
                    options,
                )?;
            }
            if let Some(dir) = unified {
                nix::unistd::mkdir(dir.as_c_str(), Mode::from_bits_truncate(0o755))?;
                mount(
                    Some("cgroup2"),
                    dir.as_c_str(),
                    Some("cgroup2"),
                    read_only,
                    NONE,
                )?;
            }
            // The tmpfs itself read-only too, as Docker leaves it.
            let remount = MsFlags::MS_REMOUNT | read_only;
            mount(NONE, TOP, NONE, remount, Some("mode=755"))
        }
    }
}
