//! COPY (and ADD of plain files) from the build context: a layer made of
//! the sources, staged in a directory of its own, then turned into a tar
//! by lab 06's `diff` — the same path as a RUN step's upper.
//!
//! Docker's rules, which this follows:
//!
//! - the destination is relative to `WORKDIR`; it is a directory when it
//!   ends with `/` or when there are several sources (or a wildcard);
//!   otherwise a single file is copied *to* that path;
//! - a directory source copies its **contents**, not itself: `COPY src/
//!   /app/` gives `/app/main.rs`, not `/app/src/main.rs`;
//! - files keep their permission bits; symlinks are copied as symlinks,
//!   never followed; directories the destination needs are made (0755);
//! - everything is owned by root, or by `--chown` (numeric here);
//! - entry times are the build's (`SOURCE_DATE_EPOCH`) in the tar, so the
//!   layer depends on content only, like the cache key (09.6).
//!
//! Not done: ADD's archive unpacking (lab 08's safe unpacker is the
//! place), `--chown=name` (needs the image's `/etc/passwd`),
//! `COPY --from=stage`.

use std::fs;
use std::os::unix::fs::{PermissionsExt, lchown, symlink};
use std::path::{Path, PathBuf};

use layers::{DiffOptions, diff};

use crate::context::Context;
use crate::ignore::{Pattern, clean};
use crate::step::{Ran, StepError};

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StepError {
    let path = path.to_path_buf();
    move |source| StepError::Io { what, path, source }
}

/// The absolute destination of a COPY: `dest` against `workdir`, cleaned
/// (it can never leave the layer: `..` stops at `/`).
pub fn destination(workdir: &str, dest: &str) -> String {
    let joined = if dest.starts_with('/') {
        dest.to_owned()
    } else {
        format!("{}/{dest}", if workdir.is_empty() { "/" } else { workdir })
    };
    clean(&joined)
}

/// Where each context entry a source names goes, relative to the layer's
/// root: `(entry, target)` pairs, parents before children.
pub fn targets(
    context: &Context,
    entries: &[String],
    sources: &[String],
    dest: &str,
) -> Result<Vec<(String, String)>, StepError> {
    let context_error = |e: crate::error::ContextError| StepError::Io {
        what: "resolve a COPY source in",
        path: context.root.clone(),
        source: std::io::Error::other(format!("{e}")),
    };
    // TASK 09.10: a dir source copies its contents; dest is a dir if it ends in / or many sources
    todo!("09.10: a dir source copies its contents; dest is a dir if it ends in / or many sources")
    // END TASK 09.10
}

/// Stage a COPY layer in `work/diffs/<id>` and diff it into
/// `work/<id>.tar`.
pub fn copy_layer(
    work: &Path,
    id: &str,
    context: &Context,
    sources: &[String],
    dest: &str,
    owner: (u32, u32),
    mtime: u64,
) -> Result<Ran, StepError> {
    let entries = context.entries().map_err(|e| StepError::Io {
        what: "walk the build context",
        path: context.root.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let pairs = targets(context, &entries, sources, dest)?;
    let dir = work.join("diffs").join(id);
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io("remove", &dir))?;
    }
    fs::create_dir_all(&dir).map_err(io("make", &dir))?;
    let result = (|| {
        for (entry, target) in &pairs {
            // The layer's root is not an entry: its mode is not the source's.
            if target.is_empty() {
                continue;
            }
            let from = context.root.join(entry);
            let to: PathBuf = if target.is_empty() {
                dir.clone()
            } else {
                dir.join(target)
            };
            // The destination's parents: made, 0755, owned by root.
            let mut parent = dir.clone();
            if let Some(up) = Path::new(target).parent() {
                for part in up.components() {
                    parent.push(part);
                    if fs::symlink_metadata(&parent).is_err() {
                        fs::create_dir(&parent).map_err(io("make", &parent))?;
                        fs::set_permissions(&parent, fs::Permissions::from_mode(0o755))
                            .map_err(io("chmod", &parent))?;
                    }
                }
            }
            let meta = fs::symlink_metadata(&from).map_err(io("stat", &from))?;
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let link = fs::read_link(&from).map_err(io("read the link", &from))?;
                symlink(&link, &to).map_err(io("make the link", &to))?;
            } else if meta.is_dir() {
                if fs::symlink_metadata(&to).is_err() {
                    fs::create_dir(&to).map_err(io("make", &to))?;
                }
                fs::set_permissions(&to, fs::Permissions::from_mode(mode))
                    .map_err(io("chmod", &to))?;
            } else {
                fs::copy(&from, &to).map_err(io("copy into the layer", &to))?;
                fs::set_permissions(&to, fs::Permissions::from_mode(mode))
                    .map_err(io("chmod", &to))?;
            }
            lchown(&to, Some(owner.0), Some(owner.1)).map_err(io("chown", &to))?;
        }
        let tar = work.join(format!("{id}.tar"));
        let file = fs::File::create(&tar).map_err(io("create", &tar))?;
        let options = DiffOptions {
            gzip: false,
            userxattr: false,
            mtime,
            id_shift: 0,
        };
        let digests = diff(&dir, file, &options)?;
        Ok(Ran {
            digests,
            tar,
            layer_dir: dir.clone(),
        })
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&dir);
    }
    result
}
