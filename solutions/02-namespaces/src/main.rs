//! `dockyard` as it stands after lab 02:
//! `dockyard run [--hostname NAME] [--userns] [--init] -- COMMAND [ARGS…]`.

use clap::{Parser, Subcommand};
use namespaces::cli::{self, NamespaceArgs};

/// A small Docker, built lab by lab. This is lab 02: namespaces.
#[derive(Debug, Parser)]
#[command(name = "dockyard", version)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run a command in a new container: a process in new namespaces.
    Run(NamespaceArgs),
}

fn main() {
    let cli: Cli = process::cli::parse();
    let code = match cli.command {
        Commands::Run(args) => cli::run(&args),
    };
    std::process::exit(code);
}
