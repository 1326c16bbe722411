//! The cgroup v2 driver: one tree, one directory per cgroup.
//!
//! | limit            | file               | value                                  |
//! |------------------|--------------------|----------------------------------------|
//! | `--memory`       | `memory.max`       | bytes; `max` is none                   |
//! | `--memory-swap`  | `memory.swap.max`  | swap **alone**: total − memory         |
//! | `--pids-limit`   | `pids.max`         | a count                                |
//! | `--cpus`         | `cpu.max`          | `"QUOTA PERIOD"` in µs, one write      |
//! | `--cpu-shares`   | `cpu.weight`       | 1–10 000, default 100 (v1: 2–262 144, default 1024) |
//!
//! Two v2 rules shape the code. **Controllers are delegated top-down**: a
//! cgroup has a controller's files only if its parent lists the controller
//! in `cgroup.subtree_control` — so [`V2::create`] enables memory, pids and
//! cpu in the parent first. And **no internal processes**: a cgroup other
//! than the root that has processes cannot delegate controllers to
//! children; the container's cgroup is a leaf, so that never bites here.
//!
//! `memory.high` is a different limit from `memory.max`: past `high`, the
//! kernel throttles and reclaims but never kills; past `max` (after
//! reclaim fails) the OOM killer runs. Docker's `--memory` is `max`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cgroupfs;
use crate::error::CgroupError;
use crate::limits::{Limits, Swap};
use crate::manager::{CgroupManager, Stats, dir_in};

/// The controllers a container's cgroup needs.
pub const CONTROLLERS: [&str; 3] = ["memory", "pids", "cpu"];

/// How long freezing may take before it is an error.
pub const FREEZE_PATIENCE: Duration = Duration::from_secs(5);

/// A cgroup in a cgroup2 tree.
#[derive(Debug, Clone)]
pub struct V2 {
    /// The tree's mount point: the parent of the cgroup.
    parent: PathBuf,
    dir: PathBuf,
}

