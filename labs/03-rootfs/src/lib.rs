//! Lab 03 — a filesystem of its own.
//!
//! A new mount namespace starts as a *copy* of the host's mount table: the
//! container still sees every host file. This lab gives it a root
//! filesystem of its own and hides the host's for good:
//!
//! ```text
//! parent: check the rootfs, find the program in it      (before any namespace)
//! child:  make every mount private ─▶ bind the rootfs onto itself
//!         ─▶ mount /proc, /sys (read-only) and /dev into it
//!         ─▶ pivot_root into it, detach the old root ─▶ mask /proc paths ─▶ exec
//! ```
//!
//! | module      | concept                                                 | task |
//! |-------------|---------------------------------------------------------|------|
//! | [`resolve`] | paths inside a rootfs, symlinks resolved inside it      | 03.1 |
//! | [`mounts`]  | private propagation; the rootfs bind-mounted on itself  | 03.2, 03.3 |
//! | [`mounts`]  | `/proc` for the new PID namespace, `/sys` read-only     | 03.4 |
//! | [`dev`]     | a minimal `/dev`                                        | 03.5 |
//! | [`pivot`]   | `pivot_root`, and why `chroot` is not enough            | 03.6 |
//! | [`mask`]    | masked and read-only paths, as runc sets them           | 03.7 |
//! | [`spawn`]   | the steps, in order, in the child                       | 03.8 |
//! | [`target`]  | mount targets opened by fd, inside the rootfs (given)   | — |

pub mod cli;
pub mod dev;
pub mod error;
pub mod layout;
pub mod mask;
pub mod mounts;
pub mod pivot;
pub mod resolve;
pub mod spawn;
pub mod target;

pub use error::Error;
pub use layout::Layout;
pub use spawn::{RootMode, spawn};
