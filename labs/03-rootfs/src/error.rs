//! What can go wrong before a container gets its root filesystem.

use std::path::PathBuf;

/// Why a container could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rootfs is missing or not usable; no namespace, mount or process
    /// was created.
    #[error("rootfs {path}: {reason}")]
    Rootfs { path: PathBuf, reason: String },
    /// The program is not in the rootfs; no namespace, mount or process was
    /// created.
    #[error("exec {program}: not found in the rootfs {rootfs}{}", if program.contains('/') { "" } else { " (searched its PATH)" })]
    NotFound { program: String, rootfs: PathBuf },
    /// `execve` said ENOENT for a program the rootfs has: what is missing
    /// is what the kernel needs to start it.
    #[error(
        "exec {program}: it is in the rootfs, but what it needs to start is not: the ELF \
         interpreter its PT_INTERP names (e.g. /lib64/ld-linux-x86-64.so.2; a static binary \
         needs none), or the interpreter on its #! line (ENOENT)"
    )]
    Interpreter { program: String },
    /// Lab 02's errors (namespaces, id maps) and lab 01's (exec, setup steps).
    #[error(transparent)]
    Namespaces(#[from] namespaces::Error),
}

impl From<process::SpawnError> for Error {
    fn from(err: process::SpawnError) -> Error {
        Error::Namespaces(err.into())
    }
}

impl Error {
    /// Docker's exit code for a container that never ran (see lab 01).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound { .. } | Error::Interpreter { .. } => process::cli::EXIT_NOT_FOUND,
            Error::Rootfs { .. } => process::cli::EXIT_ENGINE,
            Error::Namespaces(err) => err.exit_code(),
        }
    }
}
