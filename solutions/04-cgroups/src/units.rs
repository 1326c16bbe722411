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

// ANCHOR: parse_bytes
/// A size as Docker writes it: `1024`, `512k`, `64m`, `1g`, `64MiB`, `1.5g`.
pub fn parse_bytes(flag: &'static str, text: &str) -> Result<u64, LimitError> {
    // TASK 04.1: a number, then a unit b/k/m/g/t (any case, k = 1024), then maybe "b"/"ib"
    let usage = "use a number and an optional unit: b, k, m, g or t (binary: 1k = 1024)";
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid(flag, text, usage))?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(invalid(flag, text, usage)),
    };
    let bytes = number * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(invalid(flag, text, "too large"));
    }
    Ok(bytes as u64)
    // END TASK 04.1
}
// ANCHOR_END: parse_bytes

// ANCHOR: parse_cpus
/// `--cpus N`: a quota of N × [`CPU_PERIOD_US`] per period, at least 0.01.
pub fn parse_cpus(text: &str) -> Result<CpuQuota, LimitError> {
    // TASK 04.1: quota = cpus × 100 000 µs, period = 100 000 µs; refuse < 0.01
    let cpus: f64 = text.trim().parse().map_err(|_| {
        invalid(
            "--cpus",
            text,
            "expected a number of CPUs, such as 0.5 or 2",
        )
    })?;
    if !cpus.is_finite() || cpus < 0.01 {
        return Err(invalid(
            "--cpus",
            text,
            "the range of CPUs starts at 0.01 (a quota of 1 ms per 100 ms period)",
        ));
    }
    let quota_us = (cpus * CPU_PERIOD_US as f64).round() as u64;
    Ok(CpuQuota {
        quota_us: quota_us.max(MIN_QUOTA_US),
        period_us: CPU_PERIOD_US,
    })
    // END TASK 04.1
}
// ANCHOR_END: parse_cpus
