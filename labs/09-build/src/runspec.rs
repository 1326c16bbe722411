//! What a RUN step runs: the process of the build container, from the
//! image config at that point of the stage and the step itself.
//!
//! BuildKit's rules:
//!
//! - the command as the config stores it: the shell form wrapped in
//!   `/bin/sh -c` (the default `SHELL`), the exec form as written — and
//!   not substituted: `$HOME` is the shell's, at run time;
//! - the environment: the image's `Env` (which always has a `PATH`:
//!   BuildKit gives a stage with none the default one), then the ARGs in
//!   scope — a build-time variable, visible to the command but never
//!   written into the image — except where an ENV has the same name;
//! - the working directory: `WorkingDir`, `/` if unset;
//! - the user: `User` (a name is resolved in the image's `/etc/passwd`
//!   when the container starts), root if unset;
//! - the host name `buildkitsandbox`, and no network (this builder has
//!   none until lab 11; Docker's default is the host's bridge).
//!
//! The builder hands this to the lab-05 runtime, in a bundle whose root
//! is a lab-06 overlay of the layers so far.

use serde::Serialize;

use crate::ast::Command;
use crate::config::{ImageConfig, with_shell};

/// BuildKit's (and Docker's) default PATH on Linux.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The host name of a build container, as BuildKit names it.
pub const HOSTNAME: &str = "buildkitsandbox";

/// The process of a RUN step's container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunProcess {
    pub args: Vec<String>,
    /// `NAME=value`, in order.
    pub env: Vec<String>,
    pub cwd: String,
    /// `""` for root.
    pub user: String,
}

fn name(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(n, _)| n)
}

/// The process RUN `command` runs, after `config`, with `args` the ARGs
/// in scope that have a value (`plan::Op::Run`'s `env`).
pub fn run_process(
    config: &ImageConfig,
    command: &Command,
    args: &[(String, String)],
) -> RunProcess {
    // TASK 09.8: shell form wrapped; image Env (PATH by default) then ARGs not set by ENV; cwd
    todo!("09.8: shell form wrapped; image Env (PATH by default) then ARGs not set by ENV; cwd")
    // END TASK 09.8
}
