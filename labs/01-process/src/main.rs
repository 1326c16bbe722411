//! `dockyard` as it stands after lab 01: `dockyard run -- COMMAND [ARGS…]`.

use clap::{Parser, Subcommand};
use process::cli::{self, EXIT_ENGINE, RunArgs};

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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Like `docker run`: usage errors are the engine's (125);
            // --help and --version are not errors.
            let code = if err.use_stderr() { EXIT_ENGINE } else { 0 };
            let _ = err.print();
            std::process::exit(code);
        }
    };
    let code = match cli.command {
        Commands::Run(args) => cli::run(&args),
    };
    std::process::exit(code);
}
