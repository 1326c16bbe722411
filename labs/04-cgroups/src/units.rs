//! Docker's units, parsed.
//!
//! `docker run --memory 64m` means 64 **mebibytes**: 64 × 1024 × 1024 =
//! 67 108 864 bytes, not 64 000 000. Docker's sizes are binary (`k` is
//! 1024, `m` 1024², `g` 1024³), the unit is one letter, either case, with
//! an optional `b` (`64mb`, `64MiB`), and a bare number is bytes.
//!
//! `--cpus 0.5` means "half of one CPU's time": the kernel wants it as a
//! *quota* of CPU time per *period*, both in microseconds. Docker's period
//! is 100 ms, so 0.5 CPU is a quota of 50 000 µs every 100 000 µs; 2.0 is
//! 200 000 µs per 100 000 µs (two CPUs busy all the time). The kernel
//! refuses a quota under 1 ms, so `--cpus` starts at 0.01.

use crate::error::LimitError;
use crate::limits::CpuQuota;

/// Docker's CFS period: 100 ms.
pub const CPU_PERIOD_US: u64 = 100_000;

/// The smallest quota the kernel takes: 1 ms.
pub const MIN_QUOTA_US: u64 = 1_000;

fn invalid(flag: &'static str, value: &str, reason: &str) -> LimitError {
    LimitError {
        flag,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// A size as Docker writes it: `1024`, `512k`, `64m`, `1g`, `64MiB`, `1.5g`.
pub fn parse_bytes(flag: &'static str, text: &str) -> Result<u64, LimitError> {
    // TASK 04.1: a number, then a unit b/k/m/g/t (any case, k = 1024), then maybe "b"/"ib"
    todo!("04.1: a number, then a unit b/k/m/g/t (any case, k = 1024), then maybe \"b\"/\"ib\"")
    // END TASK 04.1
}

/// `--cpus N`: a quota of N × [`CPU_PERIOD_US`] per period, at least 0.01.
pub fn parse_cpus(text: &str) -> Result<CpuQuota, LimitError> {
    // TASK 04.1: quota = cpus × 100 000 µs, period = 100 000 µs; refuse < 0.01
    todo!("04.1: quota = cpus × 100 000 µs, period = 100 000 µs; refuse < 0.01")
    // END TASK 04.1
}
