//! Workspaces assembled from the reference of the earlier labs and one
//! lab's own code.
//!
//! `verify` needs lab NN's *starter* beside the reference labs < NN (a
//! check must fail because of lab NN's `todo!`s, not an earlier lab's), and
//! `grade` needs the learner's lab NN beside the same reference (one lab's
//! score must not depend on another's). Both build a copy of the solutions
//! workspace in which lab NN's crate is replaced:
//!
//! ```text
//! target/KIND/NN/             the workspace root (Cargo.toml, Cargo.lock)
//! target/KIND/NN/xtask  ->    the real xtask/ (so `../../xtask/kit` resolves)
//! target/KIND/NN/KIND-NN/01-process …   reference labs < NN, then lab NN
//! ```
//!
//! Why `KIND-NN/` and not `solutions/`: Cargo names a path crate's
//! artifacts after its path *relative to its workspace root*, so a crate at
//! the same relative path in two workspaces sharing a target dir gets the
//! same artifact names — and one workspace's build would pass for the
//! other's. Every assembled workspace has relative paths of its own.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::labs::{self, Lab};

/// Assemble `target/KIND/NN` with `lab_source` as lab NN; returns its root.
pub fn workspace(root: &Path, lab: &Lab, kind: &str, lab_source: &Path) -> Result<PathBuf> {
    let ws = crate::target::dir(root).join(kind).join(&lab.num);
    if ws.exists() {
        fs::remove_dir_all(&ws).with_context(|| format!("removing {}", ws.display()))?;
    }
    let members = format!("{kind}-{}", lab.num);
    fs::create_dir_all(ws.join(&members))?;
    std::os::unix::fs::symlink(root.join("xtask"), ws.join("xtask"))?;
    let manifest = fs::read_to_string(root.join("solutions/Cargo.toml"))?;
    let glob = "members = [\"[0-9][0-9]-*\"]";
    if !manifest.contains(glob) {
        bail!("solutions/Cargo.toml: expected `{glob}`");
    }
    fs::write(
        ws.join("Cargo.toml"),
        manifest.replace(glob, &format!("members = [\"{members}/*\"]")),
    )?;
    fs::copy(root.join("solutions/Cargo.lock"), ws.join("Cargo.lock"))?;
    for earlier in labs::all(root)?.iter().filter(|l| l.num < lab.num) {
        copy_dir(
            &earlier.solution_dir(root),
            &ws.join(&members).join(&earlier.dir),
        )?;
    }
    copy_dir(lab_source, &ws.join(&members).join(&lab.dir))?;
    Ok(ws)
}

/// Lab NN's crate in a workspace made by [`workspace`].
pub fn lab_dir(ws: &Path, lab: &Lab, kind: &str) -> PathBuf {
    ws.join(format!("{kind}-{}", lab.num)).join(&lab.dir)
}

/// Copy a crate, leaving out `target/` and saved copies (`.skipped/`).
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for file in labs::files(from)? {
        let rel = file.strip_prefix(from)?;
        if rel.starts_with(".skipped") {
            continue;
        }
        let dest = to.join(rel);
        fs::create_dir_all(dest.parent().expect("has a parent"))?;
        fs::copy(&file, &dest).with_context(|| format!("copying {}", file.display()))?;
    }
    Ok(())
}
