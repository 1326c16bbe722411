//! Volumes in the engine's state dir, laid out as Docker lays them out:
//!
//! ```text
//! STATE/volumes/NAME/_data         what containers see (bind-mounted)
//! STATE/volumes/NAME/volume.json   its metadata (Docker keeps it in a BoltDB)
//! ```
//!
//! A volume is just a directory: its data outlives any container because
//! nothing but `volume rm` ever removes it. What makes a volume more than
//! a directory is the bookkeeping: a name that is safe to use as one path
//! component, metadata written atomically, and the rule that a volume a
//! container still names — running or stopped — is never removed.
//!
//! An *anonymous* volume (`-v /data`, no name) gets a random 64-hex name
//! and the label `com.docker.volume.anonymous`, as Docker 23 gives it:
//! `run --rm` removes it with its container, and `volume prune` removes
//! only those unless `--all`.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::record::Record;

/// The label Docker puts on an anonymous volume.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// One volume's metadata (`volume.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Volume {
    pub name: String,
    /// Seconds since the epoch.
    pub created: u64,
    pub anonymous: bool,
}

/// The engine's state dir.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
}

/// A volume name is one path component: it becomes `volumes/NAME`, so
/// `/` or `..` in it would reach another directory of the host. Docker's
/// rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]*` (it also asks for two characters).
pub fn check_name(name: &str) -> Result<(), Error> {
    // TASK 07.2: refuse names that are not one safe path component
    todo!("07.2: refuse names that are not one safe path component")
    // END TASK 07.2
}

/// A random name for an anonymous volume: 64 hex digits, as Docker's.
pub fn anonymous_name() -> String {
    (0..64)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).expect("a hex digit"))
        .collect()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Store {
    pub fn new(dir: &Path) -> Store {
        Store {
            dir: dir.to_path_buf(),
        }
    }

    pub fn volumes_dir(&self) -> PathBuf {
        self.dir.join("volumes")
    }

    /// `volumes/NAME` (the name must have passed [`check_name`]).
    pub fn volume_dir(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name)
    }

    /// `volumes/NAME/_data`: what containers mount.
    pub fn data_of(&self, name: &str) -> PathBuf {
        self.volume_dir(name).join("_data")
    }

    /// lab 05's runtime root, inside the state dir.
    pub fn runtime_root(&self) -> PathBuf {
        self.dir.join("runtime")
    }

    /// `containers/`: one directory of records per container.
    pub fn containers_dir(&self) -> PathBuf {
        self.dir.join("containers")
    }

    /// A volume's metadata; `NoVolume` when there is none.
    pub fn get(&self, name: &str) -> Result<Volume, Error> {
        check_name(name)?;
        let file = self.volume_dir(name).join("volume.json");
        let text = match fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::NoVolume(name.to_string()));
            }
            Err(e) => return Err(Error::io("read", &file)(e)),
        };
        serde_json::from_str(&text).map_err(|e| Error::Io {
            what: "parse",
            path: file,
            source: e.into(),
        })
    }

    /// Every volume, by name. Directories without metadata (a create
    /// killed half-way: see [`Store::create`]) are not volumes.
    pub fn list(&self) -> Result<Vec<Volume>, Error> {
        let dir = self.volumes_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list", &dir)(e)),
        };
        let mut found: Vec<Volume> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|name| check_name(name).is_ok())
            .filter_map(|name| self.get(&name).ok())
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// The containers whose records name volume `name`.
    pub fn users_of(&self, name: &str) -> Result<Vec<String>, Error> {
        Ok(Record::list(self)?
            .into_iter()
            .filter(|r| r.volumes.iter().any(|v| v == name))
            .map(|r| r.id)
            .collect())
    }

    /// `volume create NAME`: make the volume, or return it if it exists (as
    /// Docker does). Returns the volume and whether this call made it.
    pub fn create(&self, name: &str, anonymous: bool) -> Result<(Volume, bool), Error> {
        // TASK 07.2: check the name; make volumes/NAME/_data and volume.json, atomically
        todo!("07.2: check the name; make volumes/NAME/_data and volume.json, atomically")
        // END TASK 07.2
    }

    /// `volume rm NAME`: refused while a container (running or stopped)
    /// names it — its data would vanish under it.
    pub fn remove(&self, name: &str) -> Result<(), Error> {
        // TASK 07.2: refuse a volume in use; remove its metadata first, then its data
        todo!("07.2: refuse a volume in use; remove its metadata first, then its data")
        // END TASK 07.2
    }

    /// `volume prune [--all]`: remove the volumes no container names —
    /// anonymous ones only, or every one with `all` (Docker ≥ 23).
    pub fn prune(&self, all: bool) -> Result<Vec<String>, Error> {
        // TASK 07.2: remove every unused volume (anonymous only unless `all`)
        todo!("07.2: remove every unused volume (anonymous only unless `all`)")
        // END TASK 07.2
    }

    /// Remove a volume without asking whether it is used: for the engine
    /// itself, undoing what a run made (its record still names the volume).
    pub fn destroy(&self, name: &str) -> Result<(), Error> {
        check_name(name)?;
        let dir = self.volume_dir(name);
        // The metadata first: once it is gone the volume is gone for `ls`
        // and `run`, and a removal killed half-way leaves only a directory
        // that the next `create` of the name replaces.
        let meta = dir.join("volume.json");
        match fs::remove_file(&meta) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(Error::io("remove", &meta)(e));
            }
            _ => {}
        }
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io("remove", &dir)(e)),
            _ => Ok(()),
        }
    }

    /// `volume inspect NAME`, shaped like Docker's.
    pub fn inspect(&self, name: &str) -> Result<serde_json::Value, Error> {
        let volume = self.get(name)?;
        let mut labels = serde_json::Map::new();
        if volume.anonymous {
            labels.insert(ANONYMOUS_LABEL.into(), "".into());
        }
        Ok(serde_json::json!({
            "CreatedAt": runtime::cli::rfc3339(volume.created),
            "Driver": "local",
            "Labels": labels,
            "Mountpoint": self.data_of(name),
            "Name": volume.name,
            "Options": {},
            "Scope": "local",
        }))
    }
}
