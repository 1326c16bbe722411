//! `cargo xtask grade NN [--json]`: a lab's score, on its own.
//!
//! Like `check`, but lab NN is built beside the *reference* code of the
//! earlier labs (see `assemble`), so a broken lab 01 does not cost points
//! in lab 02. With `--json`, one JSON object for graders' tools:
//! `{"lab", "passed", "total", "tasks": [{"id", "passed", "total"}],
//! "checks": [{"name", "passed"}], "compiles"}`.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::check::{self, rows};
use crate::testrun::{self, Build};
use crate::{assemble, labs};

pub fn run(root: &Path, num: &str, json_out: bool) -> Result<bool> {
    let lab = labs::find(root, num)?;
    let tasks = lab.tasks(root)?;
    let probe = crate::probe::build(root)?;
    let ws = assemble::workspace(root, &lab, "grade", &lab.lab_dir(root))?;
    let results = match testrun::build(&ws, &lab.package)? {
        Build::Failed(err) => {
            if json_out {
                println!(
                    "{}",
                    json!({"lab": lab.num, "compiles": false, "passed": 0, "total": 0, "error": err.rendered})
                );
            } else {
                println!(
                    "Lab {} does not compile:\n{}\n\nScore: 0",
                    lab.num, err.rendered
                );
            }
            return Ok(false);
        }
        Build::Ok(exes) => {
            let mut opts = check::options(root, &lab, &probe);
            opts.cwd = assemble::lab_dir(&ws, &lab, "grade");
            testrun::run(&exes, &opts)?
        }
    };
    let rows = rows(&tasks, &results);
    let passed = results.iter().filter(|r| r.passed).count();
    if json_out {
        let tasks: Vec<_> = rows
            .iter()
            .map(|r| json!({"id": r.task.id, "passed": r.passed, "total": r.total}))
            .collect();
        let checks: Vec<_> = results
            .iter()
            .map(|r| json!({"name": r.name, "passed": r.passed}))
            .collect();
        let out = json!({"lab": lab.num, "compiles": true, "passed": passed, "total": results.len(), "tasks": tasks, "checks": checks});
        println!("{out}");
    } else {
        println!(
            "Lab {} — {}, graded beside the reference of the earlier labs\n",
            lab.num, lab.package
        );
        check::print_table(&rows, &results);
    }
    Ok(passed == results.len() && !results.is_empty())
}
