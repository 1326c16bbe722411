//! Where the labs are, and what their tasks are.
//!
//! A lab is a pair of crates with the same package name: the reference in
//! `solutions/NN-name/` and the learner's starter in `labs/NN-name/`. Its
//! tasks are read from the solution's markers (see `markers`). What Cargo
//! knows — package names, `[package.metadata.dockyard]` — comes from
//! `cargo metadata`, never from reading Cargo.toml by lines.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::markers::{self, Region};

/// One lab of the workbook.
#[derive(Debug, Clone)]
pub struct Lab {
    /// `01`
    pub num: String,
    /// `01-process`: the directory name in `labs/` and `solutions/`.
    pub dir: String,
    /// The package (and library) name, `process`.
    pub package: String,
    /// `needs-root = true` under `[package.metadata.dockyard]`: its checks
    /// run with sudo.
    pub root: bool,
    /// `needs = ["overlay", …]` under `[package.metadata.dockyard]`: the
    /// host features (see `doctor`) the lab's checks need.
    pub needs: Vec<String>,
    /// `vm = true` under `[package.metadata.dockyard]`: `verify` also runs
    /// the lab's checks on the reference inside a pure cgroup-v2 VM (see
    /// `vm`), where the host's own cgroup layout may differ.
    pub vm: bool,
}

/// A task of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub text: String,
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository")
        .to_path_buf()
}

/// Every lab, in order: those with a reference solution (or, in a copy
/// without solutions, those in `labs/`).
pub fn all(root: &Path) -> Result<Vec<Lab>> {
    let solutions = root.join("solutions");
    let (manifest, base) = if solutions.join("Cargo.toml").is_file() {
        (solutions.join("Cargo.toml"), solutions)
    } else {
        (root.join("Cargo.toml"), root.join("labs"))
    };
    let out = Command::new(crate::testrun::cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdin(Stdio::null())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata --manifest-path {} failed:\n{}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    let metadata: Value =
        serde_json::from_slice(&out.stdout).context("reading cargo metadata's JSON")?;
    from_metadata(&metadata, &base)
}

/// The labs among the packages of `cargo metadata`'s output: the packages
/// whose manifest is `base/NN-name/Cargo.toml`, sorted by number.
fn from_metadata(metadata: &Value, base: &Path) -> Result<Vec<Lab>> {
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata: no packages")?;
    // Cargo may print paths through symlinks resolved (or not): compare
    // the real directories.
    let real = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let base = real(base);
    let mut labs = Vec::new();
    for package in packages {
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        let Some(dir) = manifest.parent() else {
            continue;
        };
        if dir.parent().map(real) != Some(base.clone()) {
            continue;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((num, _)) = name.split_once('-') else {
            continue;
        };
        if num.len() != 2 || !num.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let dockyard = &package["metadata"]["dockyard"];
        let needs = match &dockyard["needs"] {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .with_context(|| {
                    format!("{}: `needs` must be a list of strings", manifest.display())
                })?,
            _ => bail!("{}: `needs` must be a list of strings", manifest.display()),
        };
        labs.push(Lab {
            num: num.to_owned(),
            dir: name.clone(),
            package: package["name"]
                .as_str()
                .with_context(|| format!("{}: no package name", manifest.display()))?
                .to_owned(),
            root: dockyard["needs-root"].as_bool().unwrap_or(false),
            needs,
            vm: match &dockyard["vm"] {
                Value::Null => false,
                Value::Bool(b) => *b,
                _ => bail!("{}: `vm` must be true or false", manifest.display()),
            },
        });
    }
    labs.sort_by(|a, b| a.num.cmp(&b.num));
    Ok(labs)
}

/// The lab named by `wanted`: its number (`1`, `01`), its package name
/// (`process`) or its directory (`01-process`); or an error that lists
/// the labs.
pub fn find(root: &Path, wanted: &str) -> Result<Lab> {
    let labs = all(root)?;
    if let Some(lab) = pick(&labs, wanted) {
        return Ok(lab.clone());
    }
    let list: Vec<String> = labs
        .iter()
        .map(|l| format!("  {}  {}", l.num, l.package))
        .collect();
    bail!(
        "there is no lab {}. The labs are (by number or by name):\n{}",
        wanted.trim(),
        list.join("\n")
    )
}

/// The lab `wanted` names, by number, package name or directory.
fn pick<'a>(labs: &'a [Lab], wanted: &str) -> Option<&'a Lab> {
    let wanted = wanted.trim();
    let number = wanted
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| format!("{wanted:0>2}"));
    labs.iter().find(|l| {
        number.as_deref() == Some(l.num.as_str()) || l.package == wanted || l.dir == wanted
    })
}

