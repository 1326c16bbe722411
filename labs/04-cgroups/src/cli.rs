//! `dockyard run` after lab 04: Docker's limit flags, in Docker's units.
//!
//! ```text
//! --memory 64m          memory.max / memory.limit_in_bytes     (b, k, m, g: binary)
//! --memory-swap 96m     memory + swap (-1: unlimited; default: 2 × --memory)
//! --pids-limit 32       pids.max                               (0 or -1: unlimited)
//! --cpus 0.5            cpu.max "50000 100000" / cfs quota + period
//! --cpu-shares 512      cpu.weight 20 / cpu.shares 512
//! ```

use std::path::Path;

use process::cli::EXIT_ENGINE;

use crate::error::LimitError;
use crate::limits::{Limits, Swap};
use crate::spawn::spawn;
use crate::units;

/// The options of `dockyard run`.
#[derive(Debug, Clone, clap::Args)]
pub struct CgroupArgs {
    /// Memory limit, as Docker writes it: 64m, 1g, 512k (binary units).
    #[arg(short = 'm', long, value_name = "BYTES")]
    pub memory: Option<String>,
    /// Memory plus swap; -1 for unlimited swap.
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// At most this many processes and threads (0 or -1: no limit).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// CPU time, in CPUs: 0.5 is half of one CPU.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// A relative CPU weight (1024 is the default).
    #[arg(short = 'c', long, value_name = "N")]
    pub cpu_shares: Option<u64>,
    #[command(flatten)]
    pub rootfs: rootfs::cli::RootfsArgs,
}

impl CgroupArgs {
    /// The limits asked for, in the kernel's units, checked.
    pub fn limits(&self) -> Result<Limits, LimitError> {
        let memory = self
            .memory
            .as_deref()
            .map(|m| units::parse_bytes("--memory", m))
            .transpose()?;
        let memory_swap = match self.memory_swap.as_deref().map(str::trim) {
            None => None,
            Some("-1") => Some(Swap::Unlimited),
            Some(text) => Some(Swap::Total(units::parse_bytes("--memory-swap", text)?)),
        };
        let limits = Limits {
            memory,
            memory_swap,
            pids: self.pids_limit.filter(|&n| n > 0).map(|n| n as u64),
            cpu: self.cpus.as_deref().map(units::parse_cpus).transpose()?,
            // Docker: 0 means "the default".
            cpu_shares: self.cpu_shares.filter(|&n| n > 0),
        };
        // Say the value as the user typed it, not in bytes.
        limits.validate().map_err(|mut err| {
            let typed = match err.flag {
                "--memory" => self.memory.clone(),
                "--memory-swap" => self.memory_swap.clone(),
                "--cpus" => self.cpus.clone(),
                _ => None,
            };
            if let Some(typed) = typed {
                err.value = typed;
            }
            err
        })?;
        Ok(limits)
    }
}

/// "64 MiB", for messages.
pub fn human(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// Run the container in the foreground; returns this process's exit code.
pub fn run(args: &CgroupArgs) -> i32 {
    let limits = match args.limits() {
        Ok(limits) => limits,
        Err(err) => {
            eprintln!("dockyard: {err}");
            return EXIT_ENGINE;
        }
    };
    if args.rootfs.unsafe_chroot {
        eprintln!("dockyard: --unsafe-chroot is lab 03's demonstration only");
        return EXIT_ENGINE;
    }
    let ns = &args.rootfs.ns;
    let config = ns.config();
    let cmd = ns.base.command();
    let forwarding = match process::cli::forwarding() {
        Ok(forwarding) => forwarding,
        Err(err) => {
            eprintln!("dockyard: {err}");
            return EXIT_ENGINE;
        }
    };
    let rootfs = args.rootfs.rootfs.as_deref().map(Path::new);
    let result = spawn(&cmd, &config, rootfs, &limits).and_then(|mut container| {
        container.start()?;
        container.wait_forwarding(&forwarding)
    });
    match result {
        Ok(outcome) => {
            if outcome.oom_killed {
                let limit = limits.memory.map(human).unwrap_or_else(|| "none".into());
                eprintln!(
                    "dockyard: the container was killed by the OOM killer \
                     (OOMKilled): it reached its memory limit ({limit})"
                );
            }
            outcome.code()
        }
        Err(err) => {
            eprintln!("dockyard: {err}");
            err.exit_code()
        }
    }
}
