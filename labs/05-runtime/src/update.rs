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
//! for a new container). A negative `memory.limit`, `pids.limit` or
//! `cpu.quota` (runc's -1) *removes* that limit: `docker update
//! --pids-limit -1` sends `"pids": {"limit": -1}`. Lab 04's limits can
//! only set a value, so [`write_direct`] writes the kernel's "no limit"
//! itself (`max` on v2, `-1` or `max` on v1), and likewise a CPU period
//! given without a quota (lab 04 sets the two together). A field this
//! runtime cannot set is refused by name rather than ignored.
//!
//! runc's own flags for the common limits (`--memory 256m`,
//! `--memory-swap`, `--pids-limit`, `--cpu-quota`, `--cpu-period`,
//! `--cpu-share`) are turned into the same object ([`from_flags`]).

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
    let direct = Direct::of(&resources, file)?;
    // Lab 04's checks of the values (a memory limit below what the
    // kernel takes, …), named as this file's.
    let mut limits = crate::plan::limits_of(&resources).map_err(|err| match err {
        Error::Config { message, .. } => config(file, "resources", message),
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
    if direct.no_memory {
        // write_direct sets the swap with the memory.
        limits.memory_swap = None;
    }
    raise_memsw_first(&layout, &name, &limits, file)?;
    cgroup.apply(&limits)?;
    write_direct(&layout, &name, &direct)?;
    Ok(())
}

/// A problem with `path` of the resources read from `file`.
fn config(file: &Path, path: &str, message: impl Into<String>) -> Error {
    Error::Config {
        file: file.to_path_buf(),
        path: path.into(),
        message: message.into(),
    }
}

/// The container's directory for `controller`: in that controller's v1
/// hierarchy, or in the one v2 tree; `None` where v1 has no such hierarchy.
fn controller_dir(layout: &Layout, name: &str, controller: &str) -> Option<PathBuf> {
    let mount_point = match layout {
        Layout::V2 { mount_point } => mount_point,
        Layout::V1 { .. } => &layout.v1_mount(controller)?.mount_point,
    };
    Some(cgroups::manager::dir_in(mount_point, name))
}

/// What `update` writes itself, beyond lab 04's `apply`: the limits a
/// negative value removes, and a CPU period without a quota.
#[derive(Debug, Default, PartialEq, Eq)]
struct Direct {
    no_memory: bool,
    /// With `no_memory`: no swap limit either (`memory.swap` -1).
    no_swap: bool,
    no_pids: bool,
    no_cpu_quota: bool,
    /// A period that lab 04's `apply` does not write: with a removed
    /// quota, or alone (the quota stays).
    cpu_period: Option<u64>,
}

impl Direct {
    fn of(r: &LinuxResources, file: &Path) -> Result<Direct, Error> {
        let memory = r.memory().as_ref();
        let quota = r.cpu().as_ref().and_then(|c| c.quota()).unwrap_or(0);
        let period = r.cpu().as_ref().and_then(|c| c.period()).filter(|p| *p > 0);
        let direct = Direct {
            no_memory: memory.and_then(|m| m.limit()).is_some_and(|l| l < 0),
            no_swap: memory.and_then(|m| m.swap()).is_some_and(|s| s < 0),
            no_pids: r.pids().as_ref().is_some_and(|p| p.limit() < 0),
            no_cpu_quota: quota < 0,
            cpu_period: period.filter(|_| quota <= 0),
        };
        // A memory+swap total bounds memory: it cannot go with no memory limit.
        if direct.no_memory && memory.and_then(|m| m.swap()).is_some_and(|s| s > 0) {
            let message = "a memory+swap total needs a memory limit (memory.limit is -1)";
            return Err(config(file, "memory.swap", message));
        }
        Ok(direct)
    }
}

/// Write the kernel's "no limit" for each limit a negative value removed,
/// and a period lab 04 does not write. v1's memory+swap total goes first,
/// and goes too: the kernel keeps memory ≤ memory+swap, so no memory limit
/// means no total either. On v2 `memory.swap.max` counts swap alone and
/// stays, unless `memory.swap` is -1 too.
fn write_direct(layout: &Layout, name: &str, direct: &Direct) -> Result<(), Error> {
    let dir = |controller: &str| controller_dir(layout, name, controller);
    let v2 = matches!(layout, Layout::V2 { .. });
    let write = |dir: &Path, file: &str, value: &str| -> Result<(), Error> {
        if cgroups::cgroupfs::has(dir, file) {
            cgroups::cgroupfs::write(dir, file, value)?;
        }
        Ok(())
    };
    if direct.no_memory
        && let Some(dir) = dir("memory")
    {
        if v2 {
            write(&dir, "memory.max", "max")?;
            if direct.no_swap {
                write(&dir, "memory.swap.max", "max")?;
            }
        } else {
            write(&dir, "memory.memsw.limit_in_bytes", "-1")?;
            write(&dir, "memory.limit_in_bytes", "-1")?;
        }
    }
    if direct.no_pids
        && let Some(dir) = dir("pids")
    {
        write(&dir, "pids.max", "max")?;
    }
    if (direct.no_cpu_quota || direct.cpu_period.is_some())
        && let Some(dir) = dir("cpu")
    {
        let period = direct.cpu_period.map(|p| p.to_string());
        if v2 {
            // cpu.max is "QUOTA PERIOD"; "max" alone keeps the period.
            let quota = match direct.no_cpu_quota {
                true => "max".to_owned(),
                false => cgroups::cgroupfs::read(&dir, "cpu.max")?
                    .split_whitespace()
                    .next()
                    .unwrap_or("max")
                    .to_owned(),
            };
            let value = [Some(quota), period].into_iter().flatten();
            write(&dir, "cpu.max", &value.collect::<Vec<_>>().join(" "))?;
        } else {
            if let Some(period) = &period {
                write(&dir, "cpu.cfs_period_us", period)?;
            }
            if direct.no_cpu_quota {
                write(&dir, "cpu.cfs_quota_us", "-1")?;
            }
        }
    }
    Ok(())
}

/// runc's flags for `update`'s common limits (-1: no limit), as given
/// on the command line.
#[derive(Debug, Default, Clone, clap::Args)]
#[group(id = "flags", multiple = true)]
pub struct Flags {
    /// Memory limit: bytes, or with a unit (256m, 1g).
    #[arg(long, group = "limits", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory plus swap, as --memory.
    #[arg(long, group = "limits", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// The most processes (and threads).
    #[arg(long, group = "limits", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// CPU time per period, in microseconds.
    #[arg(long, group = "limits", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// The period of --cpu-quota, in microseconds.
    #[arg(long, group = "limits")]
    pub cpu_period: Option<u64>,
    /// The relative CPU weight (shares).
    #[arg(long, group = "limits")]
    pub cpu_share: Option<u64>,
}

/// The `linux.resources` object runc's flags stand for (JSON), so that
/// flags and `--resources` take one road.
pub fn from_flags(flags: &Flags) -> Result<String, Error> {
    let bytes = |flag: &'static str, value: &Option<String>| -> Result<Option<i64>, Error> {
        match value.as_deref().map(str::trim) {
            None => Ok(None),
            Some("-1") => Ok(Some(-1)),
            Some(text) => {
                let n = cgroups::units::parse_bytes(flag, text).map_err(cgroups::Error::from)?;
                i64::try_from(n).map(Some).map_err(|_| {
                    cgroups::Error::from(cgroups::error::LimitError {
                        flag,
                        value: text.to_owned(),
                        reason: "too large".into(),
                    })
                    .into()
                })
            }
        }
    };
    let mut resources = serde_json::Map::new();
    let memory = bytes("--memory", &flags.memory)?;
    let swap = bytes("--memory-swap", &flags.memory_swap)?;
    if memory.is_some() || swap.is_some() {
        resources.insert(
            "memory".into(),
            serde_json::json!({ "limit": memory, "swap": swap }),
        );
    }
    if let Some(limit) = flags.pids_limit {
        resources.insert("pids".into(), serde_json::json!({ "limit": limit }));
    }
    if flags.cpu_quota.is_some() || flags.cpu_period.is_some() || flags.cpu_share.is_some() {
        resources.insert(
            "cpu".into(),
            serde_json::json!({
                "quota": flags.cpu_quota,
                "period": flags.cpu_period,
                "shares": flags.cpu_share,
            }),
        );
    }
    Ok(serde_json::Value::Object(resources).to_string())
}

