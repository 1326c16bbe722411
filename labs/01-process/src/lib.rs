//! Lab 01 — a container is a process.
//!
//! Before namespaces, cgroups or images, a container is just a child
//! process that a parent starts, watches and reports on. This crate is that
//! parent: it turns a command into what `execve(2)` needs, forks, holds the
//! child on a *sync pipe* while it does its own part, learns through a
//! *close-on-exec pipe* how far the child got, holds the set-up child at a
//! *start gate* until `start` (as an OCI runtime's `create` and `start`),
//! forwards signals, and turns the way the child ended into an exit code.
//!
//! The pieces, in the order a run uses them:
//!
//! | module          | concept                                                | task |
//! |-----------------|--------------------------------------------------------|------|
//! | [`command`]      | argv, envp and the `PATH` search, prepared before fork  | 01.1 |
//! | [`status`]       | `waitpid(2)` and the `128 + N` convention               | 01.2 |
//! | [`sync_pipe`]    | the child waits until the parent has done its part      | 01.3 |
//! | [`gate`]         | …and then at a FIFO until `start`, from any process     | 01.3 |
//! | [`exec_report`]  | how far the child got reaches the parent (`O_CLOEXEC`)  | 01.4 |
//! | [`child`]        | between `fork` and `exec`: clean signals, only fds 0–2  | 01.5 |
//! | [`spawn`]        | fork, "created", start, and the parent's handle         | 01.6 |
//! | [`signals`]      | forwarding SIGINT/SIGTERM to the child                  | 01.7 |
//! | [`cli`]          | Docker's exit codes 125/126/127                         | 01.8 |
//! | [`steps`]        | setup steps as named data that later labs add to        |      |
//! | [`panic_report`] | a panic in the child, reported without allocating       |      |

pub mod child;
pub mod cli;
pub mod command;
pub mod error;
pub mod exec_report;
pub mod gate;
pub mod panic_report;
pub mod signals;
pub mod spawn;
pub mod status;
pub mod steps;
pub mod sync_pipe;

pub use command::{Command, DEFAULT_PATH, Prepared};
pub use error::SpawnError;
pub use spawn::{Child, Lifetime, Startup, spawn};
pub use status::{ExitStatus, wait_pid};
pub use steps::Steps;
