//! The cgroup v1 driver: one tree per controller, so one directory per
//! controller for the same cgroup.
//!
//! | limit            | file (tree)                              | value                    |
//! |------------------|------------------------------------------|--------------------------|
//! | `--memory`       | `memory.limit_in_bytes` (memory)         | bytes                    |
//! | `--memory-swap`  | `memory.memsw.limit_in_bytes` (memory)   | memory **+** swap; `-1`  |
//! | `--pids-limit`   | `pids.max` (pids)                        | a count                  |
//! | `--cpus`         | `cpu.cfs_period_us`, then `cpu.cfs_quota_us` (cpu) | µs, two files  |
//! | `--cpu-shares`   | `cpu.shares` (cpu)                       | 2–262 144                |
//!
//! Order matters within a controller: `memsw` must stay ≥ the memory
//! limit at every moment, so memory is written first; the period before
//! the quota, so the quota is judged against the right period.
//!
//! v1 has no `cgroup.kill`: killing everything means freezing the cgroup
//! (so nothing forks between the listing and the kill), listing
//! `cgroup.procs`, sending SIGKILL to each, and thawing — a frozen
//! process dies only once thawed. On a **hybrid** host, the cgroup also
//! gets a directory in the v2 tree, which has `cgroup.kill`; the driver
//! uses it when it is there.

use std::path::PathBuf;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::cgroupfs;
use crate::error::CgroupError;
use crate::layout::Layout;
use crate::limits::{Limits, Swap};
use crate::manager::{CgroupManager, Stats, dir_in};
use crate::v2;

/// The v1 controllers a container's cgroup uses.
pub const CONTROLLERS: [&str; 5] = ["memory", "pids", "cpu", "cpuacct", "freezer"];

/// A cgroup in v1 trees (and, on a hybrid host, in the v2 tree).
#[derive(Debug, Clone, Default)]
pub struct V1 {
    pub memory: Option<PathBuf>,
    pub pids: Option<PathBuf>,
    pub cpu: Option<PathBuf>,
    pub cpuacct: Option<PathBuf>,
    pub freezer: Option<PathBuf>,
    /// Its directory in the v2 tree of a hybrid host.
    pub unified: Option<PathBuf>,
}

impl V1 {
    /// The cgroup `name` at the top of each tree of `layout`.
    pub fn new(layout: &Layout, name: &str) -> V1 {
        let dir = |controller| {
            layout
                .v1_mount(controller)
                .map(|h| dir_in(&h.mount_point, name))
        };
        let unified = match layout {
            Layout::V1 { unified, .. } => unified.as_deref().map(|m| dir_in(m, name)),
            Layout::V2 { .. } => None,
        };
        V1 {
            memory: dir("memory"),
            pids: dir("pids"),
            cpu: dir("cpu"),
            cpuacct: dir("cpuacct"),
            freezer: dir("freezer"),
            unified,
        }
    }

    /// The same cgroup, without its v2 directory: a pure v1 host's driver.
    pub fn without_unified(mut self) -> V1 {
        self.unified = None;
        self
    }

    /// The directory of `controller`, or an error naming it.
    fn need(&self, dir: &Option<PathBuf>, controller: &str) -> Result<PathBuf, CgroupError> {
        dir.clone().ok_or_else(|| {
            let source = std::io::Error::from_raw_os_error(libc::ENOENT);
            CgroupError::new(
                format!("find the {controller} controller for"),
                PathBuf::from("/sys/fs/cgroup"),
                source,
            )
        })
    }
}

impl CgroupManager for V1 {
    fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = [
            &self.memory,
            &self.pids,
            &self.cpu,
            &self.cpuacct,
            &self.freezer,
            &self.unified,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        // `cpu,cpuacct` mounted together: one directory for both.
        dirs.sort();
        dirs.dedup();
        dirs
    }

    fn create(&self) -> Result<(), CgroupError> {
        for dir in self.dirs() {
            if let Err(err) = cgroupfs::create(&dir) {
                let _ = self.remove();
                return Err(err);
            }
        }
        Ok(())
    }

    fn apply(&self, limits: &Limits) -> Result<(), CgroupError> {
        // TASK 04.4: memory then memsw (if there), pids.max, cfs period then quota, cpu.shares
        todo!("04.4: memory then memsw (if there), pids.max, cfs period then quota, cpu.shares")
        // END TASK 04.4
    }

    fn oom_killed(&self) -> Result<bool, CgroupError> {
        // TASK 04.7: memory.oom_control's oom_kill (4.13+); else memory.failcnt > 0
        todo!("04.7: memory.oom_control's oom_kill (4.13+); else memory.failcnt > 0")
        // END TASK 04.7
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        // TASK 04.8: memory usage and max, pids.current, cpuacct.usage (ns!), nr_throttled
        todo!("04.8: memory usage and max, pids.current, cpuacct.usage (ns!), nr_throttled")
        // END TASK 04.8
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        freeze_v1(&self.need(&self.freezer, "freezer")?, true)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        freeze_v1(&self.need(&self.freezer, "freezer")?, false)
    }

    fn kill_all(&self) -> Result<(), CgroupError> {
        // TASK 04.9: hybrid: v2's cgroup.kill; else freeze, SIGKILL each of cgroup.procs, thaw
        todo!("04.9: hybrid: v2's cgroup.kill; else freeze, SIGKILL each of cgroup.procs, thaw")
        // END TASK 04.9
    }
}

/// Freeze (or thaw) through v1's `freezer.state`: write `FROZEN`, then
/// wait until it reads `FROZEN` (it says `FREEZING` meanwhile).
pub fn freeze_v1(dir: &std::path::Path, frozen: bool) -> Result<(), CgroupError> {
    // TASK 04.9: write FROZEN/THAWED to freezer.state, then wait until it reads so
    todo!("04.9: write FROZEN/THAWED to freezer.state, then wait until it reads so")
    // END TASK 04.9
}
