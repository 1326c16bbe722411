//! `update ID --resources FILE`: new limits for a container that exists
//! (`docker update`).
//!
//! containerd's shim runs `runc update --resources - ID` with the new
//! `linux.resources` object (the runtime spec's `LinuxResources`) on
//! stdin. The limits are lab 04's, written into the container's cgroup
//! where it is; nothing is restarted, and the state file does not change
//! (the cgroup is where the limits live).
//!
//! One order matters on cgroup v1: the kernel keeps `memory.limit_in_bytes`
//! ≤ `memory.memsw.limit_in_bytes` at every write, and refuses (`EINVAL`)
//! a write that would break it. Lab 04's `apply` writes memory first, right
//! for a new cgroup (memsw starts unlimited) and for a lower limit; a
//! *higher* memory limit than the current memory+swap total must follow a
//! higher memsw. runc orders the two writes the same way. (v2 has no such
//! rule: `memory.swap.max` counts swap alone.)
//!
//! Zero, or an absent field, means "leave it" (that is what Docker sends
//! for what `docker update` was not asked to change) — swap too: a new
//! memory limit without a swap total keeps the swap the container has
//! (where `create` would give it as much swap as memory, Docker's default
//! for a new container). A field this runtime cannot set is refused by
//! name rather than ignored.

use std::path::{Path, PathBuf};

use cgroups::layout::Layout;
use oci_spec::runtime::LinuxResources;

use crate::container::{self, require};
use crate::error::Error;
use crate::state::Status;

/// Set the limits of `resources` (JSON, from `file` — for messages) on
/// container `id`'s cgroup.
pub fn update(root: &Path, id: &str, resources: &str, file: &Path) -> Result<(), Error> {
    let (state, status) = container::load(root, id)?;
    let alive = [Status::Created, Status::Running, Status::Paused];
    let reason = "only a created, running or paused container can be updated";
    require(id, status, &alive, reason)?;
    let resources = parse(resources, file)?;
    refuse_unsupported(&resources)?;
    // Lab 04's checks of the values (a memory limit below what the
    // kernel takes, …), named as this file's.
    let mut limits = crate::plan::limits_of(&resources).map_err(|err| match err {
        Error::Config { message, .. } => Error::Config {
            file: file.to_path_buf(),
            path: "resources".into(),
            message,
        },
        other => other,
    })?;
    let layout = cgroups::layout::detect().map_err(cgroups::Error::from)?;
    let Some(name) = name_of(&state.cgroup_dirs, &layout) else {
        return Err(Error::Unsupported {
            field: "update",
            why: format!("container {id:?} has no cgroup this host's layout knows"),
        });
    };
    let cgroup = cgroups::manager::for_layout(&layout, &name);
    if limits.memory.is_some() && limits.memory_swap.is_none() {
        limits.memory_swap = current_swap(&layout, &name, limits.memory)?;
    }
    raise_memsw_first(&layout, &name, &limits, file)?;
    cgroup.apply(&limits)?;
    Ok(())
}

/// The resources object, or an error naming the JSON path of the problem.
fn parse(text: &str, file: &Path) -> Result<LinuxResources, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|err| Error::Config {
        file: file.to_path_buf(),
        path: err.path().to_string(),
        message: err.inner().to_string(),
    })
}

/// What `update` would otherwise silently leave as it was.
fn refuse_unsupported(r: &LinuxResources) -> Result<(), Error> {
    let refuse = |field: &'static str| {
        Err(Error::Unsupported {
            field,
            why: "this runtime's cgroups (lab 04) do not set it".into(),
        })
    };
    if let Some(cpu) = r.cpu() {
        if cpu.cpus().as_deref().is_some_and(|c| !c.is_empty()) {
            return refuse("cpu.cpus");
        }
        if cpu.mems().as_deref().is_some_and(|m| !m.is_empty()) {
            return refuse("cpu.mems");
        }
    }
    if let Some(memory) = r.memory()
        && memory.reservation().is_some_and(|v| v > 0)
    {
        return refuse("memory.reservation");
    }
    if r.block_io()
        .as_ref()
        .and_then(|b| b.weight())
        .is_some_and(|w| w > 0)
    {
        return refuse("blockIO.weight");
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        return refuse("hugepageLimits");
    }
    Ok(())
}

