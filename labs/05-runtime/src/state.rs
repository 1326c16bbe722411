//! The state of a container, as the runtime spec defines it.
//!
//! `state ID` prints a JSON object — `ociVersion`, `id`, `status`, `pid`,
//! `bundle`, `annotations` — and callers such as containerd's shim parse
//! it. The runtime keeps it in `<root>/<id>/state.json` between its own
//! invocations: each command is a new process, so the file *is* the
//! runtime's memory.
//!
//! Two rules make it trustworthy:
//!
//! - **Written atomically**: into a temporary file in the same directory,
//!   then `rename(2)` over the old one. A reader sees the old state or the
//!   new one, never half of each, even if the writer is killed midway.
//! - **The status is derived, not believed.** The file says what the
//!   runtime last did; whether the process still lives is asked of the
//!   kernel each time. A pid alone is not enough: after the container
//!   exits, the kernel may give its pid to an unrelated process. So the
//!   file also keeps the process's *start time* (field 22 of
//!   `/proc/PID/stat`, in clock ticks since boot), and a pid whose start
//!   time differs is another process: the container is stopped.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The spec's version this runtime writes in its state.
pub const OCI_VERSION: &str = "1.0.2";

/// The name of the state file in a container's directory.
pub const STATE_FILE: &str = "state.json";

/// The container's status, with the spec's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `create` is still setting it up.
    Creating,
    /// Set up, held at the exec FIFO: its program has not started.
    Created,
    /// Its program runs (`start` opened the FIFO).
    Running,
    /// Running, but its processes are frozen (`pause`, runc's word and
    /// Docker's; not one of the spec's four). Derived by `container::load`
    /// from the cgroup's freezer, never by `current_status`.
    Paused,
    /// Its process has exited.
    Stopped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        };
        f.write_str(word)
    }
}

/// What `state ID` prints, plus what the runtime needs to find the
/// container again (kept in the same file, after the spec's fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub oci_version: String,
    pub id: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub bundle: PathBuf,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The process's start time (clock ticks after boot), to tell it from
    /// a later process that got the same pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    /// The cgroup's directories, one per hierarchy, to remove on delete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroup_dirs: Vec<PathBuf>,
    /// Parent directories of the cgroup that `create` made (for a nested
    /// `cgroupsPath`), removed on delete when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroup_parents: Vec<PathBuf>,
}

impl State {
    /// The state of a container being created.
    pub fn new(id: &str, bundle: &Path, annotations: BTreeMap<String, String>) -> State {
        State {
            oci_version: OCI_VERSION.to_string(),
            id: id.to_string(),
            status: Status::Creating,
            pid: None,
            bundle: bundle.to_path_buf(),
            annotations,
            start_time: None,
            cgroup_dirs: Vec::new(),
            cgroup_parents: Vec::new(),
        }
    }

    /// Read `dir/state.json`.
    pub fn load(dir: &Path) -> Result<State, Error> {
        let path = dir.join(STATE_FILE);
        let text = fs::read_to_string(&path).map_err(Error::io("read", &path))?;
        serde_json::from_str(&text).map_err(|err| Error::CorruptState {
            path,
            reason: err.to_string(),
        })
    }

    /// Write `dir/state.json` atomically: a temporary file, then a rename.
    pub fn save(&self, dir: &Path) -> Result<(), Error> {
        let path = dir.join(STATE_FILE);
        let temporary = dir.join(format!(".{STATE_FILE}.{}", std::process::id()));
        let text = serde_json::to_vec_pretty(self).expect("a state always serializes");
        let written = (|| {
            // No fsync: the rename is what makes a reader see the old
            // state or the new one, never half. An fsync only matters for
            // a power cut, after which `/run` (a tmpfs) is empty anyway and
            // every container is gone; it cost ~1 ms per save on a disk.
            let mut file = fs::File::create(&temporary)?;
            file.write_all(&text)
        })();
        if let Err(err) = written {
            let _ = fs::remove_file(&temporary);
            return Err(Error::io("write", &temporary)(err));
        }
        fs::rename(&temporary, &path).map_err(Error::io("rename into place", &path))
    }

    /// The status now: the recorded one, checked against the kernel.
    /// `gate` is the exec FIFO's path: it exists until `start` opens it.
    pub fn current_status(&self, gate: &Path) -> Status {
        // TASK 05.1: the pid alive with its recorded start time? created while the FIFO is there
        todo!("05.1: the pid alive with its recorded start time? created while the FIFO is there")
        // END TASK 05.1
    }

    /// The spec's fields only, as `state ID` prints them.
    pub fn public(&self, status: Status) -> serde_json::Value {
        let mut value = serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "status": status,
            "bundle": self.bundle,
            "annotations": self.annotations,
        });
        // The spec: pid is required while created or running.
        if let (Some(pid), Status::Created | Status::Running | Status::Paused) = (self.pid, status)
        {
            value["pid"] = pid.into();
        }
        value
    }
}

/// Field 22 of `/proc/PID/stat` (the start time), or `None` if there is no
/// such process or it is a zombie (it has exited; only its parent's
/// `wait` is missing).
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command (field 2) is in parentheses and may hold spaces and
    // parentheses itself: split after the *last* ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (the state): field N is fields[N - 3].
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    fields.get(22 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_start_time_is_read() {
        let me = std::process::id() as i32;
        assert!(process_start_time(me).is_some());
        assert_eq!(process_start_time(i32::MAX), None);
    }

    #[test]
    fn a_state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::new("a", Path::new("/b"), BTreeMap::new());
        state.pid = Some(1);
        state.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), state);
    }
}
