//! One error type for the engine; each variant says what to look at.

use std::path::PathBuf;

/// What went wrong, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `-v` or `--mount` that does not parse, or asks for something
    /// impossible. `spec` is the text as given.
    #[error("invalid mount {spec:?}: {reason}")]
    Mount { spec: String, reason: String },
    /// A volume name that is not one path component of safe characters.
    #[error("invalid volume name {name:?}: {reason}")]
    Name { name: String, reason: &'static str },
    /// No such volume.
    #[error("no such volume: {0}")]
    NoVolume(String),
    /// The volume is mounted by a container (running or stopped).
    #[error(
        "volume {name} is in use by container {container} (remove the container first: dockyard-07 rm {container})"
    )]
    InUse { name: String, container: String },
    /// No such container, or a name that is taken.
    #[error("container {id:?}: {reason}")]
    Container { id: String, reason: String },
    /// A mount target that cannot be resolved inside the rootfs.
    #[error("mount target {target}: {reason}")]
    Target { target: PathBuf, reason: String },
    /// A step of `run` failed on purpose (`--fail-at`, for the checks).
    #[error("failed on purpose at: {0}")]
    FailedAt(String),
    /// A file or directory of the engine's own.
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A system call of the engine's own.
    #[error("cannot {what}: {errno}")]
    Sys {
        what: &'static str,
        errno: nix::errno::Errno,
    },
    /// The container itself (lab 05's runtime).
    #[error(transparent)]
    Runtime(#[from] runtime::Error),
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

    /// A mount spec error.
    pub fn mount(spec: &str, reason: impl Into<String>) -> Error {
        Error::Mount {
            spec: spec.to_string(),
            reason: reason.into(),
        }
    }
}
