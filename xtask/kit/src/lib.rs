//! The check kit: everything a lab's checks share.
//!
//! A check is an ordinary `#[test]` in a lab's `tests/` directory, named
//! `tNN_K_what_it_checks` so that `cargo xtask check` can tie it to task
//! `NN.K`. A typical check:
//!
//! ```no_run
//! # use std::process::Command;
//! let check = kit::Check::new();          // temp dir + leak guard + host lock
//! let probe = kit::probe();               // the static probe binary
//! let name = kit::random::hostname();     // nothing a learner can hard-code
//! let mut dockyard = Command::new("dockyard-02");
//! dockyard.args(["run", "--hostname", &name, "--"]).arg(probe).arg("report");
//! // Every program gets a deadline of seconds, and a hint for when it
//! // expires: what did not happen, what to look at.
//! let out = kit::run_or(&mut dockyard, kit::DEADLINE, "dockyard never exited: does it wait for its child?");
//! let report = kit::Report::parse(&out.stdout);
//! assert_eq!(report.str("/hostname"), name);
//! ```
//!
//! When the `Check` goes out of scope it asserts that the check left no
//! mount, cgroup (at any depth), network namespace, network interface,
//! firewall rule, changed sysctl or host name, or process behind, and
//! cleans up what it can (see [`leaks`]).
//!
//! Nothing a check does may hang in silence:
//!
//! - [`run_or`] / [`run()`]: a program to completion, under a deadline;
//! - [`Running`]: a program read line by line ([`Running::next_json_or`],
//!   [`Running::finish_or`]), killed with everything it started on drop;
//! - [`Check::within`]: a call into the lab's code in the test process
//!   (`child.wait()`), under a deadline.
//!
//! On expiry the kit kills the program's process group, every process
//! below it and, in a check, every process new since it started (the test
//! process is a child subreaper during checks, so orphans stay below it),
//! and the check fails with a first line such as
//! "`dockyard-02 run …` did not exit within 10s: {hint}", then what the
//! program printed.

pub mod check;
pub mod elf;
pub mod firewall;
pub mod hostlock;
pub mod image;
pub mod leaks;
pub mod probe;
pub mod procs;
pub mod random;
pub mod redact;
pub mod root;
pub mod rootfs;
pub mod run;
pub mod sealed;
pub mod stream;

pub use check::Check;
pub use probe::{Report, probe};
pub use redact::redact;
pub use root::require_root;
pub use run::{Output, run, run_or};
pub use stream::Running;

/// Re-exported so checks use the kit's insta (same version, same settings).
pub use insta;

/// The usual deadline for one program a check runs.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);
