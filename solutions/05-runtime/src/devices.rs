//! Devices: the nodes config.json lists (`linux.devices`), and the device
//! cgroup (`linux.resources.devices`) that says which devices the
//! container may make and open.
//!
//! **Why a device cgroup.** A device node is only a name for a (type,
//! major, minor) triple: whoever may `mknod(2)` — root with `CAP_MKNOD`,
//! which Docker's default set keeps — can make a node for the host's disk
//! in any writable directory and read the disk through it, whatever `/dev`
//! holds. Namespaces do not number devices. The kernel's answer is the
//! device cgroup: every `mknod` and every `open` of a device node by a
//! process of the cgroup is checked against a list, and refused with
//! `EPERM` when the list says no.
//!
//! **One list, the v1 rules.** config.json's rules are cgroup v1's
//! `devices.allow`/`devices.deny` lines, *in order*: `{"allow": false,
//! "access": "rwm"}` (type "a") resets the list to "deny everything", and
//! each later rule adds an exception. [`Rules`] replays them as the v1
//! kernel does (a default, and exceptions to it) and then writes the
//! result to whichever controller the host has:
//!
//! - **v1**: `a` into `devices.deny` *first* — it empties the exception
//!   list and makes "deny" the default, so written after the allows it
//!   would wipe them — then one line per exception into `devices.allow`
//!   (for a default of "allow" it is the mirror: `a` into `devices.allow`,
//!   the exceptions into `devices.deny`);
//! - **v2** has no `devices.*` files: the controller is a BPF program of
//!   type `BPF_PROG_TYPE_CGROUP_DEVICE` attached to the cgroup
//!   ([`crate::devfilter`]), which the kernel runs on every mknod and
//!   open and which answers 1 (allow) or 0 (`EPERM`). runc, crun and youki
//!   generate it from the same rules; so does this module.
//!
//! As runc does, the devices every container needs (null, zero, full,
//! random, urandom, tty, console, ptmx, the ptys) and `mknod` of any node
//! are allowed *after* config.json's rules ([`DEFAULT_ALLOWED`]), so a
//! config that says only "deny everything" still has a working `/dev/null`.
//! A device listed in `linux.devices` is **not** allowed by being listed:
//! the spec keeps the two apart, and Docker's `--device` writes both.
//!
//! **The nodes** are made in the child, inside the rootfs, before
//! `pivot_root`: `mknod` with the listed type, numbers, mode and owner — or,
//! in a user namespace, where `mknod` is refused even to the namespace's
//! root, a bind mount of the host's node of the same path (runc's way).

use std::ffi::CString;
use std::os::fd::AsFd;
use std::path::{Component, PathBuf};

use cgroups::CgroupManager;
use cgroups::error::CgroupError;
use cgroups::layout::Layout as CgroupLayout;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag, makedev, mknodat, umask};
use nix::unistd::{Gid, Uid, fchownat};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, Spec};
use rootfs::Layout;
use rootfs::target;

use crate::error::Error;

/// Access bits, as the kernel's BPF context numbers them.
pub const MKNOD: u8 = 1;
pub const READ: u8 = 2;
pub const WRITE: u8 = 4;
pub const RWM: u8 = MKNOD | READ | WRITE;

/// A device type in a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `a`: every device (in a rule, it resets the list).
    All,
    Char,
    Block,
}

/// One rule: allow or deny `access` to devices of `kind`, `major`:`minor`
/// (`None`: any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub kind: Kind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

impl Rule {
    const fn allow(kind: Kind, major: Option<u32>, minor: Option<u32>, access: u8) -> Rule {
        Rule {
            allow: true,
            kind,
            major,
            minor,
            access,
        }
    }

