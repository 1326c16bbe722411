//! One error type for the image store; each variant says what to look at.

use std::path::PathBuf;

/// What went wrong, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A blob whose bytes do not hash to its name, or not of its size.
    #[error("blob {digest} is corrupt: {detail}")]
    Corrupt { digest: String, detail: String },
    /// One entry of a layer was refused (hostile, or not representable).
    #[error("layer {layer}: entry {entry:?}: {reason}")]
    Entry {
        layer: String,
        entry: String,
        reason: String,
    },
    /// A layer as a whole: a limit, a compression we cannot read, bad tar.
    #[error("layer {layer}: {reason}")]
    Layer { layer: String, reason: String },
    /// No image by that name, ID or digest.
    #[error("no such image: {0}")]
    NoSuchImage(String),
    /// A manifest, config, index or archive that is not what it should be.
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    /// A file or directory of the store's own.
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Running the container (lab 05).
    #[error(transparent)]
    Runtime(#[from] runtime::Error),
    /// Its read/write layer (lab 06).
    #[error(transparent)]
    Layers(#[from] layers::Error),
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

    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
