//! Where the labs are, and what their tasks are.
//!
//! A lab is a pair of crates with the same package name: the reference in
//! `solutions/NN-name/` and the learner's starter in `labs/NN-name/`. Its
//! tasks are read from the solution's markers (see `markers`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

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
    let base = if solutions.is_dir() {
        solutions
    } else {
        root.join("labs")
    };
    let mut labs = Vec::new();
    for entry in fs::read_dir(&base).with_context(|| format!("reading {}", base.display()))? {
        let entry = entry?;
        let dir = entry.file_name().to_string_lossy().into_owned();
        let manifest = entry.path().join("Cargo.toml");
        let Some((num, _)) = dir.split_once('-') else {
            continue;
        };
        if num.len() != 2 || !num.bytes().all(|b| b.is_ascii_digit()) || !manifest.is_file() {
            continue;
        }
        let package = package_name(&manifest)?;
        labs.push(Lab {
            num: num.to_owned(),
            dir,
            package,
        });
    }
    labs.sort_by(|a, b| a.num.cmp(&b.num));
    Ok(labs)
}

/// The lab numbered `num` (`1`, `01`), or an error that lists the labs.
pub fn find(root: &Path, num: &str) -> Result<Lab> {
    let labs = all(root)?;
    let wanted = format!("{:0>2}", num.trim());
    if let Some(lab) = labs.iter().find(|l| l.num == wanted) {
        return Ok(lab.clone());
    }
    let list: Vec<String> = labs
        .iter()
        .map(|l| format!("  {}  {}", l.num, l.package))
        .collect();
    bail!(
        "there is no lab {wanted}. The labs are:\n{}",
        list.join("\n")
    )
}

fn package_name(manifest: &Path) -> Result<String> {
    let text = fs::read_to_string(manifest)?;
    text.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("name = \"")
                .and_then(|r| r.strip_suffix('"'))
        })
        .map(str::to_owned)
        .with_context(|| format!("{}: no package name", manifest.display()))
}

impl Lab {
    pub fn solution_dir(&self, root: &Path) -> PathBuf {
        root.join("solutions").join(&self.dir)
    }

    pub fn lab_dir(&self, root: &Path) -> PathBuf {
        root.join("labs").join(&self.dir)
    }

    /// Whether the lab's checks need root (`needs-root = true` under
    /// `[package.metadata.dockyard]` in its Cargo.toml).
    pub fn needs_root(&self, root: &Path) -> bool {
        let manifest = self.lab_dir(root).join("Cargo.toml");
        fs::read_to_string(manifest)
            .is_ok_and(|t| t.lines().any(|l| l.trim() == "needs-root = true"))
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
