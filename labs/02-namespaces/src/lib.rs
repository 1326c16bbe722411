//! Lab 02 — isolation with namespaces.
//!
//! A namespace gives a process its own copy of one global resource: its own
//! hostname (UTS), process ids (PID), System V IPC objects (IPC), network
//! stack (NET), mount table (mount), cgroup root (cgroup) and user and group
//! ids (user). A container is a process started in new ones of all of them.
//! Lab 01's child is now created with `clone(2)` instead of `fork(2)`, with
//! a `CLONE_NEW*` flag per namespace, and sets itself up before exec.
//!
//! | module       | concept                                              | task |
//! |--------------|------------------------------------------------------|------|
//! | [`config`]   | which namespaces, and their `CLONE_NEW*` flags       | 02.1 |
//! | [`hostname`] | UTS: a hostname of its own                           | 02.2 |
//! | [`loopback`] | NET: a new network namespace has only `lo`, down     | 02.3 |
//! | [`idmap`]    | USER: uid/gid maps written by the parent, rootless   | 02.4 |
//! | [`spawn`]    | `clone` into all of them at once                     | 02.5 |
//! | [`init`]     | PID: a minimal init that reaps zombies, forwards signals | 02.6, 02.7 |
//! | [`child`]    | the child's steps between clone and exec             |      |
//! | [`clone3`]   | lab 05's: a child born in its cgroup v2              |      |
//! | [`cli`]      | `dockyard run --hostname NAME [--userns] [--init]`   |      |

pub mod child;
pub mod cli;
pub mod clone3;
pub mod config;
pub mod error;
pub mod hostname;
pub mod idmap;
pub mod init;
pub mod loopback;
pub mod spawn;

pub use config::{Config, Namespaces};
pub use error::Error;
pub use spawn::spawn;
