//! One error type for the lab; each variant says what to look at.

use std::path::PathBuf;

/// What went wrong with a layer, an overlay mount or a diff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory of the layer store, or of a layer.
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A path overlay's mount data cannot carry, or that is not usable.
    #[error("{path}: {reason}")]
    BadPath { path: PathBuf, reason: String },
    /// A layer id that is taken, unknown or not a valid name.
    #[error("layer {id:?}: {reason}")]
    Id { id: String, reason: String },
    /// The overlay mount itself; `detail` is what the kernel logged, if anything.
    #[error("cannot mount the overlay on {target}: {errno}{detail}")]
    Mount {
        target: PathBuf,
        errno: nix::errno::Errno,
        detail: String,
    },
    /// A system call about a path.
    #[error("cannot {what} {path}: {errno}")]
    Sys {
        what: &'static str,
        path: PathBuf,
        errno: nix::errno::Errno,
    },
    /// An upper directory the diff cannot represent faithfully.
    #[error("cannot diff {path}: {reason}")]
    Diff { path: PathBuf, reason: String },
    /// A step failed on purpose (`--fail-at`, for the checks).
    #[error("failed on purpose at {step:?}")]
    Injected { step: String },
    /// The container (lab 05).
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

    /// A closure for `map_err` on a system call about `path`.
    pub fn sys(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(nix::errno::Errno) -> Error {
        let path = path.into();
        move |errno| Error::Sys { what, path, errno }
    }
}
