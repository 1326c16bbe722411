//! The command line: a small part of `docker`'s.
//!
//! ```text
//! dockyard-07 [--state-dir DIR] volume create [NAME] | ls [-q] | inspect NAME… | rm NAME… | prune [-a]
//! dockyard-07 [--state-dir DIR] run --rootfs DIR [--rm] [--name ID] [--hostname H]
//!     [-v [SRC:]DST[:ro]]… [--mount type=bind|volume|tmpfs,…]… -- PROGRAM ARGS…
//! dockyard-07 [--state-dir DIR] rm [-v] ID… | ps
//! ```
//!
//! Errors go to stderr as `dockyard-07: …`; the exit code is 125 for an
//! engine error (as `docker`'s), otherwise the container's.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::engine::{self, RunOptions};
use crate::error::Error;
use crate::record::Record;
use crate::recover;
use crate::store::{self, Store};

/// Where Docker keeps the same things (`/var/lib/docker`).
pub const DEFAULT_STATE_DIR: &str = "/var/lib/dockyard";

/// Volumes, bind mounts and tmpfs for containers (lab 07).
#[derive(Debug, Parser)]
#[command(name = "dockyard", version)]
pub struct Cli {
    /// The engine's state: volumes/, containers/, runtime/.
    #[arg(long, global = true, default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Manage volumes.
    Volume {
        #[command(subcommand)]
        command: VolumeCommands,
    },
    /// Run a program in a container with volumes, bind mounts and tmpfs.
    Run(RunArgs),
    /// Remove exited containers.
    Rm {
        /// Remove their anonymous volumes too.
        #[arg(short = 'v', long = "volumes")]
        volumes: bool,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// List containers (their records).
    Ps,
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommands {
    /// Create a volume (a random name if none is given).
    Create { name: Option<String> },
    /// List volumes.
    Ls {
        /// Only the names.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Show volumes as JSON.
    Inspect {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove volumes (refused while a container uses one).
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove unused anonymous volumes (--all: unused named ones too).
    Prune {
        #[arg(short, long)]
        all: bool,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The container's root filesystem (a directory).
    #[arg(long)]
    pub rootfs: PathBuf,
    /// Remove the container and its anonymous volumes when it exits.
    #[arg(long)]
    pub rm: bool,
    /// The container's name (default: 12 random hex digits).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub hostname: Option<String>,
    /// [SOURCE:]TARGET[:OPTIONS] — a bind (absolute SOURCE), a named
    /// volume (SOURCE a name) or an anonymous one (no SOURCE); ro, rw, nocopy.
    #[arg(short = 'v', long = "volume", value_name = "SPEC")]
    pub volumes: Vec<String>,
    /// type=bind|volume|tmpfs,source=…,target=…[,readonly][,tmpfs-size=…][,tmpfs-mode=…]
    #[arg(long = "mount", value_name = "SPEC")]
    pub mounts: Vec<String>,
    /// For the checks: fail this step on purpose.
    #[arg(long, hide = true)]
    pub fail_at: Option<String>,
    /// For the checks: stop before this step, to be killed there.
    #[arg(long, hide = true)]
    pub pause_at: Option<String>,
    /// The program and its arguments.
    #[arg(trailing_var_arg = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Run the command line; returns the exit code.
pub fn main(cli: Cli) -> i32 {
    match execute(&cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("dockyard-07: {err}");
            process::cli::EXIT_ENGINE
        }
    }
}

/// The runtime root of a command that makes containers (`run`), or
/// `None`: `main` re-executes from a sealed copy of the binary there first
/// (`runtime::exe::reexec_sealed_or_exit`, CVE-2019-5736).
pub fn sealed_root(cli: &Cli) -> Option<PathBuf> {
    matches!(cli.command, Commands::Run(_)).then(|| Store::new(&cli.state_dir).runtime_root())
}

fn execute(cli: &Cli) -> Result<i32, Error> {
    let store = Store::new(&cli.state_dir);
    match &cli.command {
        Commands::Run(args) => {
            let opts = RunOptions {
                rootfs: args.rootfs.clone(),
                volumes: args.volumes.clone(),
                mounts: args.mounts.clone(),
                remove: args.rm,
                name: args.name.clone(),
                hostname: args.hostname.clone(),
                command: args.command.clone(),
                fail_at: args.fail_at.clone(),
                pause_at: args.pause_at.clone(),
            };
            return engine::run(&store, &opts);
        }
        Commands::Rm { volumes, ids } => {
            for id in ids {
                engine::remove(&store, id, *volumes)?;
                println!("{id}");
            }
        }
        Commands::Ps => {
            recover::recover(&store)?;
            println!("{:<14} {:<9} VOLUMES", "CONTAINER ID", "STATUS");
            for record in Record::list(&store)? {
                let phase = serde_json::to_value(record.phase).expect("json");
                let phase = phase.as_str().unwrap_or_default().to_string();
                println!("{:<14} {phase:<9} {}", record.id, record.volumes.join(","));
            }
        }
        Commands::Volume { command } => {
            recover::recover(&store)?;
            volume(&store, command)?;
        }
    }
    Ok(0)
}

fn volume(store: &Store, command: &VolumeCommands) -> Result<(), Error> {
    match command {
        VolumeCommands::Create { name } => {
            let name = name.clone().unwrap_or_else(store::anonymous_name);
            let (volume, _) = store.create(&name, false)?;
            println!("{}", volume.name);
        }
        VolumeCommands::Ls { quiet } => {
            let volumes = store.list()?;
            if !quiet {
                println!("{:<10} VOLUME NAME", "DRIVER");
            }
            for volume in volumes {
                if *quiet {
                    println!("{}", volume.name);
                } else {
                    println!("{:<10} {}", "local", volume.name);
                }
            }
        }
        VolumeCommands::Inspect { names } => {
            let all = names
                .iter()
                .map(|name| store.inspect(name))
                .collect::<Result<Vec<_>, _>>()?;
            let text = serde_json::to_string_pretty(&all).expect("json");
            println!("{text}");
        }
        VolumeCommands::Rm { names } => {
            for name in names {
                store.remove(name)?;
                println!("{name}");
            }
        }
        VolumeCommands::Prune { all } => {
            let removed = store.prune(*all)?;
            println!("Deleted Volumes:");
            for name in &removed {
                println!("{name}");
            }
        }
    }
    Ok(())
}
