//! Born in its cgroup: placing the container without migrating it.
//!
//! Lab 04 places the child the plain way (task 04.6): while it waits, the
//! parent writes its pid to `cgroup.procs` in every hierarchy. That is
//! correct, but each such write *migrates* a process, and to migrate one
//! the kernel takes its global `cgroup_threadgroup_rwsem` for writing: the
//! writer waits for an RCU grace period (lab 02's `clone3` module says
//! why). On this project's machines that one write took 4–30 ms of a
//! `run` that otherwise needs about 3 (`cargo xtask bench runtime`). So
//! the runtime does no migration at all:
//!
//! - **cgroup v2** (a pure v2 host, or the `unified` tree of a hybrid):
//!   `clone3(CLONE_INTO_CGROUP)` creates the child in its directory (lab
//!   02's `Config::clone_into_cgroup`).
//! - **cgroup v1** has no such flag. But v1 lets the threads of a process
//!   sit in different cgroups, and a thread that moves *only itself* — it
//!   writes `0` to a `tasks` file — takes no global lock (in
//!   `cgroup_procs_write_start()` the lock is for moving another task or a
//!   whole thread group). So the thread that is about to `clone` steps into
//!   the container's v1 cgroups, clones — a child is born in the cgroups of
//!   the thread that made it — and steps back before the child is released.
//!
//! Either way the child is in its cgroups before its first instruction, as
//! with lab 04's way, and the create hooks see it there. What the round
//! trip costs:
//!
//! - the parent thread counts toward the container's `pids.max` while it is
//!   there: with a limit of 1 there would be no room for the child, so such
//!   a container is placed the plain way;
//! - memory the thread faults in meanwhile is charged to the container's
//!   v1 memory cgroup, and stays charged there: it makes a few small
//!   allocations (the start of lab 02's `spawn_with`), the `clone` and the
//!   id maps' writes; the child's kernel stack and page tables are the
//!   child's anyway;
//! - it is under the container's CPU quota, and its device cgroup (which
//!   may deny every device: it opens none), for those few hundred
//!   microseconds.
//!
//! Whatever cannot be done this way — no `clone3` (a seccomp filter, a
//! kernel before 5.7), a `tasks` file that cannot be opened, a lab 02 that
//! ignores `clone_into_cgroup` — is done the plain way by
//! [`Birth::complete`], which looks where the child actually is.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use cgroups::CgroupManager;
use cgroups::layout::Layout;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::error::Error;

/// A v1 hierarchy's container directory, its `tasks`, and this thread's
/// own `tasks` there.
type Trip = (PathBuf, File, File);

/// How a container's child gets into its cgroups (see the module's docs).
#[derive(Debug, Default)]
pub struct Birth {
    /// The cgroup v2 directory, open for `clone3(CLONE_INTO_CGROUP)`.
    v2: Option<(PathBuf, OwnedFd)>,
    /// v1: each hierarchy's container directory, its `tasks`, and this
    /// thread's own `tasks` in the same hierarchy, to come back to.
    v1: Vec<Trip>,
    /// This thread's cgroups before the round trip, to check it came back.
    home: String,
    /// Whether this thread is in the container's v1 cgroups now.
    entered: bool,
    /// Whether it was when it cloned: the child was born in them.
    born_in_v1: bool,
}

impl Birth {
    /// Open what the fast ways need; whatever cannot be opened is left to
    /// the plain way. `room_for_thread`: whether this thread may step into
    /// the container's v1 cgroups — it counts toward their `pids.max`
    /// while it is there (see [`Birth::room_for_thread`]).
    pub fn prepare(cgroup: &dyn CgroupManager, layout: &Layout, room_for_thread: bool) -> Birth {
        let mut birth = Birth::default();
        let mut v1_dirs = Vec::new();
        for dir in cgroup.dirs() {
            // A v1 directory has `tasks`; a v2 one does not.
            if dir.join("tasks").exists() {
                v1_dirs.push(dir);
            } else if birth.v2.is_none() {
                let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
                if let Ok(fd) = open(&dir, flags, Mode::empty()) {
                    birth.v2 = Some((dir, fd));
                }
            }
        }
        if !v1_dirs.is_empty()
            && room_for_thread
            && let Some((home, trips)) = round_trip(layout, &v1_dirs)
        {
            birth.home = home;
            birth.v1 = trips;
        }
        birth
    }

    /// Whether a new container with `pids_limit` has room for the round
    /// trip's thread beside its first process: not with a limit of 1.
    pub fn room_for_thread(pids_limit: Option<u64>) -> bool {
        pids_limit.is_none_or(|max| max >= 2)
    }

