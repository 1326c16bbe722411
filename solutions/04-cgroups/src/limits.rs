//! What a container may use, in the kernel's units, checked before
//! anything is created.
//!
//! Docker's rules, which the checks here follow:
//!
//! - a memory limit under 6 MiB is refused: the kernel would take it, but
//!   a process cannot even start in it, and the OOM killer would fire
//!   before `exec` is done;
//! - `--memory-swap` is memory **plus** swap (not swap alone), so it must
//!   be at least `--memory`; `-1` is unlimited swap; without it, a
//!   container may use as much swap as memory (total = 2 × memory);
//! - `--cpu-shares` is a relative weight, 2 to 262 144 (1024 is "normal");
//! - `--cpus` may not exceed the CPUs the host has.

use crate::error::LimitError;

/// Docker's smallest memory limit: 6 MiB.
pub const MIN_MEMORY: u64 = 6 << 20;

/// The range of `--cpu-shares` (cgroup v1's `cpu.shares`).
pub const SHARES: std::ops::RangeInclusive<u64> = 2..=262_144;

/// Memory plus swap, as Docker's `--memory-swap` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// At most this many bytes of memory and swap together.
    Total(u64),
    /// `--memory-swap -1`: swap is not limited.
    Unlimited,
}

/// CPU time: at most `quota_us` in every `period_us`, both in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuQuota {
    pub quota_us: u64,
    pub period_us: u64,
}

/// A container's limits. `None`: not limited (the kernel's default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of memory.
    pub memory: Option<u64>,
    /// Memory plus swap.
    pub memory_swap: Option<Swap>,
    /// Processes and threads, together.
    pub pids: Option<u64>,
    /// A CPU quota (`--cpus`).
    pub cpu: Option<CpuQuota>,
    /// A relative CPU weight (`--cpu-shares`, v1's unit).
    pub cpu_shares: Option<u64>,
}

impl Limits {
    /// The swap total to set: the one asked for, or Docker's default of as
    /// much swap as memory.
    pub fn swap_total(&self) -> Option<Swap> {
        match (self.memory_swap, self.memory) {
            (Some(swap), _) => Some(swap),
            (None, Some(memory)) => Some(Swap::Total(memory.saturating_mul(2))),
            (None, None) => None,
        }
    }

    /// Refuse limits that cannot work, with Docker's messages, before any
    /// cgroup exists.
    pub fn validate(&self) -> Result<(), LimitError> {
        let invalid = |flag, value: String, reason: &str| LimitError {
            flag,
            value,
            reason: reason.to_owned(),
        };
        if let Some(memory) = self.memory
            && memory < MIN_MEMORY
        {
            let reason = "the minimum memory limit is 6 MiB (6m): below that a process \
                          cannot even start";
            return Err(invalid("--memory", memory.to_string(), reason));
        }
        match (self.memory_swap, self.memory) {
            (Some(Swap::Total(total)), None) => {
                let reason = "--memory-swap needs --memory (it is memory plus swap)";
                return Err(invalid("--memory-swap", total.to_string(), reason));
            }
            (Some(Swap::Total(total)), Some(memory)) if total < memory => {
                let reason = "it is memory plus swap, so it must be at least --memory";
                return Err(invalid("--memory-swap", total.to_string(), reason));
            }
            _ => {}
        }
        if let Some(pids) = self.pids
            && pids == 0
        {
            let reason = "at least 1 (or -1 for no limit)";
            return Err(invalid("--pids-limit", pids.to_string(), reason));
        }
        if let Some(shares) = self.cpu_shares
            && !SHARES.contains(&shares)
        {
            let reason = "from 2 to 262144 (1024 is the default weight)";
            return Err(invalid("--cpu-shares", shares.to_string(), reason));
        }
        if let Some(cpu) = self.cpu {
            let online = online_cpus();
            if cpu.quota_us > cpu.period_us * online {
                let cpus = cpu.quota_us as f64 / cpu.period_us as f64;
                let reason = format!("this host has {online} CPUs: the range is 0.01 to {online}");
                return Err(invalid("--cpus", cpus.to_string(), &reason));
            }
        }
        Ok(())
    }
}

/// The CPUs online on this host.
pub fn online_cpus() -> u64 {
    // SAFETY: sysconf only reads.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 { n as u64 } else { 1 }
}
