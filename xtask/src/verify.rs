//! `cargo xtask verify`: the workbook's own gate.
//!
//! It proves that the workbook is consistent and honest:
//!
//! 1. `labs/` is exactly what `sync` makes from `solutions/`;
//! 2. formatting, and clippy with `-D warnings` on everything but starters;
//! 3. the tooling's unit tests pass, and the probe is a static binary;
//! 4. every check of every lab passes on the reference solution — and, for
//!    a lab whose `[package.metadata.dockyard]` says `vm = true`, also in a
//!    pure cgroup-v2 VM (see `vm`), whatever this host's cgroup layout;
//! 5. every check of every lab *fails* on its starter — built with the
//!    earlier labs as reference code, so a check cannot fail merely
//!    because an earlier lab is still `todo!()`;
//! 6. every task has a check and every check names an existing task;
//! 7. one task at a time: with only task K's regions as `todo!()` (the
//!    reference everywhere else), every check of K fails and every check of
//!    an earlier task passes — so each task's checks test that task, and a
//!    learner who has done tasks 1..K-1 sees them pass;
//! 8. the book builds, with no broken include or link, and so does each
//!    translation (`book/po/LANG.po`), whose catalog must parse and keep
//!    code spans and heading ids; chapters whose translation is behind the
//!    English are listed as STALE, which is not a failure.
//!
//! Every step runs even when an earlier one failed; the summary lists all.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::labs::{self, Lab, Task};
use crate::testrun::{self, Build, CheckResult};
use crate::{assemble, check, markers};

/// The packages of the tooling, all in the root workspace.
const TOOLING: [&str; 5] = [
    "xtask",
    "dockyard-kit",
    "dockyard-probe",
    "dockyard-shared",
    "xtask-book",
];

struct Tally {
    passed: usize,
    failed: Vec<String>,
}

impl Tally {
    fn step(&mut self, name: &str, result: Result<()>) {
        match result {
            Ok(()) => {
                self.passed += 1;
                println!("  ✓ {name}");
            }
            Err(err) => {
                println!("  ✗ {name}\n{}", indent(&format!("{err:#}")));
                self.failed.push(name.to_owned());
            }
        }
    }
}

pub fn run(root: &Path, only: &[String]) -> Result<bool> {
    let started = Instant::now();
    let mut tally = Tally {
        passed: 0,
        failed: Vec::new(),
    };
    let solutions = root.join("solutions");

    println!("verify: consistency");
    tally.step(
        "labs/ is in sync with solutions/",
        crate::sync::run(root, true, false),
    );
    tally.step(
        "cargo fmt (workspace)",
        cargo(root, &["fmt", "--all", "--check"]),
    );
    tally.step(
        "cargo fmt (solutions)",
        cargo(&solutions, &["fmt", "--all", "--check"]),
    );
    let mut clippy = vec!["clippy", "--quiet", "--all-targets"];
    for p in TOOLING {
        clippy.extend(["--package", p]);
    }
    clippy.extend(["--", "-D", "warnings"]);
    tally.step("cargo clippy -D warnings (tooling)", cargo(root, &clippy));
    tally.step(
        "cargo clippy -D warnings (solutions)",
        cargo(
            &solutions,
            &[
                "clippy",
                "--quiet",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
    );
    let mut unit = vec!["test", "--quiet"];
    for p in TOOLING {
        unit.extend(["--package", p]);
    }
    tally.step("unit tests of the tooling", cargo(root, &unit));
    tally.step(
        "every starter compiles in labs/",
        cargo(root, &["build", "--quiet", "--workspace", "--tests"]),
    );

    let probe = crate::probe::build(root)?;
    tally.step("the probe is a static binary", {
        let bytes = fs::read(&probe)?;
        if kit::elf::is_static(&bytes) {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "{} asks for a dynamic loader",
                probe.display()
            ))
        }
    });

    let chosen = if only.is_empty() {
        labs::all(root)?
    } else {
        only.iter()
            .map(|wanted| labs::find(root, wanted))
            .collect::<Result<Vec<_>>>()?
    };
    for lab in chosen {
        println!("verify: lab {} ({})", lab.num, lab.package);
        tally.step(
            &format!("lab {}: every task has checks, every check a task", lab.num),
            tasks_and_checks(root, &lab),
        );
        tally.step(
            &format!("lab {}: every check passes on the reference", lab.num),
            reference_passes(root, &lab, &probe),
        );
        if lab.vm {
            let started = Instant::now();
            tally.step(
                &format!(
                    "lab {}: every check passes on the reference in a cgroup-v2 VM",
                    lab.num
                ),
                crate::vm::reference_passes(root, &lab, &probe),
            );
            println!(
                "    (lab {}, in the VM: {:.0?})",
                lab.num,
                started.elapsed()
            );
        }
        // One workspace per lab for the starter and then each task in
        // turn: only lab NN's files change between builds, so cargo
        // rebuilds only lab NN.
        let ws = match assemble::workspace(root, &lab, "verify", &lab.lab_dir(root)) {
            Ok(ws) => ws,
            Err(err) => {
                tally.step(
                    &format!("lab {}: assemble its workspace", lab.num),
                    Err(err),
                );
                continue;
            }
        };
        tally.step(
            &format!("lab {}: every check fails on the starter", lab.num),
            starter_fails(&ws, root, &lab, &probe),
        );
        let started = Instant::now();
        tally.step(
            &format!(
                "lab {}: with one task missing, its checks fail and earlier tasks' pass",
                lab.num
            ),
            one_task_missing(&ws, root, &lab, &probe),
        );
        println!(
            "    (lab {}, one task missing: {:.0?})",
            lab.num,
            started.elapsed()
        );
    }

    println!("verify: book");
    tally.step(
        "the book builds, in English and each translation, with no broken include, link or catalog",
        book(root),
    );

    println!("\nverify took {:.0?}", started.elapsed());
    if !tally.failed.is_empty() {
        println!("failed steps:\n  - {}", tally.failed.join("\n  - "));
    }
    // The closing line CI reads.
    println!(
        "verify: {} passed, {} failed",
        tally.passed,
        tally.failed.len()
    );
    Ok(tally.failed.is_empty())
}

