//! An engine killed mid-run, and the next run that cleans up after it.
//!
//! `SIGKILL` gives a process no last word: no destructor, no `finally`.
//! If the engine dies after it wrote a container's record, what it made
//! stays — anonymous volumes, a half-seeded volume, the runtime's
//! container (held at its exec FIFO or running, with its cgroup, and the
//! volume mounts in its mount namespace). Nothing in the *host's* mount
//! table: every mount lives in the container's namespace and goes with
//! its last process.
//!
//! Every command of the engine starts with [`recover`]: a record whose
//! phase is not `exited` and whose engine is gone (pid and start time, see
//! [`Record::engine_alive`]) is an orphan, and [`recover_one`] finishes
//! its story — the way dockerd's start-up reconciles its containers with
//! what containerd still runs.

use std::fs;
use std::path::Path;

use crate::engine;
use crate::error::Error;
use crate::record::{Phase, Record};
use crate::store::Store;

// ANCHOR: recover_one
/// Finish an orphan's story: kill its container (lab 05's `delete
/// --force`: the process, its cgroup, and with them its mounts), then
/// `--rm`: remove its anonymous volumes and the record; otherwise mark it
/// exited (killed: no exit code) so `rm` can remove it.
pub fn recover_one(store: &Store, record: &Record) -> Result<(), Error> {
    // TASK 07.5: the runtime's container first (force), then volumes and record, or mark it exited
    match runtime::container::delete(&store.runtime_root(), &record.id, true) {
        Ok(()) => {}
        // No state yet: the engine died before the runtime saved one (or
        // before it began). Its directory may be there, empty.
        Err(runtime::Error::Id { .. }) => {
            let dir = runtime::container::dir_of(&store.runtime_root(), &record.id);
            let _ = std::fs::remove_dir_all(dir);
        }
        Err(err) => return Err(err.into()),
    }
    if record.remove {
        // Named volumes stay (as Docker keeps them); the record goes last.
        engine::discard(store, record, true)
    } else {
        let mut record = record.clone();
        record.phase = Phase::Exited;
        record.exit_code = None;
        record.save(store)
    }
    // END TASK 07.5
}
// ANCHOR_END: recover_one

/// Remove what a killed engine left half-made under `dir` (`volumes/`,
/// `containers/`): the hidden `.NAME.PID` directories of a create whose
/// process is gone. Nothing lists them; nothing else removes them.
pub fn sweep(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix('.')
            .and_then(|rest| rest.rsplit_once('.'))
            .and_then(|(_, pid)| pid.parse::<i32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Recover every orphan; returns their ids.
pub fn recover(store: &Store) -> Result<Vec<String>, Error> {
    sweep(&store.volumes_dir());
    sweep(&store.containers_dir());
    let mut recovered = Vec::new();
    for record in Record::list(store)? {
        if record.is_orphan() {
            recover_one(store, &record)?;
            recovered.push(record.id);
        }
    }
    Ok(recovered)
}
