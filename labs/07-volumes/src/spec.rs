//! `-v` and `--mount`: Docker's two grammars for one thing, a mount.
//!
//! ```text
//! -v /data                       an anonymous volume at /data
//! -v NAME:/data[:ro][,nocopy]    the named volume NAME (made if missing)
//! -v /host/dir:/data[:ro]        a bind mount of a host path (absolute)
//! --mount type=volume,source=NAME,target=/data[,readonly][,volume-nocopy]
//! --mount type=bind,source=/host/dir,target=/data[,readonly][,bind-propagation=rslave]
//! --mount type=tmpfs,target=/run[,tmpfs-size=64m][,tmpfs-mode=1770]
//! ```
//!
//! Both become a [`MountSpec`], and [`MountSpec::options`] turns it into
//! the `options` of an OCI mount — the list lab 05's runtime reads. That
//! is where `:ro` takes effect: `"ro"` in the options makes the runtime
//! remount the bind read-only (a bind mount ignores `MS_RDONLY` given
//! with `MS_BIND`; only a remount applies it).
//!
//! Everything is checked here, before anything is made: a relative or
//! missing bind source, an unknown option, a volume name that is not one
//! path component, a target that is not absolute or climbs with `..`.
//! Docker's `-v` *creates* a missing host directory; this engine refuses
//! it, as Docker's `--mount` does — a typo should not make a directory.

use std::path::{Component, PathBuf};

use crate::error::Error;
use crate::store;

/// What is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A host path (absolute, existing).
    Bind {
        source: PathBuf,
        /// `rprivate` unless `bind-propagation=` says otherwise.
        propagation: String,
    },
    /// A named volume (`Some`), or a new anonymous one (`None`).
    Volume { name: Option<String>, nocopy: bool },
    /// A tmpfs: its size in bytes and its root's mode, when given.
    Tmpfs {
        size: Option<u64>,
        mode: Option<u32>,
    },
}

/// One `-v` or `--mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub kind: Kind,
    /// Where, as the container sees it (absolute, no `..`).
    pub target: PathBuf,
    pub readonly: bool,
}

/// A target is absolute, not `/`, and has no `..` (Docker cleans it; a
/// `..` is refused here rather than guessed at).
fn check_target(spec: &str, target: &str) -> Result<PathBuf, Error> {
    let path = PathBuf::from(target);
    if !path.is_absolute() {
        return Err(Error::mount(
            spec,
            format!("the target {target:?} must be an absolute path"),
        ));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(Error::mount(
            spec,
            format!("the target {target:?} may not hold '..'"),
        ));
    }
    if path.components().all(|c| c == Component::RootDir) {
        return Err(Error::mount(spec, "the target may not be '/'"));
    }
    Ok(path)
}

/// A bind source: absolute, and there.
fn check_source(spec: &str, source: &str) -> Result<PathBuf, Error> {
    let path = PathBuf::from(source);
    if !path.is_absolute() {
        return Err(Error::mount(
            spec,
            format!("the bind source {source:?} is a relative path: give an absolute one"),
        ));
    }
    if !path.exists() {
        return Err(Error::mount(
            spec,
            format!("the bind source path {source} does not exist"),
        ));
    }
    Ok(path)
}

fn boolean(spec: &str, key: &str, value: Option<&str>) -> Result<bool, Error> {
    match value {
        None | Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(other) => Err(Error::mount(
            spec,
            format!("{key}={other}: expected true or false"),
        )),
    }
}

/// `64m`, `1g`, `65536`: bytes.
fn size(spec: &str, text: &str) -> Result<u64, Error> {
    let lower = text.to_ascii_lowercase();
    let (digits, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => lower.split_at(at),
        None => (lower.as_str(), ""),
    };
    let unit: u64 = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => 0,
    };
    match digits.parse::<u64>() {
        Ok(n) if unit != 0 && n > 0 => n
            .checked_mul(unit)
            .ok_or_else(|| Error::mount(spec, format!("tmpfs-size={text}: too large"))),
        _ => Err(Error::mount(
            spec,
            format!("tmpfs-size={text}: expected a size such as 65536, 64k, 64m or 1g"),
        )),
    }
}

fn mode(spec: &str, text: &str) -> Result<u32, Error> {
    match u32::from_str_radix(text, 8) {
        Ok(mode) if mode <= 0o7777 => Ok(mode),
        _ => Err(Error::mount(
            spec,
            format!("tmpfs-mode={text}: expected an octal mode such as 1777"),
        )),
    }
}

/// The value of `key=value`, which must not be empty.
fn need<'a>(spec: &str, key: &str, value: Option<&'a str>) -> Result<&'a str, Error> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::mount(spec, format!("{key} needs a value ({key}=…)")))
}

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// `-v [SRC:]DST[:OPTS]`: SRC absolute is a bind, SRC a name is a named
/// volume, no SRC is an anonymous volume; OPTS is `ro`, `rw`, `nocopy`,
/// comma-separated.
pub fn parse_volume(spec: &str) -> Result<MountSpec, Error> {
    // TASK 07.3: split SRC:DST:OPTS; bind, named or anonymous volume; check everything
    todo!("07.3: split SRC:DST:OPTS; bind, named or anonymous volume; check everything")
    // END TASK 07.3
}

/// `--mount KEY=VALUE,…`: `type` (volume by default), `source`/`src`,
/// `target`/`destination`/`dst`, `readonly`/`ro`, `volume-nocopy`,
/// `bind-propagation`, `tmpfs-size`, `tmpfs-mode`. An unknown key, or a
/// key of another type, is an error.
pub fn parse_mount(spec: &str) -> Result<MountSpec, Error> {
    // TASK 07.3: KEY=VALUE pairs; refuse unknown keys and keys of another type
    todo!("07.3: KEY=VALUE pairs; refuse unknown keys and keys of another type")
    // END TASK 07.3
}

impl MountSpec {
    /// The OCI mount's `type` and `options` (lab 05's runtime reads them;
    /// `source` is the engine's business: a volume's `_data`).
    pub fn options(&self) -> (&'static str, Vec<String>) {
        // TASK 07.3: OCI type and options: rbind + propagation, tmpfs flags, size, mode; ro
        todo!("07.3: OCI type and options: rbind + propagation, tmpfs flags, size, mode; ro")
        // END TASK 07.3
    }

    /// The source word for a tmpfs, the host path for a bind; a volume's
    /// is its data dir, which only the engine knows.
    pub fn is_volume(&self) -> bool {
        matches!(self.kind, Kind::Volume { .. })
    }
}

/// Parse every `-v` and `--mount`; two mounts on one target are refused
/// (Docker: "Duplicate mount point").
pub fn parse_all(volumes: &[String], mounts: &[String]) -> Result<Vec<MountSpec>, Error> {
    let mut specs = Vec::new();
    for text in volumes {
        specs.push(parse_volume(text)?);
    }
    for text in mounts {
        specs.push(parse_mount(text)?);
    }
    for (i, spec) in specs.iter().enumerate() {
        if specs[..i].iter().any(|s| s.target == spec.target) {
            return Err(Error::mount(
                &spec.target.display().to_string(),
                "duplicate mount point",
            ));
        }
    }
    Ok(specs)
}
