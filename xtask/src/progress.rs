//! Saved progress: what the last `check` of each lab found, and which lab
//! is the one in progress.
//!
//! Kept in `target/dockyard/progress.json` — build output, never committed,
//! gone with `cargo clean` (the next `check` writes it again).
//!
//! A saved result is only true of the code it was computed on. Each result
//! keeps a fingerprint of the lab's `src/`; when the code has changed since
//! (an edit, `skip`, `unskip`), the result is stale and `status` says so
//! instead of repeating it. `skip` and `unskip` also forget the result
//! outright. [`current_lab`] is the one place that decides which lab is in
//! progress, for `check` without a number and for `status` alike.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{Value, json};

use crate::labs::{self, Lab};

/// The last result of one lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LabProgress {
    pub passed: usize,
    pub total: usize,
    pub tasks_done: usize,
    pub tasks: usize,
    /// [`fingerprint`] of the lab's `src/` when it was checked.
    pub fingerprint: u64,
    /// The lab held the reference code (`skip`) when it was checked.
    pub reference: bool,
}

impl LabProgress {
    pub fn complete(&self) -> bool {
        self.total > 0 && self.passed == self.total
    }
}

/// Where a lab stands, as `status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotChecked,
    /// The code changed since the last check (an edit, `skip`, `unskip`).
    Changed,
    DoesNotCompile,
    /// Checked, some checks fail (or task regions still hold `todo!()`).
    Partial(LabProgress),
    Complete(LabProgress),
    /// `skip`: the lab holds the reference code.
    Skipped,
}

impl State {
    /// Whether the learner is done with the lab, for picking the next one:
    /// complete, or skipped on purpose.
    fn done(self) -> bool {
        matches!(self, State::Complete(_) | State::Skipped)
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
    parse(&text)
}

fn parse(text: &str) -> BTreeMap<String, LabProgress> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
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
                // A file from before fingerprints: 0 never matches, so the
                // result reads as stale rather than as true.
                fingerprint: v["fingerprint"].as_u64().unwrap_or(0),
                reference: v["reference"].as_bool().unwrap_or(false),
            };
            (lab, p)
        })
        .collect()
}

fn write(root: &Path, all: BTreeMap<String, LabProgress>) -> Result<()> {
    let value: serde_json::Map<String, Value> = all
        .into_iter()
        .map(|(k, p)| {
            let v = json!({"passed": p.passed, "total": p.total, "tasks_done": p.tasks_done,
                "tasks": p.tasks, "fingerprint": p.fingerprint, "reference": p.reference});
            (k, v)
        })
        .collect();
    fs::create_dir_all(path(root).parent().expect("has a parent"))?;
    fs::write(
        path(root),
        serde_json::to_string_pretty(&Value::Object(value))?,
    )?;
    Ok(())
}

/// Save the result of one lab, stamped with its code's fingerprint.
pub fn save(root: &Path, lab: &Lab, mut p: LabProgress) -> Result<()> {
    p.fingerprint = fingerprint(&lab.lab_dir(root));
    p.reference = crate::skip::is_skipped(root, lab);
    let mut all = load(root);
    all.insert(lab.num.clone(), p);
    write(root, all)
}

/// Drop the saved result of one lab (its code was just replaced).
pub fn forget(root: &Path, lab: &Lab) -> Result<()> {
    let mut all = load(root);
    if all.remove(&lab.num).is_some() {
        write(root, all)?;
    }
    Ok(())
}

/// A fingerprint of every file under the lab's `src/`: FNV-1a over paths
/// and contents, stable across runs and Rust versions.
pub fn fingerprint(lab_dir: &Path) -> u64 {
    let src = lab_dir.join("src");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for file in labs::files(&src).unwrap_or_default() {
        let rel = file.strip_prefix(&src).unwrap_or(&file);
        eat(rel.to_string_lossy().as_bytes());
        eat(&[0]);
        eat(&fs::read(&file).unwrap_or_default());
        eat(&[0]);
    }
    hash
}

/// Where lab `lab` stands: its saved result, if still true of its code.
pub fn state(root: &Path, lab: &Lab, saved: &BTreeMap<String, LabProgress>) -> State {
    if crate::skip::is_skipped(root, lab) {
        return State::Skipped;
    }
    let Some(&p) = saved.get(&lab.num) else {
        return State::NotChecked;
    };
    if p.reference || p.fingerprint != fingerprint(&lab.lab_dir(root)) {
        return State::Changed;
    }
    if p.total == 0 {
        State::DoesNotCompile
    } else if p.complete() && untouched_regions(root, lab) == 0 {
        State::Complete(p)
    } else {
        State::Partial(p)
    }
}

