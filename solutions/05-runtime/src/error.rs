//! One error type for the runtime; each variant says what to look at.

use std::path::PathBuf;

/// What went wrong, in words a caller (a person, or containerd's log) can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// config.json could not be read or parsed; `path` is the JSON path.
    #[error("{file}: {path}: {message}")]
    Config {
        file: PathBuf,
        path: String,
        message: String,
    },
    /// A field this runtime does not implement, refused rather than ignored.
    #[error("{field} is not supported by dockyard-runtime: {why}")]
    Unsupported { field: &'static str, why: String },
    /// The bundle is not usable (no rootfs, a bad ociVersion, …).
    #[error("bundle {bundle}: {reason}")]
    Bundle { bundle: PathBuf, reason: String },
    /// `ID` is taken, unknown, or not a valid name.
    #[error("container {id:?}: {reason}")]
    Id { id: String, reason: String },
    /// The operation does not fit the container's status.
    #[error("container {id:?} is {status}: {reason}")]
    WrongState {
        id: String,
        status: crate::state::Status,
        reason: &'static str,
    },
    /// A state file that is not what this runtime wrote.
    #[error("the state file {path} is corrupt: {reason} (delete --force removes it)")]
    CorruptState { path: PathBuf, reason: String },
    /// A hook of config.json failed (or ran past its timeout).
    #[error("the {point} hook {path} failed: {reason}")]
    Hook {
        point: &'static str,
        path: PathBuf,
        reason: String,
    },
    /// process.terminal and --console-socket do not fit together.
    #[error("{0}")]
    Console(&'static str),
    /// A file or directory of the runtime's own.
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Starting the container failed (labs 01–03).
    #[error(transparent)]
    Namespaces(#[from] namespaces::Error),
    /// The rootfs (lab 03).
    #[error(transparent)]
    Rootfs(#[from] rootfs::Error),
    /// Its cgroup (lab 04).
    #[error(transparent)]
    Cgroup(#[from] cgroups::CgroupError),
    /// Its limits (lab 04).
    #[error(transparent)]
    Cgroups(#[from] cgroups::Error),
    /// A system call of the runtime's own.
    #[error("cannot {what}: {errno}")]
    Sys {
        what: &'static str,
        errno: nix::errno::Errno,
    },
    #[error(transparent)]
    Spawn(#[from] process::SpawnError),
}

impl Error {
    /// A closure for `map_err` on an `io::Result` about `path`.
    pub fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { what, path, source }
    }

    /// A closure for `map_err` on a system call.
    pub fn sys(what: &'static str) -> impl Fn(nix::errno::Errno) -> Error {
        move |errno| Error::Sys { what, errno }
    }
}
