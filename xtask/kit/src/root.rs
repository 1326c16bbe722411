//! The root guard.
//!
//! Checks that need privileges never pass silently without them: they fail
//! and say exactly how to run them. (`cargo xtask check NN` builds as you and
//! asks for sudo only to run the test binaries.) Under `CI=true` nothing is
//! skipped either way.

/// Whether the effective user is root (from `dockyard-shared`, which the
/// rest of the tooling uses too).
pub use shared::privileges::is_root;

/// Fail the current check unless it runs as root.
///
/// `lab` is the lab number as written in commands, e.g. `"02"`.
#[track_caller]
pub fn require_root(lab: &str) {
    if is_root() {
        return;
    }
    panic!(
        "this check needs root (it creates namespaces, mounts or cgroups).\n\
         Run it with:  cargo xtask check {lab}\n\
         (xtask builds as you and uses sudo only to run the tests.)"
    );
}