impl V2 {
    /// The cgroup `name` at the top of the tree mounted at `mount_point`.
    pub fn new(mount_point: &Path, name: &str) -> V2 {
        V2 {
            parent: mount_point.to_path_buf(),
            dir: dir_in(mount_point, name),
        }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

// ANCHOR: weight
/// `--cpu-shares` (v1's `cpu.shares`, 2–262 144) as v2's `cpu.weight`
/// (1–10 000), mapped linearly the way runc and crun do: 2 → 1,
/// 262 144 → 10 000, and so 1024 → 39.
pub fn weight_from_shares(shares: u64) -> u64 {
    // TASK 04.3: map [2, 262144] linearly onto [1, 10000]: 1 + (shares - 2) * 9999 / 262142
    1 + (shares.clamp(2, 262_144) - 2) * 9_999 / 262_142
    // END TASK 04.3
}
// ANCHOR_END: weight

/// Enable `CONTROLLERS` in `parent`'s `cgroup.subtree_control`, those the
/// parent has and has not enabled yet.
fn enable_controllers(parent: &Path) -> Result<(), CgroupError> {
    let available = cgroupfs::read(parent, "cgroup.controllers").unwrap_or_default();
    let enabled = cgroupfs::read(parent, "cgroup.subtree_control").unwrap_or_default();
    for controller in CONTROLLERS {
        let has = |list: &str| list.split(' ').any(|c| c == controller);
        if has(&available) && !has(&enabled) {
            cgroupfs::write(parent, "cgroup.subtree_control", &format!("+{controller}"))?;
        }
    }
    Ok(())
}

impl CgroupManager for V2 {
    fn dirs(&self) -> Vec<PathBuf> {
        vec![self.dir.clone()]
    }

    fn create(&self) -> Result<(), CgroupError> {
        enable_controllers(&self.parent)?;
        cgroupfs::create(&self.dir)
    }

    // ANCHOR: apply
    fn apply(&self, limits: &Limits) -> Result<(), CgroupError> {
        // TASK 04.3: memory.max, memory.swap.max (swap only), pids.max, cpu.max, cpu.weight
        let dir = &self.dir;
        if let Some(memory) = limits.memory {
            cgroupfs::write(dir, "memory.max", &memory.to_string())?;
            // v2 limits swap alone; Docker's flag is memory + swap.
            let swap = match limits.swap_total() {
                Some(Swap::Total(total)) => Some(total.saturating_sub(memory).to_string()),
                Some(Swap::Unlimited) => Some("max".to_owned()),
                None => None,
            };
            // Only where the kernel accounts swap (the file exists).
            if let Some(swap) = swap
                && cgroupfs::has(dir, "memory.swap.max")
            {
                cgroupfs::write(dir, "memory.swap.max", &swap)?;
            }
        }
        if let Some(pids) = limits.pids {
            cgroupfs::write(dir, "pids.max", &pids.to_string())?;
        }
        if let Some(cpu) = limits.cpu {
            // One write of both: quota first, then period.
            let value = format!("{} {}", cpu.quota_us, cpu.period_us);
            cgroupfs::write(dir, "cpu.max", &value)?;
        }
        if let Some(shares) = limits.cpu_shares {
            let weight = weight_from_shares(shares);
            cgroupfs::write(dir, "cpu.weight", &weight.to_string())?;
        }
        Ok(())
        // END TASK 04.3
    }
    // ANCHOR_END: apply

    // ANCHOR: oom
    fn oom_killed(&self) -> Result<bool, CgroupError> {
        // TASK 04.7: memory.events' oom_kill counter (not "oom": that counts reaching the limit)
        let kills = cgroupfs::read_key(&self.dir, "memory.events", "oom_kill")?;
        Ok(kills.unwrap_or(0) > 0)
        // END TASK 04.7
    }
    // ANCHOR_END: oom

    // ANCHOR: stats
    fn stats(&self) -> Result<Stats, CgroupError> {
        // TASK 04.8: memory.current and .peak, pids.current, cpu.stat usage_usec, nr_throttled
        let dir = &self.dir;
        let memory_peak = if cgroupfs::has(dir, "memory.peak") {
            Some(cgroupfs::read_u64(dir, "memory.peak")?)
        } else {
            None
        };
        Ok(Stats {
            memory_current: cgroupfs::read_u64(dir, "memory.current")?,
            memory_peak,
            pids_current: cgroupfs::read_u64(dir, "pids.current")?,
            cpu_usage_us: cgroupfs::read_key(dir, "cpu.stat", "usage_usec")?.unwrap_or(0),
            nr_throttled: cgroupfs::read_key(dir, "cpu.stat", "nr_throttled")?,
        })
        // END TASK 04.8
    }
    // ANCHOR_END: stats

    fn freeze(&self) -> Result<(), CgroupError> {
        freeze(&self.dir, true)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        freeze(&self.dir, false)
    }

    // ANCHOR: kill
    fn kill_all(&self) -> Result<(), CgroupError> {
        // TASK 04.9: write 1 to cgroup.kill (5.14+): the kernel kills every process
        cgroupfs::write(&self.dir, "cgroup.kill", "1")
        // END TASK 04.9
    }
    // ANCHOR_END: kill
}

/// Freeze (or thaw) the v2 cgroup `dir` and wait until the kernel says it
/// is done: `cgroup.freeze` is a request; `frozen` in `cgroup.events` is
/// the answer, once every process has stopped. Also used by the hybrid
/// driver, whose v2 tree has `cgroup.freeze` too.
// ANCHOR: freeze
pub fn freeze(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    // TASK 04.9: write 1/0 to cgroup.freeze; wait for cgroup.events' "frozen 1"/"frozen 0"
    let want = if frozen { 1 } else { 0 };
    cgroupfs::write(dir, "cgroup.freeze", &want.to_string())?;
    let done = cgroupfs::wait_until(FREEZE_PATIENCE, || {
        Ok(cgroupfs::read_key(dir, "cgroup.events", "frozen")? == Some(want))
    })?;
    if done {
        Ok(())
    } else {
        let source = std::io::Error::from_raw_os_error(libc::ETIMEDOUT);
        Err(CgroupError::new("wait for cgroup.events in", dir, source))
    }
    // END TASK 04.9
}
// ANCHOR_END: freeze
