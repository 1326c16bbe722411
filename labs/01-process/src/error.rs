//! What can go wrong when starting a process, with enough context to say
//! what to do about it.

use nix::errno::Errno;

/// Why a command could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The command line was empty.
    #[error("no command given: use `dockyard run -- COMMAND [ARGS…]`")]
    NoCommand,
    /// C strings end at the first NUL byte, so one inside is unrepresentable.
    #[error("{what} contains a NUL byte: {value:?}")]
    Nul { what: &'static str, value: String },
    /// A system call in the parent failed.
    #[error("cannot {what}: {errno}")]
    Sys { what: &'static str, errno: Errno },
    /// `execve(2)` failed in the child; the errno came back through the
    /// close-on-exec pipe.
    #[error("exec {program}: {}", exec_reason(program, *errno))]
    Exec { program: String, errno: Errno },
    /// A setup step in the child (a later lab's: hostname, mounts, …) failed.
    #[error("cannot {step} in the container: {errno}")]
    Setup { step: &'static str, errno: Errno },
    /// The child's Rust code panicked before exec (a `todo!()`, perhaps).
    #[error("the child panicked before exec: {message}")]
    ChildPanicked { message: String },
    /// The child ended without a word: killed, or it exited on its own.
    #[error("the child died during {during} without reporting why ({status:?})")]
    Died {
        during: &'static str,
        status: crate::status::ExitStatus,
    },
}

impl SpawnError {
    /// A closure for `map_err` that names the failed step.
    pub fn sys(what: &'static str) -> impl Fn(Errno) -> SpawnError {
        move |errno| SpawnError::Sys { what, errno }
    }
}

/// The reason, said the way a user needs it: a bare name that was not
/// found was looked up on `PATH`.
fn exec_reason(program: &str, errno: Errno) -> String {
    match errno {
        Errno::ENOENT if !program.contains('/') => {
            format!("executable file not found in $PATH ({errno})")
        }
        _ => errno.to_string(),
    }
}