/// The book's `--check`. A translation behind the English is no failure
/// (the English moves first): its chapters are listed, marked STALE.
fn book(root: &Path) -> Result<()> {
    let out = Command::new(testrun::cargo())
        .current_dir(root)
        .args(["run", "--quiet", "--package", "xtask-book", "--", "--check"])
        .output()
        .context("running cargo")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines().filter(|l| l.contains("STALE")) {
        println!("    {line}");
    }
    if out.status.success() {
        return Ok(());
    }
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    bail!("the book's --check failed:\n{}", testrun::tail(&text, 40))
}

/// Run cargo in `dir`; fail with its output's tail.
fn cargo(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new(testrun::cargo())
        .current_dir(dir)
        .args(args)
        .output()
        .context("running cargo")?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    bail!(
        "`cargo {}` failed:\n{}",
        args.join(" "),
        testrun::tail(&text, 40)
    )
}

/// Each task of the lab has at least one check named after it, and each
/// check names a task that exists.
fn tasks_and_checks(root: &Path, lab: &Lab) -> Result<()> {
    let tasks = lab.tasks(root)?;
    let names = check_names(&lab.solution_dir(root))?;
    let mut problems = Vec::new();
    for name in &names {
        match testrun::task_of(name) {
            Some(id) if tasks.iter().any(|t| t.id == id) => {}
            Some(id) => problems.push(format!(
                "check {name} names task {id}, which has no TASK marker"
            )),
            None => problems.push(format!("check {name} is not named tNN_K_…")),
        }
    }
    for task in &tasks {
        if !names
            .iter()
            .any(|n| testrun::task_of(n).as_deref() == Some(&task.id))
        {
            problems.push(format!("task {} has no check", task.id));
        }
        if !task.id.starts_with(&lab.num) {
            problems.push(format!("task {} is in lab {}", task.id, lab.num));
        }
    }
    if tasks.is_empty() {
        problems.push("the lab has no tasks".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!("{}", problems.join("\n"))
    }
}

/// The `#[test]` function names in a crate's `tests/`.
pub(crate) fn check_names(crate_dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for file in labs::rust_files(&crate_dir.join("tests"))? {
        let text = fs::read_to_string(&file)?;
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim() == "#[test]" {
                let next = lines.by_ref().find(|l| !l.trim_start().starts_with("#["));
                if let Some(name) = next
                    .and_then(|l| l.trim().strip_prefix("fn "))
                    .and_then(|r| r.split('(').next())
                {
                    names.push(name.to_owned());
                }
            }
        }
    }
    Ok(names)
}

