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

// ANCHOR: parse_volume
/// `-v [SRC:]DST[:OPTS]`: SRC absolute is a bind, SRC a name is a named
/// volume, no SRC is an anonymous volume; OPTS is `ro`, `rw`, `nocopy`,
/// comma-separated.
pub fn parse_volume(spec: &str) -> Result<MountSpec, Error> {
    // TASK 07.3: split SRC:DST:OPTS; bind, named or anonymous volume; check everything
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, options) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, options] => (Some(*source), *target, Some(*options)),
        _ => return Err(Error::mount(spec, "expected [SOURCE:]TARGET[:OPTIONS]")),
    };
    let target = check_target(spec, target)?;
    let mut readonly = false;
    let mut nocopy = false;
    for option in options.into_iter().flat_map(|o| o.split(',')) {
        match option {
            "ro" => readonly = true,
            "rw" => readonly = false,
            "nocopy" => nocopy = true,
            "z" | "Z" => {
                return Err(Error::mount(
                    spec,
                    format!("option {option:?} (SELinux relabelling) is not supported"),
                ));
            }
            other => {
                return Err(Error::mount(spec, format!("unknown option {other:?}")));
            }
        }
    }
    let kind = match source {
        None | Some("") => Kind::Volume { name: None, nocopy },
        Some(source) if source.starts_with('/') => {
            if nocopy {
                return Err(Error::mount(
                    spec,
                    "nocopy applies to volumes, not to binds",
                ));
            }
            Kind::Bind {
                source: check_source(spec, source)?,
                propagation: "rprivate".into(),
            }
        }
        Some(source) if source.starts_with('.') || source.contains('/') => {
            return Err(Error::mount(
                spec,
                format!(
                    "the bind source {source:?} is a relative path: give an absolute one \
                     (or a volume name: letters, digits, _ . -)"
                ),
            ));
        }
        Some(name) => {
            store::check_name(name)?;
            Kind::Volume {
                name: Some(name.to_string()),
                nocopy,
            }
        }
    };
    Ok(MountSpec {
        kind,
        target,
        readonly,
    })
    // END TASK 07.3
}
// ANCHOR_END: parse_volume

// ANCHOR: parse_mount
/// `--mount KEY=VALUE,…`: `type` (volume by default), `source`/`src`,
/// `target`/`destination`/`dst`, `readonly`/`ro`, `volume-nocopy`,
/// `bind-propagation`, `tmpfs-size`, `tmpfs-mode`. An unknown key, or a
/// key of another type, is an error.
pub fn parse_mount(spec: &str) -> Result<MountSpec, Error> {
    // TASK 07.3: KEY=VALUE pairs; refuse unknown keys and keys of another type
    let mut typ = "volume";
    let mut source = None;
    let mut target = None;
    let mut readonly = false;
    let mut nocopy = None;
    let mut propagation = None;
    let mut tmpfs_size = None;
    let mut tmpfs_mode = None;
    for field in spec.split(',') {
        let (key, value) = match field.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (field, None),
        };
        let need = |value| need(spec, key, value);
        match key {
            "type" => typ = need(value)?,
            "source" | "src" => source = Some(need(value)?),
            "target" | "destination" | "dst" => target = Some(need(value)?),
            "readonly" | "ro" => readonly = boolean(spec, key, value)?,
            "volume-nocopy" => nocopy = Some(boolean(spec, key, value)?),
            "bind-propagation" => propagation = Some(need(value)?),
            "tmpfs-size" => tmpfs_size = Some(size(spec, need(value)?)?),
            "tmpfs-mode" => tmpfs_mode = Some(mode(spec, need(value)?)?),
            "" => return Err(Error::mount(spec, "an empty field")),
            other => return Err(Error::mount(spec, format!("unknown option {other:?}"))),
        }
    }
    let target = check_target(
        spec,
        target.ok_or_else(|| Error::mount(spec, "target= is missing"))?,
    )?;
    let mixed = |what: &str| {
        Err(Error::mount(
            spec,
            format!("{what} cannot be used with type={typ}"),
        ))
    };
    let kind = match typ {
        "bind" => {
            if nocopy.is_some() {
                return mixed("volume-nocopy");
            }
            if tmpfs_size.is_some() || tmpfs_mode.is_some() {
                return mixed("tmpfs-size and tmpfs-mode");
            }
            let source = source.ok_or_else(|| Error::mount(spec, "a bind mount needs source="))?;
            let propagation = propagation.unwrap_or("rprivate");
            if !PROPAGATIONS.contains(&propagation) {
                return Err(Error::mount(
                    spec,
                    format!("bind-propagation={propagation}: expected one of {PROPAGATIONS:?}"),
                ));
            }
            Kind::Bind {
                source: check_source(spec, source)?,
                propagation: propagation.to_string(),
            }
        }
        "volume" => {
            if propagation.is_some() {
                return mixed("bind-propagation");
            }
            if tmpfs_size.is_some() || tmpfs_mode.is_some() {
                return mixed("tmpfs-size and tmpfs-mode");
            }
            if let Some(name) = source {
                store::check_name(name)?;
            }
            Kind::Volume {
                name: source.map(str::to_string),
                nocopy: nocopy.unwrap_or(false),
            }
        }
        "tmpfs" => {
            if source.is_some() {
                return mixed("source");
            }
            if propagation.is_some() {
                return mixed("bind-propagation");
            }
            if nocopy.is_some() {
                return mixed("volume-nocopy");
            }
            Kind::Tmpfs {
                size: tmpfs_size,
                mode: tmpfs_mode,
            }
        }
        other => {
            return Err(Error::mount(
                spec,
                format!("unknown type {other:?}: bind, volume or tmpfs"),
            ));
        }
    };
    Ok(MountSpec {
        kind,
        target,
        readonly,
    })
    // END TASK 07.3
}
// ANCHOR_END: parse_mount

impl MountSpec {
    // ANCHOR: options
    /// The OCI mount's `type` and `options` (lab 05's runtime reads them;
    /// `source` is the engine's business: a volume's `_data`).
    pub fn options(&self) -> (&'static str, Vec<String>) {
        // TASK 07.3: OCI type and options: rbind + propagation, tmpfs flags, size, mode; ro
        let (typ, mut options): (_, Vec<String>) = match &self.kind {
            Kind::Bind { propagation, .. } => ("bind", vec!["rbind".into(), propagation.clone()]),
            Kind::Volume { .. } => ("bind", vec!["rbind".into(), "rprivate".into()]),
            Kind::Tmpfs { size, mode } => {
                let mut options: Vec<String> =
                    vec!["nosuid".into(), "nodev".into(), "noexec".into()];
                if let Some(size) = size {
                    options.push(format!("size={size}"));
                }
                if let Some(mode) = mode {
                    options.push(format!("mode={mode:o}"));
                }
                ("tmpfs", options)
            }
        };
        if self.readonly {
            // For a bind, the runtime applies it with a remount.
            options.push("ro".into());
        }
        (typ, options)
        // END TASK 07.3
    }
    // ANCHOR_END: options

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
