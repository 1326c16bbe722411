//! `dockyard run` after lab 02: `--hostname`, `--userns`, `--init`.

use process::ExitStatus;

use crate::config::{Config, Namespaces};
use crate::error::Error;
use crate::hostname;

/// The options of `dockyard run`.
#[derive(Debug, Clone, clap::Args)]
pub struct NamespaceArgs {
    /// The container's hostname (default: 12 random hex digits, like Docker).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Run in a new user namespace, as root inside mapped to you outside
    /// (rootless, where the kernel allows it).
    #[arg(long)]
    pub userns: bool,
    /// Run a minimal init as PID 1 that reaps zombies and forwards signals.
    #[arg(long)]
    pub init: bool,
    #[command(flatten)]
    pub base: process::cli::RunArgs,
}

impl NamespaceArgs {
    /// The container's configuration.
    pub fn config(&self) -> Config {
        Config {
            namespaces: Namespaces {
                user: self.userns,
                ..Namespaces::DEFAULT
            },
            hostname: Some(self.hostname.clone().unwrap_or_else(hostname::random)),
            init: self.init,
            ..Config::default()
        }
    }
}

/// Run the container in the foreground; returns this process's exit code.
pub fn run(args: &NamespaceArgs) -> i32 {
    let config = args.config();
    report(
        process::cli::forwarding()
            .map_err(Error::from)
            .and_then(|forwarding| {
                let mut child = crate::spawn(&args.base.command(), &config)?;
                child.start()?;
                Ok(child.wait_forwarding(&forwarding)?)
            }),
    )
}

/// The exit code for how the run went, printing an error if it failed.
pub fn report(result: Result<ExitStatus, Error>) -> i32 {
    match result {
        Ok(status) => status.code(),
        Err(err) => {
            eprintln!("dockyard: {err}");
            err.exit_code()
        }
    }
}
