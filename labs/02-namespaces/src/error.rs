//! What can go wrong when starting a container in new namespaces.

use std::path::PathBuf;

use nix::errno::Errno;
use process::SpawnError;

/// Why a container could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot work; nothing was created.
    #[error("{0}")]
    Config(String),
    /// `clone(2)` refused to create the namespaces.
    #[error("cannot create the namespaces: {errno}{}", clone_hint(*errno, *userns))]
    Clone { errno: Errno, userns: bool },
    /// Writing the user namespace's id maps failed.
    #[error("cannot write {path}: {source}")]
    IdMap {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A later lab's share of the parent's part failed (lab 04: placing the
    /// child in its cgroup); the child was killed and reaped.
    #[error("{0}")]
    Parent(Box<dyn std::error::Error + Send + Sync>),
    /// Lab 01's errors: exec, setup steps in the child, system calls.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

fn clone_hint(errno: Errno, userns: bool) -> &'static str {
    match errno {
        Errno::EPERM if userns => {
            " (this kernel refuses user namespaces to unprivileged users, or limits them: \
             `cargo xtask doctor` says why and how to allow them)"
        }
        Errno::EPERM => {
            " (creating namespaces needs root; without root, add --userns where the kernel \
             allows unprivileged user namespaces — `cargo xtask doctor` tells)"
        }
        Errno::ENOSPC => " (a namespace limit in /proc/sys/user/max_*_namespaces is reached)",
        _ => "",
    }
}

impl Error {
    /// Docker's exit code for a container that never ran (see lab 01).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Spawn(err) => process::cli::exit_code(err),
            _ => process::cli::EXIT_ENGINE,
        }
    }
}
