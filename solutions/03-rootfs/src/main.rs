//! `dockyard` as it stands after lab 03:
//! `dockyard run [--rootfs DIR] [--hostname NAME] [--userns] [--init] -- COMMAND [ARGS…]`.

use clap::{Parser, Subcommand};
use rootfs::cli::{self, RootfsArgs};

/// A small Docker, built lab by lab. This is lab 03: a root filesystem.
#[derive(Debug, Parser)]
#[command(name = "dockyard", version)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run a command in a new container, in a root filesystem of its own.
    Run(RootfsArgs),
}

fn main() {
    let cli: Cli = process::cli::parse();
    let code = match cli.command {
        Commands::Run(args) => cli::run(&args),
    };
    std::process::exit(code);
}