/// The resources object, or an error naming the JSON path of the problem.
fn parse(text: &str, file: &Path) -> Result<LinuxResources, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de)
        .map_err(|err| config(file, &err.path().to_string(), err.inner().to_string()))
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
    let Some(dir) = controller_dir(layout, name, "memory") else {
        return Ok(None);
    };
    let file = match layout {
        Layout::V2 { .. } => "memory.swap.max",
        Layout::V1 { .. } => "memory.memsw.limit_in_bytes",
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
    let (Some(memory), Layout::V1 { .. }) = (limits.memory, layout) else {
        return Ok(());
    };
    let Some(dir) = controller_dir(layout, name, "memory") else {
        return Ok(());
    };
    const MEMSW: &str = "memory.memsw.limit_in_bytes";
    if !cgroups::cgroupfs::has(&dir, MEMSW) {
        return Ok(());
    }
    let current = cgroups::cgroupfs::read_u64(&dir, MEMSW)?;
    let total = match limits.swap_total() {
        // The swap kept (current_swap) cannot hold the new memory limit.
        Some(cgroups::Swap::Total(total)) if total < memory => {
            let message = format!(
                "{memory} is above the container's memory+swap total {total}: \
                 give a new total too (memory.swap; docker update --memory-swap)"
            );
            return Err(config(file, "memory.limit", message));
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
    fn runc_flags_are_the_resources_object_they_stand_for() {
        let json = |flags: &Flags| -> serde_json::Value {
            serde_json::from_str(&from_flags(flags).unwrap()).unwrap()
        };
        let flags = Flags {
            memory: Some("256m".into()),
            memory_swap: Some("-1".into()),
            pids_limit: Some(-1),
            cpu_quota: Some(50_000),
            cpu_period: Some(100_000),
            cpu_share: None,
        };
        assert_eq!(
            json(&flags),
            serde_json::json!({
                "memory": { "limit": 256 << 20, "swap": -1 },
                "pids": { "limit": -1 },
                "cpu": { "quota": 50_000, "period": 100_000, "shares": null }
            })
        );
        assert_eq!(json(&Flags::default()), serde_json::json!({}));
        let bad = Flags {
            memory_swap: Some("1x".into()),
            ..Flags::default()
        };
        let err = from_flags(&bad).unwrap_err().to_string();
        assert!(err.contains("--memory-swap"), "{err}");
    }

    #[test]
    fn a_negative_value_removes_a_limit_and_a_period_is_written_alone() {
        let direct = |text: &str| Direct::of(&parse(text, Path::new("f")).unwrap(), Path::new("f"));
        let all = r#"{"memory":{"limit":-1,"swap":-1},"pids":{"limit":-1},"cpu":{"quota":-1,"period":50000}}"#;
        assert_eq!(
            direct(all).unwrap(),
            Direct {
                no_memory: true,
                no_swap: true,
                no_pids: true,
                no_cpu_quota: true,
                cpu_period: Some(50_000),
            }
        );
        // As Docker sends what it was not asked to change: nothing removed.
        let zeros = r#"{"memory":{"limit":0},"pids":{"limit":0},"cpu":{"quota":0,"period":0}}"#;
        assert_eq!(direct(zeros).unwrap(), Direct::default());
        // A period alone is written here; with a quota, lab 04 writes both.
        let alone = direct(r#"{"cpu":{"period":50000}}"#).unwrap();
        assert_eq!(alone.cpu_period, Some(50_000));
        let both = direct(r#"{"cpu":{"quota":20000,"period":50000}}"#).unwrap();
        assert_eq!(both, Direct::default());
        let err = direct(r#"{"memory":{"limit":-1,"swap":1073741824}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("memory.swap"), "{err}");
    }

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
