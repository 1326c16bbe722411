//! A container's record: `containers/ID/record.json`.
//!
//! The record is written **before** anything else of the container exists
//! — before a volume is made, a bundle written or a process cloned — and
//! names everything `run` is about to make: the volumes it mounts, the
//! anonymous ones it will create, the named ones that did not exist yet,
//! the runtime container (same id). So whatever happens to the engine
//! afterwards, even `SIGKILL` between two system calls, the next engine
//! can read what to undo ([`crate::recover`]). It also records who was
//! running it: the engine's pid *and start time* (a pid alone may belong to
//! a new process by then, see lab 05's state), so "the engine died" is a
//! fact read from the kernel, not a guess.
//!
//! Written atomically (a temporary file, then `rename(2)`), as lab 05's
//! state: a reader sees the old record or the new one.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::store::Store;

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// `run` is making its volumes, bundle and process.
    Creating,
    /// Its program runs (or ran, if the engine died meanwhile).
    Running,
    /// It exited; its record stays until `rm` (or `--rm`).
    Exited,
}

/// What one container uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub phase: Phase,
    /// The engine that runs it: pid and start time (clock ticks after boot).
    pub engine_pid: i32,
    pub engine_start: Option<u64>,
    /// `run --rm`: remove it, and its anonymous volumes, when it exits.
    pub remove: bool,
    /// The container's first process, once cloned.
    pub pid: Option<i32>,
    pub exit_code: Option<i32>,
    /// Every volume it mounts (names).
    pub volumes: Vec<String>,
    /// Those of `volumes` that are anonymous: removed with it (`--rm`, `rm -v`).
    pub anonymous: Vec<String>,
    /// Named volumes this run made (removed again if `run` fails).
    pub made: Vec<String>,
    pub rootfs: PathBuf,
}

impl Record {
    /// A new record for container `id`, run by this process.
    pub fn new(id: &str, remove: bool, rootfs: PathBuf) -> Record {
        let me = std::process::id() as i32;
        Record {
            id: id.to_string(),
            phase: Phase::Creating,
            engine_pid: me,
            engine_start: runtime::state::process_start_time(me),
            remove,
            pid: None,
            exit_code: None,
            volumes: Vec::new(),
            anonymous: Vec::new(),
            made: Vec::new(),
            rootfs,
        }
    }

    /// `containers/ID`.
    pub fn dir(store: &Store, id: &str) -> PathBuf {
        store.containers_dir().join(id)
    }

    /// The bundle lab 05's runtime is given: `containers/ID/bundle`.
    pub fn bundle(&self, store: &Store) -> PathBuf {
        Record::dir(store, &self.id).join("bundle")
    }

    /// Whether the engine that wrote it still runs (same pid, same start time).
    pub fn engine_alive(&self) -> bool {
        self.engine_start.is_some()
            && runtime::state::process_start_time(self.engine_pid) == self.engine_start
    }

    /// An engine died while this container was being made or run: its
    /// record says so and nobody is left to clean up.
    pub fn is_orphan(&self) -> bool {
        self.phase != Phase::Exited && !self.engine_alive()
    }

    /// Write it atomically.
    pub fn save(&self, store: &Store) -> Result<(), Error> {
        let dir = Record::dir(store, &self.id);
        fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
        let file = dir.join("record.json");
        let temporary = dir.join(format!(".record.json.{}", std::process::id()));
        let text = serde_json::to_string_pretty(self).expect("json");
        fs::write(&temporary, text).map_err(Error::io("write", &temporary))?;
        fs::rename(&temporary, &file).map_err(Error::io("rename into place", &file))
    }

    /// Write a new record, atomically *with its directory*: made as
    /// `containers/.ID.PID`, then renamed to `containers/ID` — which fails
    /// if the name is taken. A process killed before the rename leaves only
    /// a hidden directory that [`crate::recover::sweep`] removes.
    pub fn create(&self, store: &Store) -> Result<(), Error> {
        let containers = store.containers_dir();
        fs::create_dir_all(&containers).map_err(Error::io("create", &containers))?;
        let temporary = containers.join(format!(".{}.{}", self.id, std::process::id()));
        let _ = fs::remove_dir_all(&temporary);
        fs::create_dir(&temporary).map_err(Error::io("create", &temporary))?;
        let file = temporary.join("record.json");
        let text = serde_json::to_string_pretty(self).expect("json");
        let renamed = fs::write(&file, text)
            .map_err(Error::io("write", &file))
            .and_then(|()| {
                // rename(2) of a directory replaces only an *empty* one:
                // a second engine with the same name fails here.
                let dir = Record::dir(store, &self.id);
                fs::rename(&temporary, &dir).map_err(|_| Error::Container {
                    id: self.id.clone(),
                    reason: "the name is already in use by a container (dockyard-07 rm it)".into(),
                })
            });
        if renamed.is_err() {
            let _ = fs::remove_dir_all(&temporary);
        }
        renamed
    }

    /// The record of container `id`.
    pub fn load(store: &Store, id: &str) -> Result<Record, Error> {
        runtime::container::check_id(id)?;
        let file = Record::dir(store, id).join("record.json");
        let text = match fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::Container {
                    id: id.to_string(),
                    reason: "no such container".into(),
                });
            }
            Err(e) => return Err(Error::io("read", &file)(e)),
        };
        serde_json::from_str(&text).map_err(|e| Error::Io {
            what: "parse",
            path: file,
            source: e.into(),
        })
    }

    /// Every record, by id.
    pub fn list(store: &Store) -> Result<Vec<Record>, Error> {
        let dir = store.containers_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list", &dir)(e)),
        };
        let mut found: Vec<Record> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter_map(|id| Record::load(store, &id).ok())
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }
}
