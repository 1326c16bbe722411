//! The build context: the directory `docker build DIR` sends, minus what
//! `.dockerignore` leaves out, and what a COPY source names in it.
//!
//! BuildKit reads `<Containerfile>.dockerignore` next to the file given
//! with `-f` if there is one, else `.dockerignore` at the context's root.
//! The file and the ignore file are part of the context like any other
//! (`COPY . .` copies them) unless a pattern excludes them.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::ContextError;
use crate::ignore::{Matcher, Pattern, clean};

/// A build context directory and its ignore rules.
#[derive(Debug, Clone)]
pub struct Context {
    pub root: PathBuf,
    pub ignore: Matcher,
}

/// What a context entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

impl Context {
    /// The context at `root`, with the ignore file that applies to
    /// `containerfile` (a path, or `None` for `<root>/Containerfile`).
    pub fn open(root: &Path, containerfile: Option<&Path>) -> Result<Context, ContextError> {
        let mut candidates = Vec::new();
        if let Some(file) = containerfile {
            let mut name = file.as_os_str().to_owned();
            name.push(".dockerignore");
            candidates.push(PathBuf::from(name));
        }
        candidates.push(root.join(".dockerignore"));
        let mut ignore = Matcher::default();
        for candidate in candidates {
            match fs::read_to_string(&candidate) {
                Ok(text) => {
                    ignore = Matcher::parse(&text);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ContextError::io("read", &candidate)(e)),
            }
        }
        Ok(Context {
            root: root.to_path_buf(),
            ignore,
        })
    }

    /// Every entry of the context the build sees, relative and sorted:
    /// not excluded, or a directory holding something not excluded.
    pub fn entries(&self) -> Result<Vec<String>, ContextError> {
        let mut out = Vec::new();
        self.walk(&self.root, "", &mut out)?;
        Ok(out)
    }

    /// Walk `dir` (`rel` from the root); returns whether anything below was kept.
    fn walk(&self, dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<bool, ContextError> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .map_err(ContextError::io("read the directory", dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(ContextError::io("read the directory", dir))?;
        names.sort();
        let mut kept_any = false;
        for name in names {
            let name = name.to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let full = dir.join(&name);
            let meta = fs::symlink_metadata(&full).map_err(ContextError::io("stat", &full))?;
            let excluded = self.ignore.excluded(&path);
            if meta.is_dir() {
                // An exception may re-include something below an excluded directory.
                let at = out.len();
                let below = self.walk(&full, &path, out)?;
                if !excluded || below {
                    out.insert(at, path);
                    kept_any = true;
                }
            } else if !excluded {
                out.push(path);
                kept_any = true;
            }
        }
        Ok(kept_any)
    }

    /// The entries a COPY/ADD source names: the path itself (and all below
    /// it, for a directory), or what a wildcard matches. Sorted.
    pub fn resolve(&self, source: &str, entries: &[String]) -> Result<Vec<String>, ContextError> {
        let cleaned = clean(source.trim_start_matches('/'));
        if cleaned == ".." || cleaned.starts_with("../") {
            return Err(ContextError::Outside(source.to_owned()));
        }
        let under = |top: &str, e: &str| e == top || e.starts_with(&format!("{top}/"));
        let found: Vec<String> = if cleaned == "." {
            entries.to_vec()
        } else if cleaned.contains(['*', '?', '[']) {
            let pattern = Pattern::new(&cleaned, false);
            let tops: Vec<&String> = entries.iter().filter(|e| pattern.matches(e)).collect();
            entries
                .iter()
                .filter(|e| tops.iter().any(|t| under(t, e)))
                .cloned()
                .collect()
        } else {
            entries
                .iter()
                .filter(|e| under(&cleaned, e))
                .cloned()
                .collect()
        };
        if found.is_empty() {
            return Err(ContextError::NotFound(source.to_owned()));
        }
        Ok(found)
    }
}

/// What of a context entry goes into the cache key, as bytes to hash:
/// its path, kind, permission bits and content (a file's bytes, a
/// symlink's target). Not its times (a `git checkout` or `touch` changes
/// them without changing what COPY produces) and not its owner (COPY
/// makes files owned by root, or by `--chown`).
// ANCHOR: entry_identity
pub fn entry_identity(root: &Path, rel: &str) -> Result<Vec<u8>, ContextError> {
    use std::os::unix::fs::PermissionsExt;
    let full = root.join(rel);
    let meta = fs::symlink_metadata(&full).map_err(ContextError::io("stat", &full))?;
    // TASK 09.6: path, kind, mode bits, content digest or link target; no times
    let (kind, content) = if meta.file_type().is_symlink() {
        let target = fs::read_link(&full).map_err(ContextError::io("read the link", &full))?;
        (
            Kind::Symlink,
            target.to_string_lossy().into_owned().into_bytes(),
        )
    } else if meta.is_dir() {
        (Kind::Dir, Vec::new())
    } else {
        let bytes = fs::read(&full).map_err(ContextError::io("read", &full))?;
        (Kind::File, crate::cache::sha256(&bytes).0.to_vec())
    };
    let mut out = Vec::new();
    out.extend_from_slice(rel.as_bytes());
    out.push(0);
    out.extend_from_slice(
        format!("{kind:?}\0{:o}\0", meta.permissions().mode() & 0o7777).as_bytes(),
    );
    out.extend_from_slice(&content);
    Ok(out)
    // END TASK 09.6
}
// ANCHOR_END: entry_identity