/// The cgroup's name under its hierarchy's mount point (what lab 04's
/// drivers are made from), from the directories `create` recorded.
fn name_of(dirs: &[PathBuf], layout: &Layout) -> Option<String> {
    let mounts: Vec<&Path> = match layout {
        Layout::V2 { mount_point } => vec![mount_point.as_path()],
        Layout::V1 {
            hierarchies,
            unified,
        } => hierarchies
            .iter()
            .map(|h| h.mount_point.as_path())
            .chain(unified.as_deref())
            .collect(),
    };
    dirs.iter().find_map(|dir| {
        mounts
            .iter()
            .find_map(|m| dir.strip_prefix(m).ok())
            .map(|name| name.to_string_lossy().into_owned())
    })
}

/// The swap the container has now, as a memory+swap total for the new
/// `memory` limit: v1's memsw total as it is; v2's `memory.swap.max` (swap
/// alone) plus the new memory. `None` where the kernel accounts no swap.
fn current_swap(
    layout: &Layout,
    name: &str,
    memory: Option<u64>,
) -> Result<Option<cgroups::Swap>, Error> {
    // The kernel's "no limit" on v1: PAGE_COUNTER_MAX pages, about 2^63 bytes.
    const V1_UNLIMITED: u64 = 1 << 62;
    let (dir, file) = match layout {
        Layout::V2 { mount_point } => (
            cgroups::manager::dir_in(mount_point, name),
            "memory.swap.max",
        ),
        Layout::V1 { .. } => match layout.v1_mount("memory") {
            Some(mount) => (
                cgroups::manager::dir_in(&mount.mount_point, name),
                "memory.memsw.limit_in_bytes",
            ),
            None => return Ok(None),
        },
    };
    if !cgroups::cgroupfs::has(&dir, file) {
        return Ok(None);
    }
    let text = cgroups::cgroupfs::read(&dir, file)?;
    let text = text.trim();
    let swap = match (layout, text.parse::<u64>()) {
        (_, Err(_)) | (Layout::V1 { .. }, Ok(V1_UNLIMITED..)) => cgroups::Swap::Unlimited,
        (Layout::V1 { .. }, Ok(total)) => cgroups::Swap::Total(total),
        (Layout::V2 { .. }, Ok(swap)) => {
            cgroups::Swap::Total(swap.saturating_add(memory.unwrap_or(0)))
        }
    };
    Ok(Some(swap))
}

/// v1: when the new memory limit is above the current memory+swap total,
/// write the new total first (see the module's docs).
fn raise_memsw_first(
    layout: &Layout,
    name: &str,
    limits: &cgroups::Limits,
    file: &Path,
) -> Result<(), Error> {
    let (Some(memory), Some(mount)) = (limits.memory, layout.v1_mount("memory")) else {
        return Ok(());
    };
    let dir = cgroups::manager::dir_in(&mount.mount_point, name);
    const MEMSW: &str = "memory.memsw.limit_in_bytes";
    if !cgroups::cgroupfs::has(&dir, MEMSW) {
        return Ok(());
    }
    let current = cgroups::cgroupfs::read_u64(&dir, MEMSW)?;
    let total = match limits.swap_total() {
        // The swap kept (current_swap) cannot hold the new memory limit.
        Some(cgroups::Swap::Total(total)) if total < memory => {
            return Err(Error::Config {
                file: file.to_path_buf(),
                path: "memory.limit".into(),
                message: format!(
                    "{memory} is above the container's memory+swap total {total}: \
                     give a new total too (memory.swap; docker update --memory-swap)"
                ),
            });
        }
        Some(cgroups::Swap::Total(total)) => total.to_string(),
        Some(cgroups::Swap::Unlimited) => "-1".to_owned(),
        None => return Ok(()),
    };
    if memory > current {
        cgroups::cgroupfs::write(&dir, MEMSW, &total)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cgroups::layout::V1Mount;

    #[test]
    fn the_name_is_a_recorded_dir_under_a_mount_point() {
        let hybrid = Layout::V1 {
            hierarchies: vec![V1Mount {
                controllers: vec!["memory".into()],
                mount_point: "/sys/fs/cgroup/memory".into(),
            }],
            unified: Some("/sys/fs/cgroup/unified".into()),
        };
        let dirs = [
            PathBuf::from("/elsewhere/x"),
            PathBuf::from("/sys/fs/cgroup/unified/docker/abc"),
        ];
        assert_eq!(name_of(&dirs, &hybrid).as_deref(), Some("docker/abc"));
        let v2 = Layout::V2 {
            mount_point: "/sys/fs/cgroup".into(),
        };
        let dirs = [PathBuf::from("/sys/fs/cgroup/dockyard-1")];
        assert_eq!(name_of(&dirs, &v2).as_deref(), Some("dockyard-1"));
        assert_eq!(name_of(&[PathBuf::from("/tmp/x")], &v2), None);
    }
}
