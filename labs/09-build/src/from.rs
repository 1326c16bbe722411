//! Where COPY and ADD read, and what ADD does with an archive.
//!
//! - `COPY --from=stage` reads the *stage's filesystem*, not the build
//!   context: the stage's layer directories mounted (read-only use) as a
//!   lab-06 overlay, then copied with the same rules as a context source
//!   ([`crate::copy`]). `--from=image` does the same with an image of lab
//!   08's store. The context's `.dockerignore` does not apply there.
//! - `ADD archive.tar dest/` *unpacks* a local tar (plain or gzip, told by
//!   its first bytes, as Docker does, not by its name) into `dest/` — with
//!   lab 08's safe unpacker: an archive in the context is as hostile as a
//!   layer (`..`, absolute paths, links out, devices…) and is refused the
//!   same way. Anything else is copied as COPY does. URLs are refused by
//!   the parser.
//! - `--chown=user[:group]` names are looked up in the *image's*
//!   `/etc/passwd` and `/etc/group` (the layers below the step), never the
//!   host's; a user without a group gets the uid as gid, as Docker does.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::plan::Source;
use crate::step::{Ran, StepError};

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StepError {
    let path = path.to_path_buf();
    move |source| StepError::Io { what, path, source }
}

/// The layer directories (bottom first) a COPY reads from: `None` for
/// the build context, the stage's layers for `--from=stage`, the image's
/// for `--from=image`. `stages[i]` is stage `i`'s layers once built.
pub fn source_layers(
    from: &Source,
    stages: &[Option<Vec<PathBuf>>],
    images: &BTreeMap<String, Vec<PathBuf>>,
) -> Option<Vec<PathBuf>> {
    // TASK 09.13: the context, or the --from stage's (image's) layer dirs
    todo!("09.13: the context, or the --from stage's (image's) layer dirs")
    // END TASK 09.13
}

/// Whether `path` is a tar archive ADD unpacks: gzip's magic, or a tar
/// header (`ustar` at offset 257).
pub fn is_archive(path: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    let mut head = [0u8; 262];
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    head[..n].starts_with(&[0x1f, 0x8b]) || (n >= 262 && &head[257..262] == b"ustar")
}

/// Stage an ADD layer of `archives` unpacked under `dest` (absolute, a
/// directory) in `work/diffs/<id>`, and diff it into `work/<id>.tar`.
pub fn add_archives(
    work: &Path,
    id: &str,
    archives: &[PathBuf],
    dest: &str,
    mtime: u64,
) -> Result<Ran, StepError> {
    let dir = work.join("diffs").join(id);
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io("remove", &dir))?;
    }
    fs::create_dir_all(&dir).map_err(io("make", &dir))?;
    let result = (|| -> Result<Ran, StepError> {
        // TASK 09.14: each archive through lab 08's safe unpacker, merged under dest; diff
        todo!("09.14: each archive through lab 08's safe unpacker, merged under dest; diff")
        // END TASK 09.14
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&dir);
    }
    result
}

/// Move what `from` holds into `to`: a later archive's entry replaces an
/// earlier one's, directories merge.
fn merge(from: &Path, to: &Path) -> Result<(), StepError> {
    for entry in fs::read_dir(from).map_err(io("list", from))? {
        let entry = entry.map_err(io("list", from))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let src_dir = entry.file_type().map_err(io("stat", &src))?.is_dir();
        match fs::symlink_metadata(&dst) {
            Ok(meta) if meta.is_dir() && src_dir => merge(&src, &dst)?,
            Ok(meta) => {
                if meta.is_dir() {
                    fs::remove_dir_all(&dst).map_err(io("remove", &dst))?;
                } else {
                    fs::remove_file(&dst).map_err(io("remove", &dst))?;
                }
                fs::rename(&src, &dst).map_err(io("move", &dst))?;
            }
            Err(_) => fs::rename(&src, &dst).map_err(io("move", &dst))?,
        }
    }
    Ok(())
}

/// `--chown=user[:group]` as numeric ids: names from the image's
/// `/etc/passwd` and `/etc/group` in `layers` (bottom first); no
/// `--chown` is root.
pub fn owner(chown: &Option<String>, layers: &[PathBuf]) -> Result<(u32, u32), String> {
    let Some(spec) = chown else {
        return Ok((0, 0));
    };
    if let Some((u, g)) = spec.split_once(':')
        && let (Ok(u), Ok(g)) = (u.parse(), g.parse())
    {
        return Ok((u, g)); // numeric: nothing to look up
    }
    // TASK 09.14: names looked up in the image's /etc/passwd and /etc/group; no group: the uid
    todo!("09.14: names looked up in the image's /etc/passwd and /etc/group; no group: the uid")
    // END TASK 09.14
}
