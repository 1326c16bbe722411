//! `cargo xtask`: the workbook's own tool.
//!
//! For learners: `doctor`, `check`, `status`, `book`, `demo`.
//! For the workbook's maintainers: `sync`, `verify`, `bench`.
//! See ARCHITECTURE.md for how the pieces fit.

mod bench;
mod book;
mod check;
mod demo;
mod doctor;
mod labs;
mod markers;
mod probe;
mod progress;
mod sync;
mod testrun;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Dockyard's tool: run `cargo xtask <command>`.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run a lab's checks and show what to do next (default: the lab in progress).
    Check {
        /// The lab number, e.g. 01.
        lab: Option<String>,
        /// Show the output of every failing check, not only the next task's.
        #[arg(long)]
        all: bool,
    },
    /// Show your progress over all labs.
    Status,
    /// Check what this host supports, and how to fix what it lacks.
    Doctor,
    /// Build the book into target/book (or serve it on http://127.0.0.1:3000).
    Book {
        #[arg(long)]
        serve: bool,
        /// Fail on a broken include or link.
        #[arg(long)]
        check: bool,
    },
    /// Run the most advanced reference lab on the probe: container vs host.
    Demo,
    /// Maintainers: regenerate labs/ from solutions/.
    Sync {
        /// Write nothing; fail if labs/ is out of date.
        #[arg(long)]
        check: bool,
        /// Overwrite task regions that hold code, and remove extra files.
        #[arg(long)]
        force: bool,
    },
    /// Maintainers: the project's gate (sync, fmt, clippy, tests, every check
    /// passes on the reference and fails on the starter, the book).
    Verify,
    /// Maintainers: measure how long learners wait.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
}

#[derive(Debug, Subcommand)]
enum BenchWhat {
    /// Time `cargo xtask check NN` from a clean clone and after a one-line edit.
    Check {
        #[arg(default_value = "01")]
        lab: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = labs::root();
    let result = match cli.command {
        Commands::Check { lab, all } => check::run(&root, lab.as_deref(), all),
        Commands::Status => progress::status(&root).map(|()| true),
        Commands::Doctor => doctor::run(),
        Commands::Book { serve, check } => book::run(&root, serve, check),
        Commands::Demo => demo::run(&root).map(|()| true),
        Commands::Sync { check, force } => sync::run(&root, check, force).map(|()| true),
        Commands::Verify => verify::run(&root),
        Commands::Bench {
            what: BenchWhat::Check { lab },
        } => bench::check_times(&root, &lab).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
