//! What the container gets: which namespaces, its hostname, its user
//! mapping, and whether a minimal init runs as its PID 1.

use std::os::fd::RawFd;

use nix::sched::CloneFlags;

use nix::unistd::{getegid, geteuid};

use crate::error::Error;
use crate::hostname;
use crate::idmap::IdMap;

/// Which namespaces the container gets new ones of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespaces {
    pub uts: bool,
    pub pid: bool,
    pub ipc: bool,
    pub net: bool,
    pub mount: bool,
    pub cgroup: bool,
    pub user: bool,
}

impl Namespaces {
    /// Every namespace but the user namespace: what Docker gives a container
    /// when it runs as root on a cgroup v2 host.
    pub const DEFAULT: Namespaces = Namespaces {
        uts: true,
        pid: true,
        ipc: true,
        net: true,
        mount: true,
        cgroup: true,
        user: false,
    };

    /// No new namespace at all: everything shared with the creator, or
    /// joined (lab 05's `exec`, config.json's namespaces by path).
    pub const NONE: Namespaces = Namespaces {
        uts: false,
        pid: false,
        ipc: false,
        net: false,
        mount: false,
        cgroup: false,
        user: false,
    };

    // ANCHOR: clone_flags
    /// The `clone(2)` flags that create these namespaces.
    pub fn clone_flags(&self) -> CloneFlags {
        // TASK 02.1: one CLONE_NEW* flag for each namespace asked for
        let mut flags = CloneFlags::empty();
        let wanted = [
            (self.uts, CloneFlags::CLONE_NEWUTS),
            (self.pid, CloneFlags::CLONE_NEWPID),
            (self.ipc, CloneFlags::CLONE_NEWIPC),
            (self.net, CloneFlags::CLONE_NEWNET),
            (self.mount, CloneFlags::CLONE_NEWNS),
            (self.cgroup, CloneFlags::CLONE_NEWCGROUP),
            (self.user, CloneFlags::CLONE_NEWUSER),
        ];
        for (on, flag) in wanted {
            if on {
                flags |= flag;
            }
        }
        flags
        // END TASK 02.1
    }
    // ANCHOR_END: clone_flags
}

impl Default for Namespaces {
    fn default() -> Self {
        Namespaces::DEFAULT
    }
}

/// How to start a container.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub namespaces: Namespaces,
    /// The hostname inside (needs a UTS namespace).
    pub hostname: Option<String>,
    /// Run a minimal init as PID 1, with the program as its child.
    pub init: bool,
    /// With a user namespace: who the container's uids and gids are on the
    /// host, one or more ranges each. `None`: root inside is the caller
    /// outside, one id.
    pub uid_map: Option<IdMap>,
    pub gid_map: Option<IdMap>,
    /// For the checks: make the setup step of this name fail with
    /// ECANCELED, to prove that a failure at any step leaves nothing behind.
    pub fail_at: Option<String>,
    /// Lab 05: an open cgroup v2 directory to create the child *in*, with
    /// `clone3(CLONE_INTO_CGROUP)` (see [`crate::clone3`]), rather than
    /// moving it there after `clone`. `None` here and in every lab before.
    pub clone_into_cgroup: Option<RawFd>,
}

impl Config {
    /// The uid and gid maps to write, defaults filled in.
    pub fn id_maps(&self) -> (IdMap, IdMap) {
        (
            self.uid_map
                .clone()
                .unwrap_or_else(|| IdMap::root_is(geteuid().as_raw())),
            self.gid_map
                .clone()
                .unwrap_or_else(|| IdMap::root_is(getegid().as_raw())),
        )
    }

    /// Refuse a configuration that cannot work, before anything is created.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(name) = &self.hostname {
            if !self.namespaces.uts {
                return Err(Error::Config("a hostname needs a UTS namespace".into()));
            }
            hostname::validate(name).map_err(Error::Config)?;
        }
        if self.init && !self.namespaces.pid {
            return Err(Error::Config(
                "--init needs a PID namespace: it runs as PID 1".into(),
            ));
        }
        Ok(())
    }
}
