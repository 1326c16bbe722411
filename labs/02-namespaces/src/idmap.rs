//! USER: who the container's users are on the host.
//!
//! A new user namespace starts with no ids mapped: its processes run as
//! the "overflow" user 65534 (nobody) until someone writes its
//! `/proc/PID/uid_map` and `gid_map`, once each. A line `0 1000 1` says
//! "uid 0 inside is uid 1000 outside, for 1 id"; a map may have several
//! such lines (up to 340), written together in ONE `write(2)`: the kernel
//! takes a map once, whole, and refuses any later write. Inside, the process is
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

use std::fmt;
use std::fs;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::unistd::{Gid, Pid, SysconfVar, Uid, geteuid, setgroups, setresgid, setresuid, sysconf};

use crate::error::Error;

/// The most ranges a map may have: 340 since Linux 4.15, 5 before.
pub const MAX_RANGES: usize = 340;

/// One line of an id map: `count` ids from `inside` are `outside` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl IdRange {
    /// The line the kernel expects for this range: `"0 1000 1\n"`.
    pub fn line(&self) -> String {
        format!("{} {} {}\n", self.inside, self.outside, self.count)
    }

    /// The ids `first..=last` of a side (inside or outside), without wrapping.
    fn span(first: u32, count: u32) -> (u64, u64) {
        (u64::from(first), u64::from(first) + u64::from(count) - 1)
    }
}

/// A whole id map, as `uid_map` or `gid_map` holds it: 1 to [`MAX_RANGES`]
/// ranges, none of which overlaps another, inside or outside (the kernel
/// refuses such a map with `EINVAL`; [`IdMap::new`] says which range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap {
    ranges: Vec<IdRange>,
}

/// Why [`IdMap::new`] refused a list of ranges; `index` is the range's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapError {
    Empty,
    TooMany(usize),
    ZeroCount {
        index: usize,
    },
    Wraps {
        index: usize,
    },
    Overlaps {
        index: usize,
        other: usize,
        side: &'static str,
    },
    TooLong {
        bytes: usize,
        page: usize,
    },
}

impl MapError {
    /// The range at fault, if one is.
    pub fn index(&self) -> Option<usize> {
        match self {
            MapError::ZeroCount { index }
            | MapError::Wraps { index }
            | MapError::Overlaps { index, .. } => Some(*index),
            _ => None,
        }
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::Empty => write!(f, "no range: a map needs at least one"),
            MapError::TooMany(n) => write!(f, "{n} ranges: the kernel takes at most {MAX_RANGES}"),
            MapError::ZeroCount { .. } => write!(f, "a range of 0 ids"),
            MapError::Wraps { .. } => {
                write!(
                    f,
                    "the range goes past id 4294967294 (id + count must not wrap)"
                )
            }
            MapError::Overlaps { other, side, .. } => {
                write!(f, "its {side} ids overlap those of range {other}")
            }
            MapError::TooLong { bytes, page } => write!(
                f,
                "the map's text is {bytes} bytes: the kernel takes less than a page ({page})"
            ),
        }
    }
}

impl std::error::Error for MapError {}

impl IdMap {
    /// A map of these ranges, refused as the kernel would refuse it.
    pub fn new(ranges: Vec<IdRange>) -> Result<IdMap, MapError> {
        if ranges.is_empty() {
            return Err(MapError::Empty);
        }
        if ranges.len() > MAX_RANGES {
            return Err(MapError::TooMany(ranges.len()));
        }
        for (index, r) in ranges.iter().enumerate() {
            if r.count == 0 {
                return Err(MapError::ZeroCount { index });
            }
            // The kernel's test: `first + count` must not wrap in 32 bits.
            let wraps = |first: u32| first.checked_add(r.count).is_none();
            if wraps(r.inside) || wraps(r.outside) {
                return Err(MapError::Wraps { index });
            }
            for (other, o) in ranges[..index].iter().enumerate() {
                let meet = |a: (u64, u64), b: (u64, u64)| a.0 <= b.1 && b.0 <= a.1;
                for (side, a, b) in [
                    ("inside", (r.inside, r.count), (o.inside, o.count)),
                    ("outside", (r.outside, r.count), (o.outside, o.count)),
                ] {
                    if meet(IdRange::span(a.0, a.1), IdRange::span(b.0, b.1)) {
                        return Err(MapError::Overlaps { index, other, side });
                    }
                }
            }
        }
        let map = IdMap { ranges };
        // The whole map goes in one write(2), and the kernel takes less
        // than a page in it.
        let page = sysconf(SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .map_or(4096, |p| p as usize);
        let bytes = map.lines().len();
        if bytes >= page {
            return Err(MapError::TooLong { bytes, page });
        }
        Ok(map)
    }

    /// `count` ids from 0 inside are `outside`… on the host.
    pub fn range(outside: u32, count: u32) -> IdMap {
        IdMap {
            ranges: vec![IdRange {
                inside: 0,
                outside,
                count,
            }],
        }
    }

    /// Root inside is `outside` on the host; no other id is mapped.
    pub fn root_is(outside: u32) -> IdMap {
        IdMap::range(outside, 1)
    }

    pub fn ranges(&self) -> &[IdRange] {
        &self.ranges
    }

    /// The whole map as the kernel expects it in `uid_map` and `gid_map`:
    /// one line per range. It must be written with ONE `write(2)`: a map
    /// can be written only once, so a second write fails with `EPERM`.
    pub fn lines(&self) -> String {
        self.ranges.iter().map(IdRange::line).collect()
    }

    /// The host's id of `inside`, if the map has it.
    pub fn to_host(&self, inside: u32) -> Option<u32> {
        self.ranges
            .iter()
            .find(|r| inside >= r.inside && inside - r.inside < r.count)
            .and_then(|r| r.outside.checked_add(inside - r.inside))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn range(inside: u32, outside: u32, count: u32) -> IdRange {
        IdRange {
            inside,
            outside,
            count,
        }
    }

    #[test]
    fn a_map_of_two_ranges_is_two_lines_and_translates_through_both() {
        let map = IdMap::new(vec![range(0, 1000, 1), range(1, 100_000, 65536)]).unwrap();
        assert_eq!(map.lines(), "0 1000 1\n1 100000 65536\n");
        assert_eq!(map.to_host(0), Some(1000));
        assert_eq!(map.to_host(65536), Some(165_535));
        assert_eq!(map.to_host(65537), None);
    }

    #[test]
    fn maps_the_kernel_refuses_are_refused() {
        let refused = |ranges| IdMap::new(ranges).unwrap_err();
        assert_eq!(refused(vec![]), MapError::Empty);
        assert_eq!(
            refused(vec![range(0, 1000, 1), range(5, 2000, 0)]),
            MapError::ZeroCount { index: 1 }
        );
        assert_eq!(
            refused(vec![range(10, 1000, 5), range(14, 2000, 1)]),
            MapError::Overlaps {
                index: 1,
                other: 0,
                side: "inside"
            }
        );
        assert_eq!(
            refused(vec![range(0, 1000, 5), range(5, 1004, 1)]),
            MapError::Overlaps {
                index: 1,
                other: 0,
                side: "outside"
            }
        );
        // id + count may reach 4294967295 (the invalid id -1) but not wrap.
        assert!(IdMap::new(vec![range(0, u32::MAX - 1, 1)]).is_ok());
        assert_eq!(
            refused(vec![range(0, u32::MAX, 1)]),
            MapError::Wraps { index: 0 }
        );
        let many = (0..341).map(|i| range(i, 1000 + i, 1)).collect();
        assert_eq!(refused(many), MapError::TooMany(341));
    }
}
