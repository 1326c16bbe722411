//! `cargo xtask sync [--check]`: write `labs/` from `solutions/`.
//!
//! For every lab, every file of the solution crate is copied to the starter
//! crate, except that Rust sources under `src/` have their task regions
//! replaced by `todo!` (see `markers`). Tests and snapshots are copied
//! verbatim, so the same checks judge the starter and the reference.
//!
//! `--check` writes nothing and fails on any difference. It also checks the
//! two workspace manifests share their dependency and profile tables, and
//! that the two lock files pin the same version of every package they
//! share (or the labs and the solutions would build their dependencies
//! twice, and a check could pass against one version and fail on the other).
//!
//! `sync` is for the workbook's maintainers. It refuses to overwrite a task
//! region in which a learner has written code.

use std::collections::{BTreeMap, BTreeSet};
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
    // Not a matter for `sync` to fix: said apart, with its own remedy.
    let locks = if check { lock_drift(root)? } else { Vec::new() };
    if !locks.is_empty() {
        println!(
            "Cargo.lock and solutions/Cargo.lock pin different versions:\n  - {}",
            locks.join("\n  - ")
        );
        if problems.is_empty() {
            bail!("the two lock files differ (see above)");
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
const SHARED_TABLES: [&str; 5] = [
    "[workspace.package]",
    "[workspace.dependencies]",
    "[profile.dev]",
    "[profile.dev.package.\"*\"]",
    "[profile.dist]",
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

/// Packages from a registry (or git) that both lock files hold at
/// different versions of one semver series — with the command that aligns
/// them. (Two series of one crate, `syn` 1 and 2, are two packages: the
/// tooling may need one the labs never use.)
fn lock_drift(root: &Path) -> Result<Vec<String>> {
    let read =
        |rel: &str| fs::read_to_string(root.join(rel)).with_context(|| format!("reading {rel}"));
    let labs = locked_versions(&read("Cargo.lock")?);
    let solutions = locked_versions(&read("solutions/Cargo.lock")?);
    let mut problems = Vec::new();
    for ((name, series), ours) in &labs {
        let Some(theirs) = solutions.get(&(name.clone(), series.clone())) else {
            continue;
        };
        if ours != theirs {
            // Cargo.lock, the learner's, is the one to follow.
            problems.push(format!(
                "{name}: Cargo.lock pins {ours}, solutions/Cargo.lock pins {theirs}; \
                 fix: `cd solutions && cargo update --package {name}@{theirs} --precise {ours}` \
                 (or the other way round in the root)"
            ));
        }
    }
    Ok(problems)
}

/// The semver series of a version: `0.2` for `0.2.7`, `2` for `2.0.1`
/// (what a caret requirement can move within).
fn series(version: &str) -> String {
    let mut parts = version.split(['.', '-', '+']);
    let major = parts.next().unwrap_or("");
    match (major, parts.next()) {
        ("0", Some(minor)) => format!("0.{minor}"),
        _ => major.to_owned(),
    }
}

/// `(name, series) → version` of the packages of a `Cargo.lock` that come
/// from a registry or git (a workspace's own crates have no `source`).
fn locked_versions(lock: &str) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    let value = |line: &str, key: &str| {
        line.strip_prefix(key)
            .and_then(|r| r.trim_start().strip_prefix('='))
            .map(|r| r.trim().trim_matches('"').to_owned())
    };
    for block in lock.split("[[package]]").skip(1) {
        let (mut name, mut version, mut source) = (None, None, false);
        for line in block.lines().map(str::trim) {
            if line.starts_with('[') {
                break; // a table after the packages ([metadata], [[patch.unused]])
            }
            name = name.or_else(|| value(line, "name"));
            version = version.or_else(|| value(line, "version"));
            source |= line.starts_with("source");
        }
        if let (Some(name), Some(version), true) = (name, version, source) {
            out.insert((name, series(&version)), version);
        }
    }
    out
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

    #[test]
    fn lock_files_are_read_by_package() {
        let lock = "version = 4\n\n[[package]]\nname = \"libc\"\nversion = \"0.2.1\"\n\
            source = \"registry+https://x\"\n\n[[package]]\nname = \"process\"\n\
            version = \"0.1.0\"\ndependencies = [\n \"libc\",\n]\n\n[[package]]\n\
            name = \"libc\"\nversion = \"0.3.2\"\nsource = \"registry+https://x\"\n";
        let v = locked_versions(lock);
        assert_eq!(v.len(), 2, "a workspace crate has no source: {v:?}");
        assert_eq!(v[&("libc".into(), "0.2".into())], "0.2.1");
        assert_eq!(v[&("libc".into(), "0.3".into())], "0.3.2");
        assert_eq!(series("2.0.119"), "2");
        assert_eq!(series("1.0.0-rc.1"), "1");
    }

    #[test]
    fn lock_drift_names_the_package_and_the_fix() {
        let root = std::env::temp_dir().join(format!("xtask-lock-drift-{}", std::process::id()));
        fs::create_dir_all(root.join("solutions")).unwrap();
        let lock = |libc: &str| {
            format!(
                "[[package]]\nname = \"libc\"\nversion = \"{libc}\"\nsource = \"registry+x\"\n\n\
                 [[package]]\nname = \"syn\"\nversion = \"1.0.1\"\nsource = \"registry+x\"\n"
            )
        };
        fs::write(root.join("Cargo.lock"), lock("0.2.7")).unwrap();
        fs::write(root.join("solutions/Cargo.lock"), lock("0.2.9")).unwrap();
        let problems = lock_drift(&root).unwrap();
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            problems,
            [
                "libc: Cargo.lock pins 0.2.7, solutions/Cargo.lock pins 0.2.9; fix: \
              `cd solutions && cargo update --package libc@0.2.9 --precise 0.2.7` \
              (or the other way round in the root)"
            ]
        );
    }
}
