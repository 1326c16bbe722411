//! Lab 01 — a container is a process.
//!
//! Before namespaces, cgroups or images, a container is just a child
//! process that a parent starts, watches and reports on. This crate is that
//! parent: it turns a command into what `execve(2)` needs, forks, holds the
//! child on a *sync pipe* until it is ready, learns whether `exec` worked
//! through a *close-on-exec pipe*, forwards signals, and turns the way the
//! child ended into an exit code.
//!
//! The pieces, in the order a run uses them:
//!
//! | module          | concept                                                | task |
//! |-----------------|--------------------------------------------------------|------|
//! | [`command`]     | argv, envp and the `PATH` search, prepared before fork | 01.1 |
//! | [`status`]      | `waitpid(2)` and the `128 + N` convention              | 01.2 |
//! | [`sync_pipe`]   | the child waits until the parent releases it           | 01.3 |
//! | [`exec_report`] | failures in the child reach the parent (`O_CLOEXEC`)   | 01.4 |
//! | [`child`]       | what runs between `fork` and `exec`                    | 01.5 |
//! | [`spawn`]       | fork, and the parent's handle on the child             | 01.6 |
//! | [`signals`]     | forwarding SIGINT/SIGTERM to the child                 | 01.7 |
//! | [`cli`]         | Docker's exit codes 125/126/127                        | 01.8 |

pub mod child;
pub mod cli;
pub mod command;
pub mod error;
pub mod exec_report;
pub mod signals;
pub mod spawn;
pub mod status;
pub mod sync_pipe;

pub use command::{Command, DEFAULT_PATH, Prepared};
pub use error::SpawnError;
pub use spawn::{Child, spawn};
pub use status::{ExitStatus, wait_pid};