    /// The v1 line: `c 1:3 rwm`, `b *:* m`.
    pub fn v1_line(&self) -> String {
        let kind = match self.kind {
            Kind::All => 'a',
            Kind::Char => 'c',
            Kind::Block => 'b',
        };
        let number = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        let mut access = String::new();
        for (bit, c) in [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        format!(
            "{kind} {}:{} {access}",
            number(self.major),
            number(self.minor)
        )
    }

    fn same_device(&self, other: &Rule) -> bool {
        (self.kind, self.major, self.minor) == (other.kind, other.major, other.minor)
    }
}

/// What every container may use, appended after config.json's rules (runc's list).
pub const DEFAULT_ALLOWED: [Rule; 11] = [
    Rule::allow(Kind::Char, None, None, MKNOD),
    Rule::allow(Kind::Block, None, None, MKNOD),
    Rule::allow(Kind::Char, Some(1), Some(3), RWM), // null
    Rule::allow(Kind::Char, Some(1), Some(5), RWM), // zero
    Rule::allow(Kind::Char, Some(1), Some(7), RWM), // full
    Rule::allow(Kind::Char, Some(1), Some(8), RWM), // random
    Rule::allow(Kind::Char, Some(1), Some(9), RWM), // urandom
    Rule::allow(Kind::Char, Some(5), Some(0), RWM), // tty
    Rule::allow(Kind::Char, Some(5), Some(1), RWM), // console
    Rule::allow(Kind::Char, Some(5), Some(2), RWM), // ptmx
    Rule::allow(Kind::Char, Some(136), None, RWM),  // /dev/pts/N
];

/// The device list as the v1 kernel keeps it: a default, and exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// What a device no exception matches gets.
    pub default_allow: bool,
    /// Rules whose answer is the opposite of the default.
    pub exceptions: Vec<Rule>,
}

impl Default for Rules {
    /// A new cgroup below the root: everything allowed.
    fn default() -> Rules {
        Rules {
            default_allow: true,
            exceptions: Vec::new(),
        }
    }
}

impl Rules {
    /// Apply one rule as the v1 kernel applies a line written to
    /// `devices.allow` (`allow`) or `devices.deny`.
    pub fn push(&mut self, rule: Rule) {
        if rule.kind == Kind::All {
            // `a`: a new default, and the exceptions are forgotten.
            self.default_allow = rule.allow;
            self.exceptions.clear();
        } else if rule.allow == self.default_allow {
            // Saying the default again takes those bits off an exception
            // for the very same device (the kernel's dev_exception_rm).
            for ex in &mut self.exceptions {
                if ex.same_device(&rule) {
                    ex.access &= !rule.access;
                }
            }
            self.exceptions.retain(|ex| ex.access != 0);
        } else if let Some(ex) = self.exceptions.iter_mut().find(|ex| ex.same_device(&rule)) {
            ex.access |= rule.access;
        } else {
            self.exceptions.push(rule);
        }
    }

    /// Whether `access` to a device is allowed: an allow exception must
    /// cover every bit asked for; a deny exception refuses any bit it has.
    pub fn allows(&self, kind: Kind, major: u32, minor: u32, access: u8) -> bool {
        let matches = |ex: &&Rule| {
            ex.kind == kind
                && ex.major.is_none_or(|m| m == major)
                && ex.minor.is_none_or(|m| m == minor)
        };
        if self.default_allow {
            !self
                .exceptions
                .iter()
                .filter(matches)
                .any(|ex| ex.access & access != 0)
        } else {
            self.exceptions
                .iter()
                .filter(matches)
                .any(|ex| access & !ex.access == 0)
        }
    }

    /// The v1 writes, in order: (file, line).
    pub fn v1_writes(&self) -> Vec<(&'static str, String)> {
        let (reset, each) = if self.default_allow {
            ("devices.allow", "devices.deny")
        } else {
            ("devices.deny", "devices.allow")
        };
        // `a` first: it empties the exception list.
        let mut writes = vec![(reset, "a".to_string())];
        writes.extend(self.exceptions.iter().map(|ex| (each, ex.v1_line())));
        writes
    }
}

fn config_error(path: String, message: impl Into<String>) -> Error {
    Error::Config {
        file: "config.json".into(),
        path,
        message: message.into(),
    }
}

