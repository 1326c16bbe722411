//! One trait, two drivers.
//!
//! Everything the engine does with a container's cgroup goes through
//! [`CgroupManager`]; [`crate::v2::V2`] and [`crate::v1::V1`] implement it
//! on their filesystem, and [`for_layout`] picks one for the host. A
//! driver is only paths and file writes, so a check can point one at a
//! *fake* cgroupfs (a temp dir with the files a kernel would make) and read
//! what it wrote — for the layouts the machine running the checks lacks —
//! as well as at the real kernel, which also says whether it *accepts*
//! what was written.

use std::path::{Path, PathBuf};

use nix::unistd::Pid;

use crate::cgroupfs;
use crate::error::CgroupError;
use crate::layout::Layout;
use crate::limits::Limits;
use crate::v1::V1;
use crate::v2::V2;

/// What a cgroup has used, as `docker stats` shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes of memory charged now (page cache included).
    pub memory_current: u64,
    /// The most it was ever charged, when the kernel keeps it (v2's
    /// `memory.peak` is 5.19+).
    pub memory_peak: Option<u64>,
    /// Processes and threads now.
    pub pids_current: u64,
    /// CPU time used by all its processes, in microseconds.
    pub cpu_usage_us: u64,
    /// How many periods it was throttled in (ran out of its quota), when
    /// the cpu controller is there.
    pub nr_throttled: Option<u64>,
}

/// A container's cgroup, on whichever cgroup filesystem the host has.
pub trait CgroupManager: std::fmt::Debug + Send + Sync {
    /// Every directory of this cgroup: one on v2, one per hierarchy on v1.
    fn dirs(&self) -> Vec<PathBuf>;

    /// Make the cgroup (and enable its controllers where v2 needs it).
    fn create(&self) -> Result<(), CgroupError>;

    /// Write the limits. Unset ones are left at the kernel's default.
    fn apply(&self, limits: &Limits) -> Result<(), CgroupError>;

    // ANCHOR: add
    /// Put the process `pid` in the cgroup, in every hierarchy. Its future
    /// children are born in it.
    fn add(&self, pid: Pid) -> Result<(), CgroupError> {
        // TASK 04.6: write the pid into cgroup.procs of every directory of the cgroup
        for dir in self.dirs() {
            cgroupfs::write(&dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
        // END TASK 04.6
    }
    // ANCHOR_END: add

    /// Remove the cgroup, in every hierarchy: after its processes are gone.
    fn remove(&self) -> Result<(), CgroupError> {
        let mut first = Ok(());
        for dir in self.dirs() {
            // Try them all: one busy hierarchy must not leak the others.
            if let Err(err) = cgroupfs::remove(&dir)
                && first.is_ok()
            {
                first = Err(err);
            }
        }
        first
    }

    /// Whether the OOM killer killed a process of the cgroup.
    fn oom_killed(&self) -> Result<bool, CgroupError>;

    /// What it has used.
    fn stats(&self) -> Result<Stats, CgroupError>;

    /// Stop every process of the cgroup, and return once they are stopped.
    fn freeze(&self) -> Result<(), CgroupError>;

    /// Let them run again.
    fn thaw(&self) -> Result<(), CgroupError>;

    /// SIGKILL every process of the cgroup, even those forking meanwhile.
    fn kill_all(&self) -> Result<(), CgroupError>;
}

/// The driver for `layout`, for a cgroup called `name` at the top of each
/// hierarchy.
pub fn for_layout(layout: &Layout, name: &str) -> Box<dyn CgroupManager> {
    match layout {
        Layout::V2 { mount_point } => Box::new(V2::new(mount_point, name)),
        Layout::V1 { .. } => Box::new(V1::new(layout, name)),
    }
}

/// A name for a new container's cgroup: `dockyard-` and 12 random hex
/// digits, like a Docker container id.
pub fn random_name() -> String {
    format!("dockyard-{}", namespaces::hostname::random())
}

/// `mount_point/name`.
pub fn dir_in(mount_point: &Path, name: &str) -> PathBuf {
    mount_point.join(name)
}
