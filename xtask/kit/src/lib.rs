//! The check kit: everything a lab's checks share.
//!
//! A check is an ordinary `#[test]` in a lab's `tests/` directory, named
//! `tNN_K_what_it_checks` so that `cargo xtask check` can tie it to task
//! `NN.K`. A typical check:
//!
//! ```no_run
//! let check = kit::Check::new();          // temp dir + leak guard
//! let probe = kit::probe();               // the static probe binary
//! let name = kit::random::hostname();     // nothing a learner can hard-code
//! // … run the probe through the lab's API, parse what it printed …
//! # let _ = (check, probe, name);
//! ```
//!
//! When the `Check` goes out of scope it asserts that the check left no
//! mount, cgroup, network namespace, network interface or child process
//! behind.

pub mod check;
pub mod elf;
pub mod leaks;
pub mod probe;
pub mod random;
pub mod redact;
pub mod root;
pub mod rootfs;
pub mod run;
pub mod stream;

pub use check::Check;
pub use probe::{Report, probe};
pub use redact::redact;
pub use root::require_root;
pub use run::{Output, run};
pub use stream::Running;

/// Re-exported so checks use the kit's insta (same version, same settings).
pub use insta;

/// The usual deadline for one program a check runs.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);
