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

/// `--cpu-shares` (v1's `cpu.shares`, 2–262 144) as v2's `cpu.weight`
/// (1–10 000), mapped linearly the way runc and crun do: 2 → 1,
/// 262 144 → 10 000, and so 1024 → 39.
pub fn weight_from_shares(shares: u64) -> u64 {
    // TASK 04.3: map [2, 262144] linearly onto [1, 10000]: 1 + (shares - 2) * 9999 / 262142
    todo!("04.3: map [2, 262144] linearly onto [1, 10000]: 1 + (shares - 2) * 9999 / 262142")
    // END TASK 04.3
}

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

    fn apply(&self, limits: &Limits) -> Result<(), CgroupError> {
        // TASK 04.3: memory.max, memory.swap.max (swap only), pids.max, cpu.max, cpu.weight
        todo!("04.3: memory.max, memory.swap.max (swap only), pids.max, cpu.max, cpu.weight")
        // END TASK 04.3
    }

    fn oom_killed(&self) -> Result<bool, CgroupError> {
        // TASK 04.7: memory.events' oom_kill counter (not "oom": that counts reaching the limit)
        todo!("04.7: memory.events' oom_kill counter (not \"oom\": that counts reaching the limit)")
        // END TASK 04.7
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        // TASK 04.8: memory.current and .peak, pids.current, cpu.stat usage_usec, nr_throttled
        todo!("04.8: memory.current and .peak, pids.current, cpu.stat usage_usec, nr_throttled")
        // END TASK 04.8
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        freeze(&self.dir, true)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        freeze(&self.dir, false)
    }

    fn kill_all(&self) -> Result<(), CgroupError> {
        // TASK 04.9: write 1 to cgroup.kill (5.14+): the kernel kills every process
        todo!("04.9: write 1 to cgroup.kill (5.14+): the kernel kills every process")
        // END TASK 04.9
    }
}

/// Freeze (or thaw) the v2 cgroup `dir` and wait until the kernel says it
/// is done: `cgroup.freeze` is a request; `frozen` in `cgroup.events` is
/// the answer, once every process has stopped. Also used by the hybrid
/// driver, whose v2 tree has `cgroup.freeze` too.
pub fn freeze(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    // TASK 04.9: write 1/0 to cgroup.freeze; wait for cgroup.events' "frozen 1"/"frozen 0"
    todo!("04.9: write 1/0 to cgroup.freeze; wait for cgroup.events' \"frozen 1\"/\"frozen 0\"")
    // END TASK 04.9
}