    /// The fd to give lab 02's `Config::clone_into_cgroup`.
    pub fn clone_into(&self) -> Option<RawFd> {
        self.v2.as_ref().map(|(_, fd)| fd.as_raw_fd())
    }

    // ANCHOR: enter
    /// Move this thread into the container's v1 cgroups, to `clone` there.
    /// On an error, it is back where it was and the plain way will be used.
    pub fn enter(&mut self) {
        for k in 0..self.v1.len() {
            if (&self.v1[k].1).write_all(b"0").is_err() {
                // Back out of those entered, through their own files.
                for (_, _, home) in &self.v1[..k] {
                    let _ = (&*home).write_all(b"0");
                }
                self.v1.clear();
                return;
            }
        }
        self.entered = !self.v1.is_empty();
        self.born_in_v1 = self.entered;
    }
    // ANCHOR_END: enter

    /// Move this thread back to its own v1 cgroups (a no-op if it is not in
    /// the container's).
    pub fn leave(&mut self) -> Result<(), Error> {
        if !std::mem::take(&mut self.entered) {
            return Ok(());
        }
        let mut first = Ok(());
        for (_, _, home) in &self.v1 {
            // Every hierarchy, even after an error: no thread left behind.
            if let Err(err) = (&*home).write_all(b"0")
                && first.is_ok()
            {
                first = Err(Error::Io {
                    what: "move the runtime's thread back to its own cgroup",
                    path: PathBuf::from(OWN),
                    source: err,
                });
            }
        }
        first?;
        // Back exactly where it was: one short read makes sure.
        match fs::read_to_string(OWN) {
            Ok(now) if now == self.home => Ok(()),
            _ => Err(Error::Io {
                what: "find the runtime's thread back in its own cgroups",
                path: PathBuf::from(OWN),
                source: std::io::Error::other(format!("it was in\n{}", self.home.trim_end())),
            }),
        }
    }

    /// In the parent's part, after `clone`: come back, then put the child
    /// the plain way in every directory it was not born in.
    pub fn complete(&mut self, cgroup: &dyn CgroupManager, pid: Pid) -> Result<(), Error> {
        self.leave()?;
        let born_in_v2 = match &self.v2 {
            Some((dir, _)) => lists(dir, pid),
            None => false,
        };
        for dir in cgroup.dirs() {
            let born_here = (self.born_in_v1 && self.v1.iter().any(|(d, _, _)| *d == dir))
                || (born_in_v2 && self.v2.as_ref().is_some_and(|(d, _)| *d == dir));
            if !born_here {
                cgroups::cgroupfs::write(&dir, "cgroup.procs", &pid.to_string())?;
            }
        }
        Ok(())
    }
}

impl Drop for Birth {
    fn drop(&mut self) {
        // Any way out of create — an error, a panic — brings the thread back.
        let _ = self.leave();
    }
}

/// Whether `pid` is in the cgroup `dir` (its `cgroup.procs`: the new
/// container's, one line).
fn lists(dir: &Path, pid: Pid) -> bool {
    let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    procs.lines().any(|line| line.trim() == pid.to_string())
}

/// For each v1 directory: it, its `tasks`, and this thread's own `tasks` in
/// the same hierarchy; `None` if any of them cannot be found or opened.
fn round_trip(layout: &Layout, dirs: &[PathBuf]) -> Option<(String, Vec<Trip>)> {
    let Layout::V1 { hierarchies, .. } = layout else {
        return None;
    };
    // `ID:controllers:/path` per hierarchy, for this thread.
    let own = fs::read_to_string(OWN).ok()?;
    let write = |path: &Path| OpenOptions::new().write(true).open(path).ok();
    let mut trips = Vec::new();
    for dir in dirs {
        let hierarchy = hierarchies
            .iter()
            .filter(|h| dir.starts_with(&h.mount_point))
            .max_by_key(|h| h.mount_point.as_os_str().len())?;
        let path = own.lines().find_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let mut listed: Vec<&str> = controllers.split(',').collect();
            let mut wanted: Vec<&str> = hierarchy.controllers.iter().map(String::as_str).collect();
            listed.sort_unstable();
            wanted.sort_unstable();
            (listed == wanted).then_some(path)
        })?;
        // A mount of a subtree (inside a container without a cgroup
        // namespace) makes this path wrong: it then does not exist, or
        // `leave` finds the thread elsewhere than it was and says so.
        let home = hierarchy.mount_point.join(path.trim_start_matches('/'));
        trips.push((
            dir.clone(),
            write(&dir.join("tasks"))?,
            write(&home.join("tasks"))?,
        ));
    }
    Some((own, trips))
}

/// This thread's cgroups, a line per hierarchy.
const OWN: &str = "/proc/thread-self/cgroup";
