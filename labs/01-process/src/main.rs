//! `dockyard` as it stands after lab 01: `dockyard run -- COMMAND [ARGS…]`.

use clap::{Parser, Subcommand};
use process::cli::{self, RunArgs};

/// A small Docker, built lab by lab. This is lab 01: a container is a process.
#[derive(Debug, Parser)]
#[command(name = "dockyard", version)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run a command in a new container (here: a child process).
    Run(RunArgs),
}

fn main() {
    let cli: Cli = process::cli::parse();
    let code = match cli.command {
        Commands::Run(args) => cli::run(&args),
    };
    std::process::exit(code);
}
