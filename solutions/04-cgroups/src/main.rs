//! `dockyard` as it stands after lab 04:
//! `dockyard run [--memory BYTES] [--memory-swap BYTES] [--pids-limit N]
//! [--cpus N] [--cpu-shares N] [--rootfs DIR] … -- COMMAND [ARGS…]`.

use cgroups::cli::{self, CgroupArgs};
use clap::{Parser, Subcommand};

/// A small Docker, built lab by lab. This is lab 04: cgroup limits.
#[derive(Debug, Parser)]
#[command(name = "dockyard", version)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run a command in a new container, with limits on what it may use.
    Run(CgroupArgs),
}

fn main() {
    let cli: Cli = process::cli::parse();
    let code = match cli.command {
        Commands::Run(args) => cli::run(&args),
    };
    std::process::exit(code);
}