impl Lab {
    pub fn solution_dir(&self, root: &Path) -> PathBuf {
        root.join("solutions").join(&self.dir)
    }

    pub fn lab_dir(&self, root: &Path) -> PathBuf {
        root.join("labs").join(&self.dir)
    }

    /// Whether the lab's checks need root (`needs-root = true` under
    /// `[package.metadata.dockyard]`, read by `all` from cargo metadata;
    /// `root` is unused, kept for the callers' sake).
    pub fn needs_root(&self, _root: &Path) -> bool {
        self.root
    }

    /// The lab's tasks in order, from the reference's markers (or, without
    /// solutions, from the starter's).
    pub fn tasks(&self, root: &Path) -> Result<Vec<Task>> {
        let dir = if self.solution_dir(root).is_dir() {
            self.solution_dir(root)
        } else {
            self.lab_dir(root)
        };
        let mut tasks: Vec<Task> = Vec::new();
        for (_, regions) in source_regions(&dir)? {
            for r in regions {
                if !tasks.iter().any(|t| t.id == r.id) {
                    tasks.push(Task {
                        id: r.id,
                        text: r.text,
                    });
                }
            }
        }
        tasks.sort_by_key(|t| task_order(&t.id));
        Ok(tasks)
    }
}

/// Sort key of a task id: `01.10` after `01.9`.
pub fn task_order(id: &str) -> (u32, u32) {
    let (lab, k) = id.split_once('.').unwrap_or((id, "0"));
    (lab.parse().unwrap_or(0), k.parse().unwrap_or(0))
}

/// The task regions of every `.rs` file under `crate_dir/src`, by file.
pub fn source_regions(crate_dir: &Path) -> Result<Vec<(PathBuf, Vec<Region>)>> {
    let mut out = Vec::new();
    for file in rust_files(&crate_dir.join("src"))? {
        let text = fs::read_to_string(&file)?;
        let regions = markers::regions(&text, &file.display().to_string())?;
        if !regions.is_empty() {
            out.push((file, regions));
        }
    }
    Ok(out)
}

/// Every `.rs` file below `dir`, sorted.
pub fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(files(dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect())
}

/// Every file below `dir`, sorted, skipping `target/`.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                if entry.file_name() != "target" {
                    todo.push(path);
                }
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, manifest: &str, metadata: Value) -> Value {
        serde_json::json!({"name": name, "manifest_path": manifest, "metadata": metadata})
    }

    #[test]
    fn labs_come_from_cargo_metadata() {
        let metadata = serde_json::json!({"packages": [
            package("rootfs", "/r/solutions/03-rootfs/Cargo.toml",
                serde_json::json!({"dockyard": {"needs-root": true, "needs": ["overlay"], "vm": true}})),
            package("process", "/r/solutions/01-process/Cargo.toml", Value::Null),
            package("xtask", "/r/xtask/Cargo.toml", Value::Null),
            package("notes", "/r/solutions/notes/Cargo.toml", Value::Null),
        ]});
        let labs = from_metadata(&metadata, Path::new("/r/solutions")).unwrap();
        let names: Vec<(&str, &str, bool)> = labs
            .iter()
            .map(|l| (l.num.as_str(), l.package.as_str(), l.root))
            .collect();
        assert_eq!(names, [("01", "process", false), ("03", "rootfs", true)]);
        assert_eq!(labs[0].dir, "01-process");
        assert_eq!(labs[1].needs, ["overlay"]);
        assert!(!labs[0].vm && labs[1].vm);
        let bad = serde_json::json!({"packages": [package("x", "/r/solutions/04-x/Cargo.toml",
            serde_json::json!({"dockyard": {"needs": "overlay"}}))]});
        assert!(from_metadata(&bad, Path::new("/r/solutions")).is_err());
    }

    #[test]
    fn a_lab_is_found_by_number_or_name() {
        let lab = |num: &str, package: &str| Lab {
            num: num.into(),
            dir: format!("{num}-{package}"),
            package: package.into(),
            root: false,
            needs: Vec::new(),
            vm: false,
        };
        let labs = [lab("01", "process"), lab("02", "namespaces")];
        let found = |w: &str| pick(&labs, w).map(|l| l.num.as_str());
        assert_eq!(found("1"), Some("01"));
        assert_eq!(found("01"), Some("01"));
        assert_eq!(found(" 2 "), Some("02"));
        assert_eq!(found("process"), Some("01"));
        assert_eq!(found("02-namespaces"), Some("02"));
        assert_eq!(found("3"), None);
        assert_eq!(found("proc"), None);
    }
}
