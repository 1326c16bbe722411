//! `cargo xtask check [NN]`: run a lab's checks and say what to do next.
//!
//! Builds as the invoking user; runs the checks with `sudo` only when the
//! lab needs root and we are not root. Prints a table of the lab's tasks,
//! a score, the output of the failing checks of the next task (including
//! snapshot diffs), and where that task's `todo!` is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::labs::{self, Lab, Task};
use crate::markers;
use crate::progress::{self, LabProgress};
use crate::testrun::{self, Build, CheckResult, CompileError, RunOptions};

/// How much of a failing check's output to show.
const SHOWN_LINES: usize = 60;

/// Run the checks of lab `num` (or of the lab in progress) in `labs/`.
pub fn run(root: &Path, num: Option<&str>, all: bool) -> Result<bool> {
    let lab = match num {
        Some(n) => labs::find(root, n)?,
        None => progress::current_lab(root)?,
    };
    let tasks = lab.tasks(root)?;
    let skipped = crate::skip::is_skipped(root, &lab);
    let whose = if skipped {
        "the REFERENCE code"
    } else {
        "your code"
    };
    println!(
        "Lab {} — {}   (labs/{}, {whose})\n",
        lab.num, lab.package, lab.dir
    );
    for earlier in labs::all(root)?.iter().filter(|l| l.num < lab.num) {
        let left = progress::untouched_regions(root, earlier);
        if left > 0 {
            // The student edition has no solutions/: skip takes the
            // reference crate an instructor hands out.
            let from = if root.join("solutions").is_dir() {
                ""
            } else {
                " --from DIR` (DIR: the reference crate your instructor hands out"
            };
            println!(
                "Note: lab {} builds on lab {} ({}), which still has {left} todo!()s: its checks may fail\n\
                 there first. Finish it, or go on with its reference code: `cargo xtask skip {}{from}`.\n",
                lab.num, earlier.num, earlier.package, earlier.num
            );
        }
    }
    if skipped {
        println!(
            "You skipped this lab: its task regions hold the reference code, and these checks run\n\
             that code, not yours (yours is saved in labs/{}/.skipped/src/; `cargo xtask unskip {}`\n\
             puts it back).\n",
            lab.dir, lab.num
        );
    }
    let probe = crate::probe::build(root)?;
    let results = match testrun::build(root, &lab.package)? {
        Build::Failed(err) => {
            show_compile_error(root, &err);
            progress::save(
                root,
                &lab,
                LabProgress {
                    tasks: tasks.len(),
                    ..LabProgress::default()
                },
            )?;
            return Ok(false);
        }
        Build::Ok(exes) => testrun::run(&exes, &options(root, &lab, &probe))?,
    };
    Ok(report(root, &lab, &tasks, &results, all))
}

/// How the checks of `lab` run on this host.
pub fn options(root: &Path, lab: &Lab, probe: &Path) -> RunOptions {
    RunOptions {
        cwd: lab.lab_dir(root),
        sudo: lab.needs_root(root) && !is_root(),
        env: vec![
            (kit::probe::PROBE_ENV.into(), probe.display().to_string()),
            // Never write .snap.new files into the learner's tree.
            ("INSTA_UPDATE".into(), "no".into()),
            ("RUST_BACKTRACE".into(), "0".into()),
        ],
        limit: Duration::from_secs(300),
    }
}

pub use shared::privileges::is_root;

/// One task's line in the table.
pub struct Row {
    pub task: Task,
    pub passed: usize,
    pub total: usize,
}

impl Row {
    pub fn done(&self) -> bool {
        self.total > 0 && self.passed == self.total
    }
}

/// The checks of each task, counted.
pub fn rows(tasks: &[Task], results: &[CheckResult]) -> Vec<Row> {
    tasks
        .iter()
        .map(|task| {
            let mine: Vec<&CheckResult> = results
                .iter()
                .filter(|r| testrun::task_of(&r.name).as_deref() == Some(&task.id))
                .collect();
            Row {
                task: task.clone(),
                passed: mine.iter().filter(|r| r.passed).count(),
                total: mine.len(),
            }
        })
        .collect()
}

/// Print the table of tasks and the score line.
pub fn print_table(rows: &[Row], results: &[CheckResult]) {
    println!("  task   checks  ");
    for row in rows {
        let mark = if row.done() { "✓" } else { "✗" };
        println!(
            "  {}   {:>2}/{:<2}  {mark}  {}",
            row.task.id, row.passed, row.total, row.task.text
        );
    }
    let passed = results.iter().filter(|r| r.passed).count();
    let done = rows.iter().filter(|r| r.done()).count();
    println!(
        "\nScore: {passed}/{} checks, {done}/{} tasks.",
        results.len(),
        rows.len()
    );
}

