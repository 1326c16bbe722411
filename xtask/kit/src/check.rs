//! One check's surroundings: a private temp dir and a leak guard.
//!
//! Checks in one test binary run on several threads, but each check that
//! holds a `Check` runs alone: the leak guard compares the whole host's
//! mounts, cgroups and interfaces before and after, which only means
//! something if no other check is changing them at the same time.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use crate::leaks::Snapshot;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A check in progress. Dropping it asserts that nothing leaked.
pub struct Check {
    before: Snapshot,
    dir: tempfile::TempDir,
    _alone: MutexGuard<'static, ()>,
}

impl Check {
    /// Start a check: wait for the other checks to finish, take a snapshot of
    /// the host, and make a temp dir.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Check {
        // A check that failed poisons the lock; the next one may still run.
        let alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::Builder::new()
            .prefix("dockyard-check-")
            .tempdir()
            .expect("temp dir");
        Check {
            before: Snapshot::take(),
            dir,
            _alone: alone,
        }
    }

    /// This check's private directory, removed at the end.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Check {
    fn drop(&mut self) {
        let leaks = self.before.settles();
        // Whatever happened, leave the host as it was before the check.
        if leaks.is_err() {
            self.before.clean_up(self.dir.path());
        }
        // A failing check already reports its own failure; a second panic
        // here would abort the test binary.
        if std::thread::panicking() {
            return;
        }
        if let Err(leaks) = leaks {
            panic!(
                "the check left things behind (the kit has cleaned up what it could):\n  - {}",
                leaks.join("\n  - ")
            );
        }
    }
}