fn reference_passes(root: &Path, lab: &Lab, probe: &Path) -> Result<()> {
    let exes = match testrun::build(&root.join("solutions"), &lab.package)? {
        Build::Ok(exes) => exes,
        Build::Failed(err) => bail!("the reference does not compile:\n{}", err.rendered),
    };
    let mut opts = check::options(root, lab, probe);
    opts.cwd = lab.solution_dir(root);
    let results = testrun::run(&exes, &opts)?;
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{} failed:\n{}", r.name, indent(&r.output)))
        .collect();
    if results.is_empty() {
        bail!("no checks ran");
    }
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("{}", failed.join("\n"))
    }
}

/// Lab NN's starter beside the *reference* code of labs < NN, in `ws` (a
/// copy of the solutions workspace under `target/verify/NN`): every check
/// must fail.
fn starter_fails(ws: &Path, root: &Path, lab: &Lab, probe: &Path) -> Result<()> {
    let results = build_and_run(ws, root, lab, probe, "the starter")?;
    let passing: Vec<&str> = results
        .iter()
        .filter(|r| r.passed)
        .map(|r| r.name.as_str())
        .collect();
    if passing.is_empty() {
        Ok(())
    } else {
        bail!(
            "these checks pass on the starter, so they assert nothing about the task:\n{}",
            passing.join("\n")
        )
    }
}

/// Build lab NN's checks in `ws` and run them.
fn build_and_run(
    ws: &Path,
    root: &Path,
    lab: &Lab,
    probe: &Path,
    what: &str,
) -> Result<Vec<CheckResult>> {
    let exes = match testrun::build(ws, &lab.package)? {
        Build::Ok(exes) => exes,
        Build::Failed(err) => bail!("{what} does not compile:\n{}", err.rendered),
    };
    let mut opts = check::options(root, lab, probe);
    opts.cwd = assemble::lab_dir(ws, lab, "verify");
    let results = testrun::run(&exes, &opts)?;
    if results.is_empty() {
        bail!("no checks ran");
    }
    Ok(results)
}

/// For each task K of the lab, in `ws`: lab NN's reference with only K's
/// regions as `todo!()`. Every check of K must fail (or it does not test
/// K), and every check of an earlier task must pass (or it depends on K,
/// and a learner who has done the earlier tasks sees them fail). Checks of
/// later tasks may do anything.
fn one_task_missing(ws: &Path, root: &Path, lab: &Lab, probe: &Path) -> Result<()> {
    let tasks = lab.tasks(root)?;
    let dir = assemble::lab_dir(ws, lab, "verify");
    let mut problems = Vec::new();
    for task in &tasks {
        // Only files that change are written, so cargo's fingerprints see
        // only them.
        for (rel, bytes) in all_but(root, lab, &task.id)? {
            let path = dir.join(&rel);
            if fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
            }
        }
        let what = format!("the reference without task {}", task.id);
        match build_and_run(ws, root, lab, probe, &what) {
            Ok(results) => problems.extend(judge(task, &results)),
            Err(err) => problems.push(format!("task {} missing: {err:#}", task.id)),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!("{}", problems.join("\n"))
    }
}

/// What is wrong with the results of a run in which only `missing` is
/// `todo!()`: one line per check that breaks the rule.
fn judge(missing: &Task, results: &[CheckResult]) -> Vec<String> {
    let order = labs::task_order(&missing.id);
    let mut problems = Vec::new();
    for r in results {
        let Some(id) = testrun::task_of(&r.name) else {
            continue; // `tasks_and_checks` reports it
        };
        if id == missing.id && r.passed {
            problems.push(format!(
                "task {} missing: {} passed — it does not test task {}",
                missing.id, r.name, missing.id
            ));
        } else if labs::task_order(&id) < order && !r.passed {
            problems.push(format!(
                "task {} missing: {} failed (task {id} is done, so it must pass): {}",
                missing.id,
                r.name,
                gist(&r.output)
            ));
        }
    }
    problems
}

/// The message of a failed check in one line: the line after libtest's
/// "panicked at", or its first line. When the whole test binary died (a
/// panic that cannot unwind aborts it), the last panic's message: other
/// checks then fail with it, as they would for a learner.
fn gist(output: &str) -> String {
    const ENDED: &str = "the test binary ended before this check finished";
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let after_panic = |lines: &[&str]| {
        lines
            .iter()
            .rposition(|l| l.contains("panicked at"))
            .and_then(|i| lines.get(i + 1))
            .map(|l| l.to_string())
    };
    match lines.first() {
        None => "(no output)".into(),
        Some(first) if first.starts_with(ENDED) => match after_panic(&lines) {
            Some(panic) => format!("{ENDED}; the binary's last panic: {panic}"),
            None => format!("{ENDED}: {}", lines.last().unwrap_or(first)),
        },
        Some(first) if first.starts_with("thread '") && first.contains("panicked at") => {
            lines.get(1).unwrap_or(first).to_string()
        }
        Some(first) => first.to_string(),
    }
}