/// `linux.resources.devices`, replayed, then the defaults; `None` when
/// config.json has no device rules (no device cgroup is set up: the
/// container may use any device its capabilities allow).
pub fn rules_of(spec: &Spec) -> Result<Option<Rules>, Error> {
    let list: &[LinuxDeviceCgroup] = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.devices().as_deref())
        .unwrap_or_default();
    if list.is_empty() {
        return Ok(None);
    }
    let mut rules = Rules::default();
    for (i, entry) in list.iter().enumerate() {
        let at = |field: &str| format!("linux.resources.devices[{i}].{field}");
        let kind = match entry.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => Kind::All,
            LinuxDeviceType::C | LinuxDeviceType::U => Kind::Char,
            LinuxDeviceType::B => Kind::Block,
            LinuxDeviceType::P => {
                return Err(config_error(at("type"), "a FIFO is not a device"));
            }
        };
        let number = |field: &str, n: Option<i64>| match n {
            None | Some(-1) => Ok(None),
            Some(n) => u32::try_from(n)
                .map(Some)
                .map_err(|_| config_error(at(field), format!("{n}: out of range"))),
        };
        let mut access = 0;
        for c in entry.access().as_deref().unwrap_or("rwm").chars() {
            access |= match c {
                'r' => READ,
                'w' => WRITE,
                'm' => MKNOD,
                other => {
                    return Err(config_error(
                        at("access"),
                        format!("{other:?}: only r, w and m"),
                    ));
                }
            };
        }
        rules.push(Rule {
            allow: entry.allow(),
            kind,
            major: number("major", entry.major())?,
            minor: number("minor", entry.minor())?,
            access,
        });
    }
    for rule in DEFAULT_ALLOWED {
        rules.push(rule);
    }
    Ok(Some(rules))
}

/// The container's cgroup with its device rules: lab 04's manager for
/// the host's layout, plus, on v1, a directory in the `devices` hierarchy
/// (in [`CgroupManager::dirs`], so the parents are made, the pid is added
/// and `delete` removes it like the others), and on v2 the BPF program,
/// attached when the limits are applied. `create_in` (05.2) uses it as it
/// uses any manager.
#[derive(Debug)]
pub struct WithDevices {
    inner: Box<dyn CgroupManager>,
    rules: Rules,
    /// v1: the cgroup's directory in the devices hierarchy.
    v1: Option<PathBuf>,
    /// v2: the cgroup's directory, where the program is attached.
    v2: Option<PathBuf>,
}

impl WithDevices {
    /// `inner`, the manager of the cgroup `name` on `layout`, with `rules`.
    pub fn new(
        layout: &CgroupLayout,
        name: &str,
        inner: Box<dyn CgroupManager>,
        rules: Rules,
    ) -> Result<WithDevices, Error> {
        let (v1, v2) = match layout {
            CgroupLayout::V2 { mount_point } => (None, Some(mount_point.join(name))),
            CgroupLayout::V1 { .. } => match layout.v1_mount("devices") {
                Some(hierarchy) => (Some(hierarchy.mount_point.join(name)), None),
                None => {
                    return Err(Error::Unsupported {
                        field: "linux.resources.devices",
                        why: "this cgroup v1 host has no devices controller mounted".into(),
                    });
                }
            },
        };
        Ok(WithDevices {
            inner,
            rules,
            v1,
            v2,
        })
    }
}

