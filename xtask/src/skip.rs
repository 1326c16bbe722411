//! `cargo xtask skip NN` / `unskip NN`: go on with the reference code.
//!
//! A learner stuck on lab NN can still do lab NN+1, which builds on lab
//! NN's crate: `skip` fills lab NN's task regions with the reference code,
//! after saving the learner's `src/` in `labs/NN-name/.skipped/`. `unskip`
//! puts the learner's code back. Nothing is overwritten without a copy:
//! `skip` refuses to run twice, and `unskip` refuses when there is nothing
//! saved.
//!
//! The student edition (`export --student`) has no `solutions/`: there
//! `skip NN` says so, and `skip NN --from DIR` takes the reference crate
//! of lab NN from wherever the instructor handed it out.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::labs::{self, Lab};
use crate::markers;

/// Where a skipped lab keeps the learner's code.
pub fn saved_dir(root: &Path, lab: &Lab) -> std::path::PathBuf {
    lab.lab_dir(root).join(".skipped")
}

/// Whether lab `lab` holds the reference code because of `skip`.
pub fn is_skipped(root: &Path, lab: &Lab) -> bool {
    saved_dir(root, lab).is_dir()
}

/// Where the reference crate of `lab` is: `from` if given, else
/// `solutions/NN-name`, or an error that says what to do without one.
fn reference_crate(root: &Path, lab: &Lab, from: Option<&Path>) -> Result<std::path::PathBuf> {
    let dir = match from {
        Some(dir) => dir.to_path_buf(),
        None if lab.solution_dir(root).is_dir() => return Ok(lab.solution_dir(root)),
        None => bail!(
            "this is the student edition of the workbook: it has no reference solutions, so \
             `skip` has nothing to fill lab {n} with. If your instructor handed out the \
             reference crate of lab {n}, run `cargo xtask skip {n} --from DIR` (DIR holds its \
             Cargo.toml and src/).",
            n = lab.num
        ),
    };
    if !dir.join("src").is_dir() {
        bail!(
            "{} is not a lab's crate: it has no src/ (expected the reference crate of lab {}, \
             like solutions/{})",
            dir.display(),
            lab.num,
            lab.dir
        );
    }
    Ok(dir)
}

pub fn skip(root: &Path, num: &str, from: Option<&Path>) -> Result<()> {
    let lab = labs::find(root, num)?;
    let reference_dir = reference_crate(root, &lab, from)?;
    let (src, saved) = (lab.lab_dir(root).join("src"), saved_dir(root, &lab));
    if saved.exists() {
        bail!(
            "lab {} is skipped already; `cargo xtask unskip {}` puts your code back",
            lab.num,
            lab.num
        );
    }
    // Compute every new file first: a failure must leave the lab untouched.
    let mut filled = Vec::new();
    for file in labs::rust_files(&src)? {
        let rel = file.strip_prefix(&src)?;
        let reference = reference_dir.join("src").join(rel);
        let Ok(solution) = fs::read_to_string(&reference) else {
            continue;
        };
        let mine = fs::read_to_string(&file)?;
        let name = format!("labs/{}/src/{}", lab.dir, rel.display());
        let new = markers::fill(&mine, &solution, &name)?;
        if new != mine {
            filled.push((file.clone(), new));
        }
    }
    copy_tree(&src, &saved.join("src")).context("saving your code")?;
    for (file, text) in &filled {
        fs::write(file, text).with_context(|| format!("writing {}", file.display()))?;
    }
    // The last check's result was about the learner's code, not this.
    crate::progress::forget(root, &lab)?;
    println!(
        "Lab {} now holds the reference code in the task regions of {} files. Your code is saved in labs/{}/.skipped/src/.\n\
         `cargo xtask check {}` now checks the reference code, not yours; `cargo xtask unskip {}` puts yours back.",
        lab.num,
        filled.len(),
        lab.dir,
        lab.num,
        lab.num
    );
    Ok(())
}

pub fn unskip(root: &Path, num: &str) -> Result<()> {
    let lab = labs::find(root, num)?;
    let (src, saved) = (lab.lab_dir(root).join("src"), saved_dir(root, &lab));
    if !saved.join("src").is_dir() {
        bail!(
            "lab {} is not skipped: there is no saved code in labs/{}/.skipped/",
            lab.num,
            lab.dir
        );
    }
    copy_tree(&saved.join("src"), &src).context("restoring your code")?;
    fs::remove_dir_all(&saved)?;
    // The last check ran the reference code: it says nothing about yours.
    crate::progress::forget(root, &lab)?;
    println!(
        "Lab {} holds your own code again: `cargo xtask check {}` checks it.",
        lab.num, lab.num
    );
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for file in labs::files(from)? {
        let dest = to.join(file.strip_prefix(from)?);
        fs::create_dir_all(dest.parent().expect("has a parent"))?;
        fs::copy(&file, &dest).with_context(|| format!("copying {}", file.display()))?;
    }
    Ok(())
}