/// The lab in progress: the first one neither complete nor skipped (the
/// last lab when all are). `check` without a number and `status` both ask
/// this function, so they never disagree.
pub fn current_lab(root: &Path) -> Result<Lab> {
    let saved = load(root);
    let labs = labs::all(root)?;
    let first_open = labs.iter().find(|l| !state(root, l, &saved).done());
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
        let line = match state(root, &lab, &saved) {
            State::Complete(p) => format!(
                "{:>2}/{:<2}    {:>3}/{:<3} ✓ complete",
                p.tasks_done, p.tasks, p.passed, p.total
            ),
            State::Partial(p) => format!(
                "{:>2}/{:<2}    {:>3}/{:<3}  ",
                p.tasks_done, p.tasks, p.passed, p.total
            ),
            State::DoesNotCompile => format!(" 0/{tasks:<2}      does not compile (last check)"),
            State::Changed => format!(" -/{tasks:<2}      changed since the last check"),
            State::NotChecked => format!(" -/{tasks:<2}      not checked yet"),
            State::Skipped => format!(
                " -/{tasks:<2}      skipped: holds the reference code (`cargo xtask unskip {}`)",
                lab.num
            ),
        };
        let todo = if todo > 0 && !crate::skip::is_skipped(root, &lab) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A throw-away repository with one lab, `labs/01-process/src/lib.rs`.
    struct Repo(PathBuf);

    impl Repo {
        fn new(name: &str) -> Repo {
            let dir =
                std::env::temp_dir().join(format!("xtask-progress-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join("labs/01-process/src")).unwrap();
            let repo = Repo(dir);
            repo.write("fn f() {\n    // TASK 01.1: do\n    todo!(\"01.1: do\")\n    // END TASK 01.1\n}\n");
            repo
        }
        fn write(&self, code: &str) {
            fs::write(self.0.join("labs/01-process/src/lib.rs"), code).unwrap();
        }
        fn lab(&self) -> Lab {
            Lab {
                num: "01".into(),
                dir: "01-process".into(),
                package: "process".into(),
                root: false,
                needs: Vec::new(),
                vm: false,
            }
        }
    }

    impl Drop for Repo {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const SOLVED: &str = "fn f() {\n    // TASK 01.1: do\n    done()\n    // END TASK 01.1\n}\n";

    fn passed() -> LabProgress {
        LabProgress {
            passed: 3,
            total: 3,
            tasks_done: 1,
            tasks: 1,
            ..LabProgress::default()
        }
    }

    #[test]
    fn a_result_holds_only_for_the_code_it_was_computed_on() {
        let repo = Repo::new("stale");
        let (root, lab) = (&repo.0, repo.lab());
        repo.write(SOLVED);
        save(root, &lab, passed()).unwrap();
        assert!(matches!(state(root, &lab, &load(root)), State::Complete(_)));
        // Put the todo!() back (as `unskip` would): the result is stale.
        repo.write(
            "fn f() {\n    // TASK 01.1: do\n    todo!(\"01.1: do\")\n    // END TASK 01.1\n}\n",
        );
        assert_eq!(state(root, &lab, &load(root)), State::Changed);
        forget(root, &lab).unwrap();
        assert_eq!(state(root, &lab, &load(root)), State::NotChecked);
    }

    #[test]
    fn never_complete_while_todos_are_left() {
        let repo = Repo::new("todo");
        let (root, lab) = (&repo.0, repo.lab());
        // All checks passed, yet the region still holds its todo!().
        save(root, &lab, passed()).unwrap();
        assert!(matches!(state(root, &lab, &load(root)), State::Partial(_)));
    }

    #[test]
    fn a_result_computed_on_the_reference_is_not_the_learners() {
        let repo = Repo::new("reference");
        let (root, lab) = (&repo.0, repo.lab());
        repo.write(SOLVED);
        let mut p = passed();
        p.fingerprint = fingerprint(&lab.lab_dir(root));
        p.reference = true;
        let saved = BTreeMap::from([("01".to_owned(), p)]);
        assert_eq!(state(root, &lab, &saved), State::Changed);
    }

    #[test]
    fn old_files_without_fingerprints_read_as_stale() {
        let old = r#"{"01": {"passed": 3, "total": 3, "tasks_done": 1, "tasks": 1}}"#;
        let saved = parse(old);
        assert_eq!(saved["01"].fingerprint, 0);
        assert!(parse("not json").is_empty());
    }
}
