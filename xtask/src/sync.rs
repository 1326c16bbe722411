//! `cargo xtask sync [--check]`: write `labs/` from `solutions/`.
//!
//! For every lab, every file of the solution crate is copied to the starter
//! crate, except that Rust sources under `src/` have their task regions
//! replaced by `todo!` (see `markers`). Tests and snapshots are copied
//! verbatim, so the same checks judge the starter and the reference.
//!
//! `--check` writes nothing and fails on any difference. It also checks the
//! two workspace manifests share their dependency and profile tables (or
//! the labs and the solutions would build their dependencies twice).
//!
//! `sync` is for the workbook's maintainers. It refuses to overwrite a task
//! region in which a learner has written code.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::labs::{self, Lab};
use crate::markers;

/// What the starter of `lab` should contain: relative path → content.
pub fn expected(root: &Path, lab: &Lab) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let src = lab.solution_dir(root);
    let mut out = Vec::new();
    for file in labs::files(&src)? {
        let rel = file.strip_prefix(&src)?.to_path_buf();
        if rel.extension().is_some_and(|e| e == "new") {
            continue; // a pending insta snapshot, never part of a lab
        }
        let bytes = fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let is_src = rel.starts_with("src") && rel.extension().is_some_and(|e| e == "rs");
        let bytes = if is_src {
            let text = String::from_utf8(bytes)
                .with_context(|| format!("{} is not UTF-8", file.display()))?;
            markers::starter(&text, &format!("solutions/{}/{}", lab.dir, rel.display()))?
                .into_bytes()
        } else {
            bytes
        };
        out.push((rel, bytes));
    }
    Ok(out)
}

/// Run `sync`; with `check`, only compare.
pub fn run(root: &Path, check: bool, force: bool) -> Result<()> {
    let mut problems = manifest_drift(root)?;
    for lab in labs::all(root)? {
        let dest = lab.lab_dir(root);
        let want = expected(root, &lab)?;
        let wanted: BTreeSet<PathBuf> = want.iter().map(|(p, _)| p.clone()).collect();
        for (rel, bytes) in &want {
            let path = dest.join(rel);
            let have = fs::read(&path).ok();
            if have.as_deref() == Some(bytes.as_slice()) {
                continue;
            }
            if check {
                problems.push(format!("labs/{}/{} is stale", lab.dir, rel.display()));
                continue;
            }
            if let (Some(have), false) = (&have, force) {
                refuse_learner_work(&path, have)?;
            }
            fs::create_dir_all(path.parent().expect("a file has a parent"))?;
            fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote labs/{}/{}", lab.dir, rel.display());
        }
        for extra in labs::files(&dest)? {
            let rel = extra.strip_prefix(&dest)?.to_path_buf();
            if !wanted.contains(&rel) {
                if check {
                    problems.push(format!(
                        "labs/{}/{} has no counterpart in solutions/",
                        lab.dir,
                        rel.display()
                    ));
                } else if force || rel.extension().is_some_and(|e| e == "new") {
                    fs::remove_file(&extra)?;
                } else {
                    println!(
                        "note: labs/{}/{} is not in solutions/ (kept; --force removes it)",
                        lab.dir,
                        rel.display()
                    );
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "labs/ is out of date with solutions/:\n  - {}\nRun `cargo xtask sync`.",
            problems.join("\n  - ")
        );
    }
    if check {
        println!("sync: labs/ matches solutions/");
    }
    Ok(())
}

/// Refuse to overwrite a starter file in which a task region holds work.
fn refuse_learner_work(path: &Path, have: &[u8]) -> Result<()> {
    let Ok(text) = std::str::from_utf8(have) else {
        return Ok(());
    };
    let Ok(regions) = markers::regions(text, &path.display().to_string()) else {
        return Ok(());
    };
    if let Some(r) = regions.iter().find(|r| !markers::is_untouched(r)) {
        bail!(
            "{}:{} holds work for task {}; sync would overwrite it.\n\
             (sync regenerates the starters for the workbook's maintainers; --force overwrites anyway)",
            path.display(),
            r.begin,
            r.id
        );
    }
    Ok(())
}

/// The tables that must be the same in both workspace manifests.
const SHARED_TABLES: [&str; 4] = [
    "[workspace.package]",
    "[workspace.dependencies]",
    "[profile.dev]",
    "[profile.dev.package.\"*\"]",
];

fn manifest_drift(root: &Path) -> Result<Vec<String>> {
    let labs = fs::read_to_string(root.join("Cargo.toml"))?;
    let solutions = fs::read_to_string(root.join("solutions/Cargo.toml"))?;
    Ok(SHARED_TABLES
        .iter()
        .filter(|t| table(&labs, t) != table(&solutions, t))
        .map(|t| format!("{t} differs between Cargo.toml and solutions/Cargo.toml"))
        .collect())
}

/// The lines of a TOML table, without comments and blank lines.
fn table(manifest: &str, header: &str) -> Vec<String> {
    manifest
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_compared_without_comments() {
        let a = "[x]\n# c\nk = 1\n\n[y]\nz = 2\n";
        assert_eq!(table(a, "[x]"), ["k = 1"]);
        assert_eq!(table(a, "[y]"), ["z = 2"]);
        assert!(table(a, "[w]").is_empty());
    }
}