impl CgroupManager for WithDevices {
    fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs = self.inner.dirs();
        dirs.extend(self.v1.clone());
        dirs
    }

    fn create(&self) -> Result<(), CgroupError> {
        self.inner.create()?;
        match &self.v1 {
            Some(dir) => cgroups::cgroupfs::create(dir).inspect_err(|_| {
                // Not recorded yet: what was made must go with the error.
                let _ = self.inner.remove();
            }),
            None => Ok(()),
        }
    }

    /// The limits, then the device rules — before the process is added,
    /// so it never runs a moment without them (and while the cgroup has
    /// no child cgroups, which v1 requires of a deny-all).
    fn apply(&self, limits: &cgroups::Limits) -> Result<(), CgroupError> {
        self.inner.apply(limits)?;
        if let Some(dir) = &self.v1 {
            for (file, line) in self.rules.v1_writes() {
                cgroups::cgroupfs::write(dir, file, &line)?;
            }
        }
        if let Some(dir) = &self.v2 {
            crate::devfilter::attach(dir, &self.rules)?;
        }
        Ok(())
    }

    fn remove(&self) -> Result<(), CgroupError> {
        let removed = self.inner.remove();
        if let Some(dir) = &self.v1 {
            cgroups::cgroupfs::remove(dir)?;
        }
        removed
    }

    fn oom_killed(&self) -> Result<bool, CgroupError> {
        self.inner.oom_killed()
    }

    fn stats(&self) -> Result<cgroups::manager::Stats, CgroupError> {
        self.inner.stats()
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        self.inner.freeze()
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        self.inner.thaw()
    }

    fn kill_all(&self) -> Result<(), CgroupError> {
        self.inner.kill_all()
    }
}

/// One node of `linux.devices`, worked out before clone.
#[derive(Debug, Clone)]
pub struct Node {
    /// The directories to make on the way: (parent, name).
    pub dirs: Vec<(CString, CString)>,
    /// Its directory and its name, in the container.
    pub parent: CString,
    pub name: CString,
    /// Its path, in the container and (for a bind) on the host.
    pub path: CString,
    pub kind: SFlag,
    pub dev: libc::dev_t,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

fn c(bytes: &[u8]) -> Result<CString, Error> {
    CString::new(bytes).map_err(|_| Error::Unsupported {
        field: "a path or string",
        why: "it holds a NUL byte".into(),
    })
}

/// `linux.devices`, checked.
pub fn nodes_of(spec: &Spec) -> Result<Vec<Node>, Error> {
    use std::os::unix::ffi::OsStrExt;
    let mut nodes = Vec::new();
    let list = spec.linux().as_ref().and_then(|l| l.devices().clone());
    for (i, device) in list.iter().flatten().enumerate() {
        let at = |field: &str| format!("linux.devices[{i}].{field}");
        let path = device.path();
        let names: Vec<_> = path.components().skip(1).collect();
        let ok = path.is_absolute()
            && !names.is_empty()
            && names.iter().all(|c| matches!(c, Component::Normal(_)));
        if !ok {
            return Err(config_error(
                at("path"),
                format!("{}: an absolute path without . or ..", path.display()),
            ));
        }
        let kind = match device.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(config_error(
                    at("type"),
                    "\"a\" is for cgroup rules: c, b, u or p",
                ));
            }
        };
        let number = |field: &str, n: i64| {
            u32::try_from(n).map_err(|_| config_error(at(field), format!("{n}: out of range")))
        };
        let (major, minor) = (
            number("major", device.major())?,
            number("minor", device.minor())?,
        );
        let mut dirs = Vec::new();
        let mut parent = PathBuf::from("/");
        for name in &names[..names.len() - 1] {
            dirs.push((
                c(parent.as_os_str().as_bytes())?,
                c(name.as_os_str().as_bytes())?,
            ));
            parent.push(name);
        }
        nodes.push(Node {
            dirs,
            parent: c(parent.as_os_str().as_bytes())?,
            name: c(names[names.len() - 1].as_os_str().as_bytes())?,
            path: c(path.as_os_str().as_bytes())?,
            kind,
            dev: makedev(u64::from(major), u64::from(minor)),
            // The permission bits only; runc's default is 0666.
            mode: device.file_mode().unwrap_or(0o666) & 0o7777,
            uid: device.uid().unwrap_or(0),
            gid: device.gid().unwrap_or(0),
        });
    }
    Ok(nodes)
}

