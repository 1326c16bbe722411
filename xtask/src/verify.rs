//! `cargo xtask verify`: the workbook's own gate.
//!
//! It proves that the workbook is consistent and honest:
//!
//! 1. `labs/` is exactly what `sync` makes from `solutions/`;
//! 2. formatting, and clippy with `-D warnings` on everything but starters;
//! 3. the tooling's unit tests pass, and the probe is a static binary;
//! 4. every check of every lab passes on the reference solution;
//! 5. every check of every lab *fails* on its starter — built with the
//!    earlier labs as reference code, so a check cannot fail merely
//!    because an earlier lab is still `todo!()`;
//! 6. every task has a check and every check names an existing task;
//! 7. the book builds, with no broken include or link.
//!
//! Every step runs even when an earlier one failed; the summary lists all.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::labs::{self, Lab};
use crate::testrun::{self, Build};
use crate::{assemble, check};

/// The packages of the tooling, all in the root workspace.
const TOOLING: [&str; 4] = ["xtask", "dockyard-kit", "dockyard-probe", "xtask-book"];

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

pub fn run(root: &Path) -> Result<bool> {
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

    for lab in labs::all(root)? {
        println!("verify: lab {} ({})", lab.num, lab.package);
        tally.step(
            &format!("lab {}: every task has checks, every check a task", lab.num),
            tasks_and_checks(root, &lab),
        );
        tally.step(
            &format!("lab {}: every check passes on the reference", lab.num),
            reference_passes(root, &lab, &probe),
        );
        tally.step(
            &format!("lab {}: every check fails on the starter", lab.num),
            starter_fails(root, &lab, &probe),
        );
    }

    println!("verify: book");
    tally.step(
        "the book builds with no broken include or link",
        cargo(
            root,
            &["run", "--quiet", "--package", "xtask-book", "--", "--check"],
        ),
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
fn check_names(crate_dir: &Path) -> Result<Vec<String>> {
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

/// Build lab NN's starter beside the *reference* code of labs < NN, in a
/// copy of the solutions workspace under `target/verify/NN`, and run its
/// checks: every one must fail.
fn starter_fails(root: &Path, lab: &Lab, probe: &Path) -> Result<()> {
    let ws = assemble::workspace(root, lab, "verify", &lab.lab_dir(root))?;
    let exes = match testrun::build(&ws, &lab.package)? {
        Build::Ok(exes) => exes,
        Build::Failed(err) => bail!("the starter does not compile:\n{}", err.rendered),
    };
    let mut opts = check::options(root, lab, probe);
    opts.cwd = assemble::lab_dir(&ws, lab, "verify");
    let results = testrun::run(&exes, &opts)?;
    if results.is_empty() {
        bail!("no checks ran");
    }
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

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