/// Lab `lab`'s sources (`src/**.rs`, relative to the crate) as a learner
/// has them who did every task but `id`: the starter that `sync` makes,
/// with every other task's regions filled with the reference code by
/// `markers::fill` (as `skip` does).
fn all_but(root: &Path, lab: &Lab, id: &str) -> Result<Vec<(std::path::PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for (rel, starter) in crate::sync::expected(root, lab)? {
        if !(rel.starts_with("src") && rel.extension().is_some_and(|e| e == "rs")) {
            continue; // the same in the starter and the reference
        }
        let file = format!("solutions/{}/{}", lab.dir, rel.display());
        let starter = String::from_utf8(starter).with_context(|| format!("{file}: not UTF-8"))?;
        let solution = fs::read_to_string(lab.solution_dir(root).join(&rel))?;
        let todo = markers::regions(&starter, &file)?;
        let done = markers::regions(&solution, &file)?;
        // `fill` takes each region's body from a second source, in order:
        // give it one whose regions hold the `todo!` for task `id` and the
        // reference for the others.
        let mut donor = String::new();
        for (t, d) in todo.iter().zip(&done) {
            let body = if t.id == id { &t.body } else { &d.body };
            donor.push_str(&format!("// TASK {}: {}\n", t.id, t.text));
            for line in body {
                donor.push_str(line);
                donor.push('\n');
            }
            donor.push_str(&format!("// END TASK {}\n", t.id));
        }
        out.push((rel, markers::fill(&starter, &donor, &file)?.into_bytes()));
    }
    Ok(out)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, passed: bool, output: &str) -> CheckResult {
        CheckResult {
            name: name.into(),
            passed,
            output: output.into(),
        }
    }

    #[test]
    fn one_task_missing_is_judged_by_check_names() {
        let task = Task {
            id: "02.5".into(),
            text: String::new(),
        };
        let results = [
            result("t02_5_passes_anyway", true, ""),
            result("t02_5_fails", false, "x"),
            result(
                "t02_2_needs_five",
                false,
                "thread 't02_2_needs_five' panicked at tests/checks.rs:1:1:\nnot yet implemented: 02.5\nmore",
            ),
            result("t02_10_later", false, "x"),
            result("t02_1_fine", true, ""),
        ];
        assert_eq!(
            judge(&task, &results),
            [
                "task 02.5 missing: t02_5_passes_anyway passed — it does not test task 02.5",
                "task 02.5 missing: t02_2_needs_five failed (task 02.2 is done, so it must pass): \
                 not yet implemented: 02.5",
            ]
        );
    }

    #[test]
    fn a_dead_binary_is_told_by_its_last_panic() {
        let out = "the test binary ended before this check finished:\nrunning 3 tests\n\
            thread 'x' panicked at src/a.rs:1:1:\nnot yet implemented: 01.2\n\
            thread 'x' panicked at library/core/src/panicking.rs:233:5:\n\
            panic in a destructor during cleanup\nthread caused non-unwinding panic. aborting.\n";
        assert_eq!(
            gist(out),
            "the test binary ended before this check finished; \
             the binary's last panic: panic in a destructor during cleanup"
        );
        assert_eq!(gist("assertion failed\nleft: 1"), "assertion failed");
    }

    #[test]
    fn all_but_one_task_is_the_reference_elsewhere() {
        let root = labs::root();
        let Some(lab) = labs::all(&root).unwrap().into_iter().next() else {
            return;
        };
        let tasks = lab.tasks(&root).unwrap();
        let id = &tasks[0].id;
        let mut todos = 0;
        for (rel, bytes) in all_but(&root, &lab, id).unwrap() {
            let text = String::from_utf8(bytes).unwrap();
            todos += text.matches("todo!(\"").count();
            let regions = markers::regions(&text, "x").unwrap();
            for r in regions.iter().filter(|r| &r.id != id) {
                assert!(
                    !markers::is_untouched(r),
                    "{}: {} is todo!()",
                    rel.display(),
                    r.id
                );
            }
            for r in regions.iter().filter(|r| &r.id == id) {
                assert!(
                    markers::is_untouched(r),
                    "{}: {} is not todo!()",
                    rel.display(),
                    r.id
                );
            }
        }
        assert!(todos > 0, "task {id} has a todo!()");
    }
}
