//! `dockyard run`: the command line on top of the library, with Docker's
//! exit codes.
//!
//! `docker run` exits with the container's own exit code — so it needs
//! codes of its own for "the container never ran": 125 when the engine
//! failed, 126 when the program exists but cannot be executed, 127 when it
//! does not exist. Scripts depend on telling these apart.

use std::ffi::OsString;

use nix::errno::Errno;

use crate::command::{Command, DEFAULT_PATH};
use crate::error::SpawnError;
use crate::signals::Forwarding;
use crate::spawn::spawn;

/// Docker: the engine failed (bad usage, a system call failed).
pub const EXIT_ENGINE: i32 = 125;
/// Docker: the program exists but cannot be executed.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Docker: the program was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// Parse the command line into `C`, or exit as `docker` does: 125 for a
/// usage error (it is the engine's), 0 for `--help` and `--version`.
pub fn parse<C: clap::Parser>() -> C {
    C::try_parse().unwrap_or_else(|err| {
        let code = if err.use_stderr() { EXIT_ENGINE } else { 0 };
        let _ = err.print();
        std::process::exit(code)
    })
}

/// The options of `dockyard run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Set an environment variable in the container.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// The command to run (after `--` if it starts with `-`).
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

impl RunArgs {
    /// The command to start: the program and its arguments, with `PATH` set
    /// to Docker's default unless `-e PATH=…` overrides it.
    pub fn command(&self) -> Command {
        let mut words = self.command.iter();
        let mut cmd = Command::new(words.next().cloned().unwrap_or_default());
        cmd.args(words).env("PATH", DEFAULT_PATH);
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd
    }
}

/// Run the container's command in the foreground; returns the exit code
/// for this process (the container's, or one of Docker's own).
pub fn run(args: &RunArgs) -> i32 {
    let result = forwarding().and_then(|forwarding| {
        let mut child = spawn(&args.command())?;
        child.start()?;
        child.wait_forwarding(&forwarding)
    });
    match result {
        Ok(status) => status.code(),
        Err(err) => {
            eprintln!("dockyard: {err}");
            exit_code(&err)
        }
    }
}

/// Block the signals `dockyard run` forwards, *before* the child exists:
/// one that arrives in between then waits, pending, instead of killing
/// dockyard; and the child, born with them blocked, unblocks them just
/// before exec. Forwarding is the CLI's business, not `spawn`'s: a signal
/// mask belongs to one thread (see [`Forwarding`]).
pub fn forwarding() -> Result<Forwarding, SpawnError> {
    Forwarding::block().map_err(SpawnError::sys("block the forwarded signals"))
}

/// The exit code for a container that never ran: 127 for a program that
/// does not exist, 126 for one that cannot be executed, 125 otherwise.
pub fn exit_code(err: &SpawnError) -> i32 {
    // TASK 01.8: map a start error to Docker's exit codes 125, 126 and 127
    todo!("01.8: map a start error to Docker's exit codes 125, 126 and 127")
    // END TASK 01.8
}