/// In the child, before `pivot_root`: make each node in the rootfs (by
/// fd, as lab 03 mounts), with its mode and owner — or, in a user
/// namespace (`bind`), bind the host's node of the same path on an empty
/// file. A node that exists is replaced, as an image's `/dev` may hold a
/// stale one.
pub fn make_nodes(layout: &Layout, nodes: &[Node], bind: bool) -> Result<(), Errno> {
    if nodes.is_empty() {
        return Ok(());
    }
    let root = target::open_root(&layout.root_c)?;
    // The mode is config.json's, not the umask's.
    let old = umask(Mode::empty());
    let result = (|| {
        for node in nodes {
            crate::mounts::make_dirs(root.as_fd(), &node.dirs)?;
            // O_PATH fds cannot be written through, but *at() calls take them.
            let dir = target::open_in(root.as_fd(), node.parent.as_c_str(), OFlag::O_DIRECTORY)?;
            let _ = nix::unistd::unlinkat(
                dir.as_fd(),
                node.name.as_c_str(),
                nix::unistd::UnlinkatFlags::NoRemoveDir,
            );
            let mode = Mode::from_bits_truncate(node.mode);
            if bind {
                let flags = OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
                let file = openat(dir.as_fd(), node.name.as_c_str(), flags, mode)?;
                let source = Some(node.path.as_c_str());
                target::mount_on(file.as_fd(), source, None, MsFlags::MS_BIND, None)?;
            } else {
                mknodat(dir.as_fd(), node.name.as_c_str(), node.kind, mode, node.dev)?;
                fchownat(
                    dir.as_fd(),
                    node.name.as_c_str(),
                    Some(Uid::from_raw(node.uid)),
                    Some(Gid::from_raw(node.gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )?;
            }
        }
        Ok(())
    })();
    umask(old);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(allow: bool, kind: Kind, major: Option<u32>, minor: Option<u32>, access: u8) -> Rule {
        Rule {
            allow,
            kind,
            major,
            minor,
            access,
        }
    }

    #[test]
    fn deny_all_then_allow_is_an_allow_list() {
        let mut rules = Rules::default();
        rules.push(rule(false, Kind::All, None, None, RWM));
        rules.push(rule(true, Kind::Char, Some(1), Some(3), READ | WRITE));
        assert!(!rules.default_allow);
        assert!(rules.allows(Kind::Char, 1, 3, READ));
        assert!(!rules.allows(Kind::Char, 1, 3, MKNOD));
        assert!(!rules.allows(Kind::Block, 8, 0, READ));
        assert_eq!(
            rules.v1_writes(),
            vec![
                ("devices.deny", "a".to_string()),
                ("devices.allow", "c 1:3 rw".to_string())
            ]
        );
        // An allow before the reset is forgotten.
        let mut later = Rules::default();
        later.push(rule(true, Kind::Char, Some(1), Some(3), RWM));
        later.push(rule(false, Kind::All, None, None, RWM));
        assert!(!later.allows(Kind::Char, 1, 3, READ));
    }

    #[test]
    fn the_default_again_takes_bits_off_an_exception() {
        let mut rules = Rules::default();
        rules.push(rule(false, Kind::All, None, None, RWM));
        rules.push(rule(true, Kind::Char, Some(1), Some(3), RWM));
        rules.push(rule(false, Kind::Char, Some(1), Some(3), WRITE));
        assert!(rules.allows(Kind::Char, 1, 3, READ));
        assert!(!rules.allows(Kind::Char, 1, 3, READ | WRITE));
    }

    #[test]
    fn a_deny_list_refuses_any_bit_it_names() {
        let mut rules = Rules::default();
        rules.push(rule(false, Kind::Block, Some(8), None, WRITE));
        assert!(rules.default_allow);
        assert!(rules.allows(Kind::Block, 8, 1, READ));
        assert!(!rules.allows(Kind::Block, 8, 1, READ | WRITE));
        assert!(rules.allows(Kind::Char, 8, 1, WRITE));
    }
}