/// Print the table, the score and the next step; save progress. Returns
/// whether every check passed.
fn report(root: &Path, lab: &Lab, tasks: &[Task], results: &[CheckResult], all: bool) -> bool {
    let rows = rows(tasks, results);
    print_table(&rows, results);
    let passed = results.iter().filter(|r| r.passed).count();
    let total = results.len();
    let done = rows.iter().filter(|r| r.done()).count();
    // Progress is a convenience for `status`: failing to save it is no error.
    let _ = progress::save(
        root,
        lab,
        LabProgress {
            passed,
            total,
            tasks_done: done,
            tasks: tasks.len(),
            ..LabProgress::default()
        },
    );

    let skipped = crate::skip::is_skipped(root, lab);
    match rows.iter().find(|r| !r.done()).map(|r| &r.task) {
        None if total > 0 && skipped => println!(
            "\nEvery check passes — on the reference code: lab {} is skipped, not solved by you.\n\
             `cargo xtask unskip {}` puts your code back; or go on with the next lab.",
            lab.num, lab.num
        ),
        None if total > 0 => println!(
            "\nLab {} is complete. Next: read the next chapter (`cargo xtask book --serve`).",
            lab.num
        ),
        None => println!("\nThis lab has no checks yet."),
        Some(task) => {
            println!("\nNext: task {} — {}", task.id, task.text);
            for place in todo_places(root, lab, &task.id) {
                println!("  write it in {place}");
            }
            println!(
                "  read: book/src/lab{}.md, section {} (or `cargo xtask book --serve`)",
                lab.dir, task.id
            );
            let failing: Vec<&CheckResult> = results
                .iter()
                .filter(|r| {
                    !r.passed && (all || testrun::task_of(&r.name).as_deref() == Some(&task.id))
                })
                .collect();
            // One line per failing check first, so that what went wrong is
            // on screen even when the details scroll by.
            if !failing.is_empty() {
                println!("\nFailing:");
                for r in &failing {
                    println!("  ✗ {} — {}", r.name, testrun::headline(&r.output));
                }
            }
            for r in &failing {
                println!("\n── {} failed ──\n{}", r.name, shorten(&r.output));
            }
            let others = results.iter().filter(|r| !r.passed).count() - failing.len();
            if others > 0 {
                println!(
                    "\n({others} more failing checks of later tasks: `cargo xtask check {} --all` shows them.)",
                    lab.num
                );
            }
        }
    }
    total > 0 && passed == total
}

/// Where the regions of task `id` are in the learner's lab, as `file:line`.
fn todo_places(root: &Path, lab: &Lab, id: &str) -> Vec<String> {
    let Ok(files) = labs::source_regions(&lab.lab_dir(root)) else {
        return Vec::new();
    };
    files
        .iter()
        .flat_map(|(file, regions)| {
            regions
                .iter()
                .filter(|r| r.id == id)
                .map(move |r| format!("{}:{}", rel(root, file), r.begin + 1))
        })
        .collect()
}

fn rel(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

fn shorten(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    if lines.len() <= SHOWN_LINES {
        return output.to_owned();
    }
    format!(
        "{}\n… ({} more lines)",
        lines[..SHOWN_LINES].join("\n"),
        lines.len() - SHOWN_LINES
    )
}

/// The first compiler error, and the task whose region it is in.
fn show_compile_error(root: &Path, err: &CompileError) {
    println!("The lab does not compile. The first error:\n");
    println!("{}", err.rendered);
    match err.count {
        0 | 1 => {}
        2 => println!("\n(and 1 more error; fix this one first — the other often follows from it)"),
        n => println!(
            "\n(and {} more errors; fix this one first — the others often follow from it)",
            n - 1
        ),
    }
    let Some(file) = &err.file else { return };
    let path: PathBuf = if file.is_absolute() {
        file.clone()
    } else {
        root.join(file)
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let regions = markers::regions(&text, &path.display().to_string()).unwrap_or_default();
    match markers::region_at(&regions, err.line) {
        Some(r) => println!(
            "\nThis is in your code for task {} — {} ({}:{}).",
            r.id,
            r.text,
            rel(root, &path),
            err.line
        ),
        None => println!(
            "\nThis is at {}:{}, outside any task region.",
            rel(root, &path),
            err.line
        ),
    }
}
