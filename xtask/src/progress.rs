//! Saved progress: what the last `check` of each lab found.
//!
//! Kept in `target/dockyard/progress.json` — build output, never committed,
//! gone with `cargo clean` (the next `check` writes it again).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{Value, json};

use crate::labs::{self, Lab};

/// The last result of one lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabProgress {
    pub passed: usize,
    pub total: usize,
    pub tasks_done: usize,
    pub tasks: usize,
}

impl LabProgress {
    pub fn complete(&self) -> bool {
        self.total > 0 && self.passed == self.total
    }
}

fn path(root: &Path) -> PathBuf {
    root.join("target/dockyard/progress.json")
}

/// Every saved result, by lab number.
pub fn load(root: &Path) -> BTreeMap<String, LabProgress> {
    let Ok(text) = fs::read_to_string(path(root)) else {
        return BTreeMap::new();
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) else {
        return BTreeMap::new();
    };
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0) as usize;
    map.into_iter()
        .map(|(lab, v)| {
            let p = LabProgress {
                passed: n(&v, "passed"),
                total: n(&v, "total"),
                tasks_done: n(&v, "tasks_done"),
                tasks: n(&v, "tasks"),
            };
            (lab, p)
        })
        .collect()
}

/// Save the result of one lab.
pub fn save(root: &Path, lab: &Lab, p: LabProgress) -> Result<()> {
    let mut all = load(root);
    all.insert(lab.num.clone(), p);
    let value: serde_json::Map<String, Value> = all
        .into_iter()
        .map(|(k, p)| (k, json!({"passed": p.passed, "total": p.total, "tasks_done": p.tasks_done, "tasks": p.tasks})))
        .collect();
    fs::create_dir_all(path(root).parent().expect("has a parent"))?;
    fs::write(
        path(root),
        serde_json::to_string_pretty(&Value::Object(value))?,
    )?;
    Ok(())
}

/// The lab to work on: the first one not complete.
pub fn current_lab(root: &Path) -> Result<Lab> {
    let saved = load(root);
    let labs = labs::all(root)?;
    let first_open = labs
        .iter()
        .find(|l| !saved.get(&l.num).is_some_and(LabProgress::complete));
    Ok(first_open
        .or(labs.last())
        .cloned()
        .expect("the workbook has labs"))
}

/// `cargo xtask status`: one line per lab.
pub fn status(root: &Path) -> Result<()> {
    let saved = load(root);
    println!("  lab                  tasks    checks");
    for lab in labs::all(root)? {
        let tasks = lab.tasks(root)?.len();
        let todo = untouched_regions(root, &lab);
        let line = match saved.get(&lab.num) {
            Some(p) if p.complete() => format!(
                "{:>2}/{:<2}    {:>3}/{:<3} ✓ complete",
                p.tasks_done, p.tasks, p.passed, p.total
            ),
            Some(p) if p.total == 0 => format!(" 0/{tasks:<2}      does not compile (last check)"),
            Some(p) => format!(
                "{:>2}/{:<2}    {:>3}/{:<3}  ",
                p.tasks_done, p.tasks, p.passed, p.total
            ),
            None => format!(" -/{tasks:<2}      not checked yet"),
        };
        let todo = if crate::skip::is_skipped(root, &lab) {
            "   (skipped: holds the reference code)".to_owned()
        } else if todo > 0 {
            format!("   ({todo} todo!() left)")
        } else {
            String::new()
        };
        println!("  {} {:<16} {line}{todo}", lab.num, lab.package);
    }
    let lab = current_lab(root)?;
    println!("\nNext: `cargo xtask check {}`", lab.num);
    Ok(())
}

/// How many task regions of the learner's lab still hold only `todo!`.
pub fn untouched_regions(root: &Path, lab: &Lab) -> usize {
    labs::source_regions(&lab.lab_dir(root))
        .map(|files| {
            files
                .iter()
                .flat_map(|(_, r)| r)
                .filter(|r| crate::markers::is_untouched(r))
                .count()
        })
        .unwrap_or(0)
}
