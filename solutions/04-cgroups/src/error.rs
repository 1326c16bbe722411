//! What can go wrong with limits and cgroups.
//!
//! A cgroup error always carries the file it was about: "cannot write
//! 67108864 to /sys/fs/cgroup/dockyard-x/memory.max: Device or resource
//! busy" says what to look at; a bare "EBUSY" does not.

use std::path::PathBuf;

/// A cgroup file or directory operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {what} {path}: {source}{}", hint(source))]
pub struct CgroupError {
    /// What was being done: "write 64 to", "create", "remove", "read".
    pub what: String,
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl CgroupError {
    pub fn new(what: impl Into<String>, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CgroupError {
            what: what.into(),
            path: path.into(),
            source,
        }
    }

    /// The errno, if the failure was a system call's.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

fn hint(source: &std::io::Error) -> &'static str {
    match source.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => {
            " (cgroups need root, or a delegated subtree: `cargo xtask doctor` explains)"
        }
        Some(libc::ENOENT) => " (is that controller enabled? `cargo xtask doctor` lists them)",
        _ => "",
    }
}

/// A limit given on the command line that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {flag} {value:?}: {reason}")]
pub struct LimitError {
    /// The flag, as the user typed it: `--memory`.
    pub flag: &'static str,
    pub value: String,
    pub reason: String,
}

/// The host's cgroup layout could not be found.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: &'static str,
        source: std::io::Error,
    },
    #[error("no cgroup filesystem is mounted (`cargo xtask doctor` says how to mount one)")]
    NoCgroupfs,
}

/// Why a container with limits could not be started or controlled.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// Labs 01–03: namespaces, rootfs, exec, setup steps.
    #[error(transparent)]
    Rootfs(rootfs::Error),
}

impl From<namespaces::Error> for Error {
    fn from(err: namespaces::Error) -> Error {
        // Our own parent's part comes back through lab 02 boxed: unbox it.
        match err {
            namespaces::Error::Parent(inner) => match inner.downcast::<CgroupError>() {
                Ok(cgroup) => Error::Cgroup(*cgroup),
                Err(other) => Error::Rootfs(namespaces::Error::Parent(other).into()),
            },
            other => Error::Rootfs(other.into()),
        }
    }
}

impl From<rootfs::Error> for Error {
    fn from(err: rootfs::Error) -> Error {
        match err {
            rootfs::Error::Namespaces(inner) => inner.into(),
            other => Error::Rootfs(other),
        }
    }
}

impl From<process::SpawnError> for Error {
    fn from(err: process::SpawnError) -> Error {
        Error::Rootfs(err.into())
    }
}

impl Error {
    /// Docker's exit code for a container that never ran (see lab 01).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Rootfs(err) => err.exit_code(),
            _ => process::cli::EXIT_ENGINE,
        }
    }
}
