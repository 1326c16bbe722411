//! USER: who the container's users are on the host.
//!
//! A new user namespace starts with no ids mapped: its processes run as
//! the "overflow" user 65534 (nobody) until someone writes its
//! `/proc/PID/uid_map` and `gid_map`, once each. A line `0 1000 1` says
//! "uid 0 inside is uid 1000 outside, for 1 id". Inside, the process is
//! root — with every capability, but only over the namespace's own
//! resources. That is how rootless containers work.
//!
//! The parent writes the maps, from outside, while the child waits on the
//! sync pipe: the child cannot do it for itself once it has exec'd, and it
//! must not run the program with unmapped ids.
//!
//! Since Linux 3.19, a process *without `CAP_SETGID`* over the parent user
//! namespace (an unprivileged user: rootless) must first write `deny` to
//! `/proc/PID/setgroups`: otherwise the container's root could call
//! `setgroups(2)` to *drop* a supplementary group the host uses to deny it
//! access ("negative" group permissions), and gain access. Root on the host
//! need not, and must not: with setgroups denied, `su`, `sudo` and package
//! managers fail inside the container.

use std::fs;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::unistd::{Gid, Pid, Uid, geteuid, setgroups, setresgid, setresuid};

use crate::error::Error;

/// One line of an id map: `count` ids from `inside` are `outside` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl IdMap {
    /// `count` ids from 0 inside are `outside`… on the host.
    pub fn range(outside: u32, count: u32) -> IdMap {
        IdMap {
            inside: 0,
            outside,
            count,
        }
    }

    /// Root inside is `outside` on the host; no other id is mapped.
    pub fn root_is(outside: u32) -> IdMap {
        IdMap {
            inside: 0,
            outside,
            count: 1,
        }
    }

    /// The line the kernel expects in `uid_map` and `gid_map`.
    pub fn line(&self) -> String {
        format!("{} {} {}\n", self.inside, self.outside, self.count)
    }
}

fn write(pid: Pid, file: &str, text: &str) -> Result<(), Error> {
    let path = PathBuf::from(format!("/proc/{pid}/{file}"));
    fs::write(&path, text).map_err(|source| Error::IdMap { path, source })
}

/// Write the user namespace's maps of the (waiting) child `pid`.
pub fn write_maps(pid: Pid, uid: IdMap, gid: IdMap) -> Result<(), Error> {
    // TASK 02.4: rootless only: deny setgroups; then write the child's uid_map and gid_map
    todo!("02.4: rootless only: deny setgroups; then write the child's uid_map and gid_map")
    // END TASK 02.4
}

/// In the child, once its maps are written: take uid and gid 0 of the
/// namespace. A new user namespace grants every capability, but not new
/// ids: the child still has its creator's uid and gid, and if the map does
/// not contain them (root mapping a range for the container) they show
/// inside as the overflow id 65534. Supplementary groups are dropped too —
/// except rootless, where setgroups is denied (EPERM) and the process
/// keeps the one group it has.
pub fn become_root() -> Result<(), Errno> {
    let root = (Gid::from_raw(0), Uid::from_raw(0));
    setresgid(root.0, root.0, root.0)?;
    match setgroups(&[]) {
        Ok(()) | Err(Errno::EPERM) => {}
        Err(errno) => return Err(errno),
    }
    setresuid(root.1, root.1, root.1)
}
