//! `cargo xtask mutants NN`: the wrong-but-plausible code lab NN's checks
//! let through.
//!
//! `verify` proves that each task's checks fail on `todo!()`; a learner's
//! wrong code is subtler. [cargo-mutants](https://mutants.rs) makes such
//! code mechanically — an operator flipped, a body replaced by a default
//! value, a `!` deleted — builds each variant and runs the tests on it: a
//! variant the tests pass is *missed*. Here the variants are made only in
//! the code of lab NN's task regions (the code a learner writes) and the
//! tests are lab NN's checks.
//!
//! It runs on a copy: the reference of labs ≤ NN assembled in
//! `target/mutants/NN` (see `assemble`), which cargo-mutants mutates in
//! place — `solutions/` and `labs/` are never touched, and the builds reuse
//! the shared target dir. A developer's tool: slow (one build and one run
//! of the checks per mutant), not part of `verify` or CI.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::labs::{self, Lab};
use crate::markers::Region;
use crate::{assemble, check, testrun};

const KIND: &str = "mutants";

pub fn run(root: &Path, num: &str, extra: &[String]) -> Result<bool> {
    let lab = labs::find(root, num)?;
    installed()?;
    if lab.needs_root(root) && !check::is_root() {
        bail!(
            "lab {}'s checks need root, and cargo-mutants runs them with plain `cargo test`: \
             run this as root",
            lab.num
        );
    }
    let started = Instant::now();
    let probe = crate::probe::build(root)?;
    let ws = assemble::workspace(root, &lab, KIND, &lab.solution_dir(root))?;
    let crate_dir = assemble::lab_dir(&ws, &lab, KIND);
    let prefix = crate_dir.strip_prefix(&ws)?.to_path_buf();

    // Every mutant of the package, then those that touch a task region.
    let listed = mutants_cmd(&ws, &lab, &probe)
        .args(["--list", "--json"])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo mutants --list")?;
    if !listed.status.success() {
        bail!("`cargo mutants --list` failed");
    }
    let all: Vec<Value> =
        serde_json::from_slice(&listed.stdout).context("reading cargo mutants --list --json")?;
    let regions = regions_by_file(&crate_dir, &prefix)?;
    let chosen: Vec<&Value> = all.iter().filter(|m| in_a_task(m, &regions)).collect();
    println!(
        "lab {} ({}): {} mutants in the task regions (of {} in the crate)",
        lab.num,
        lab.package,
        chosen.len(),
        all.len()
    );
    if chosen.is_empty() {
        bail!("no mutant touches a task region");
    }

    // Select them by name, exactly, through a config file (the list can be
    // long for a command line).
    let names: Vec<String> = chosen
        .iter()
        .filter_map(|m| m["name"].as_str())
        .map(|n| format!("^{}$", regex_escape(n)))
        .collect();
    // The files too: cargo-mutants 27 lets some mutants (a deleted struct
    // field) through `examine_re`.
    let files: Vec<&str> = regions.iter().map(|(f, _)| f.as_str()).collect();
    let config = ws.join("mutants.toml");
    fs::write(
        &config,
        format!(
            "examine_globs = {}\nexamine_re = {}\n",
            serde_json::to_string(&files).expect("strings serialize"),
            serde_json::to_string(&names).expect("strings serialize")
        ),
    )?;
    let out_dir = ws.clone();
    let status = mutants_cmd(&ws, &lab, &probe)
        .arg("--config")
        .arg(&config)
        .arg("--output")
        .arg(&out_dir)
        .arg("--in-place")
        // A check that hits its own deadline of seconds fails in about 10 s;
        // several such checks in one binary add up. Give the binary long
        // enough that a deadline, not cargo-mutants' timer, decides — a
        // TIMEOUT then means a check without a deadline.
        .args(if extra.iter().any(|a| a.starts_with("--timeout")) {
            &[][..]
        } else {
            &["--timeout", "120"][..]
        })
        .args(extra)
        .status()
        .context("running cargo mutants")?;
    // cargo-mutants exits non-zero when it missed mutants: the summary
    // below is the answer either way, unless it wrote none.
    let outcomes = out_dir.join("mutants.out/outcomes.json");
    let text = fs::read_to_string(&outcomes)
        .with_context(|| format!("cargo mutants ({status}) wrote no {}", outcomes.display()))?;
    let outcomes: Value = serde_json::from_str(&text)?;
    let baseline = outcomes["outcomes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["scenario"] == "Baseline");
    if let Some(b) = baseline.filter(|b| b["summary"] != "Success") {
        bail!(
            "the checks do not pass on the unmutated reference ({}): see {}",
            b["summary"].as_str().unwrap_or("?"),
            out_dir
                .join("mutants.out")
                .join(b["log_path"].as_str().unwrap_or("log"))
                .display()
        );
    }
    let chosen: BTreeSet<&str> = chosen.iter().filter_map(|m| m["name"].as_str()).collect();
    let summary = Summary::read(&outcomes, &chosen, &lab, &prefix);
    summary.print(&lab, started.elapsed());
    println!(
        "(each mutant's diff and test output: {})",
        out_dir.join("mutants.out/log").display()
    );
    Ok(summary.missed.is_empty())
}

/// Fail with how to install cargo-mutants when it is not there.
fn installed() -> Result<()> {
    let ok = Command::new(testrun::cargo())
        .args(["mutants", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        bail!(
            "cargo-mutants is not installed. Install it with:\n\n    cargo install --locked cargo-mutants\n"
        );
    }
    Ok(())
}

/// `cargo mutants` on lab NN's package in `ws`, with the environment the
/// checks need (as `check` gives them).
///
/// A mutant is wrong code run as root: one that drops `CLONE_NEWUTS` sets
/// the *host's* hostname, one that drops `CLONE_NEWNS` mounts on the
/// host, and a test binary that cargo-mutants kills on a timeout leaves
/// its containers behind. So the whole run happens in namespaces of its
/// own (`unshare`): a private mount table and hostname, its own SysV IPC,
/// and a PID namespace whose processes all die with it (`--kill-child`).
fn mutants_cmd(ws: &Path, lab: &Lab, probe: &Path) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "--uts",
        "--ipc",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
    ]);
    cmd.arg(testrun::cargo())
        .arg("mutants")
        .arg("--dir")
        .arg(ws)
        .args(["--package", &lab.package, "--colors", "never"]);
    cmd.env(kit::probe::PROBE_ENV, probe)
        .env("INSTA_UPDATE", "no")
        .env("RUST_BACKTRACE", "0");
    cmd
}

/// The task regions of the crate's sources, keyed by their path relative
/// to the workspace (as cargo-mutants names files).
fn regions_by_file(crate_dir: &Path, prefix: &Path) -> Result<Vec<(String, Vec<Region>)>> {
    labs::source_regions(crate_dir)?
        .into_iter()
        .map(|(file, regions)| {
            let rel = prefix.join(file.strip_prefix(crate_dir)?);
            Ok((rel.display().to_string(), regions))
        })
        .collect()
}

/// Whether a listed mutant changes code inside a task region (its span
/// meets the lines between a region's markers). A whole-body replacement
/// of a function whose body is a task counts: it is the first wrong code
/// a learner might write.
fn in_a_task(mutant: &Value, regions: &[(String, Vec<Region>)]) -> bool {
    let file = mutant["file"].as_str().unwrap_or("");
    let span = &mutant["span"];
    let (Some(start), Some(end)) = (span["start"]["line"].as_u64(), span["end"]["line"].as_u64())
    else {
        return false;
    };
    let (start, end) = (start as usize, end as usize);
    regions
        .iter()
        .filter(|(f, _)| f == file)
        .flat_map(|(_, rs)| rs)
        .any(|r| start < r.end && end > r.begin)
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What cargo-mutants found, from its `outcomes.json`.
#[derive(Debug, Default)]
struct Summary {
    caught: usize,
    missed: Vec<String>,
    timeouts: Vec<String>,
    unviable: usize,
}

impl Summary {
    /// Only the `chosen` mutants count: those in a task region.
    fn read(outcomes: &Value, chosen: &BTreeSet<&str>, lab: &Lab, prefix: &Path) -> Summary {
        let mut s = Summary::default();
        let shown = |name: &str| {
            // `mutants-NN/NN-x/src/a.rs:12:5: …` → `solutions/NN-x/src/a.rs:12:5: …`
            name.strip_prefix(&format!("{}/", prefix.display()))
                .map(|rest| format!("solutions/{}/{rest}", lab.dir))
                .unwrap_or_else(|| name.to_owned())
        };
        for o in outcomes["outcomes"].as_array().into_iter().flatten() {
            let Some(name) = o["scenario"]["Mutant"]["name"].as_str() else {
                continue; // the baseline
            };
            if !chosen.contains(name) {
                continue;
            }
            match o["summary"].as_str().unwrap_or("") {
                "CaughtMutant" => s.caught += 1,
                "MissedMutant" => s.missed.push(shown(name)),
                "Timeout" => s.timeouts.push(shown(name)),
                "Unviable" => s.unviable += 1,
                other => s.missed.push(format!("{} ({other})", shown(name))),
            }
        }
        s
    }

    fn viable(&self) -> usize {
        self.caught + self.missed.len() + self.timeouts.len()
    }

    fn print(&self, lab: &Lab, took: std::time::Duration) {
        println!("\nlab {}: mutants in the task regions", lab.num);
        for m in &self.missed {
            println!("  missed   {m}");
        }
        for m in &self.timeouts {
            println!("  timeout  {m}");
        }
        let viable = self.viable();
        let pct = if viable == 0 {
            0.0
        } else {
            100.0 * self.missed.len() as f64 / viable as f64
        };
        println!(
            "\nviable {viable}: caught {}, missed {}, timeouts {}; unviable {}; missed {pct:.0}% (took {:.0?})",
            self.caught,
            self.missed.len(),
            self.timeouts.len(),
            self.unviable,
            took
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutant_counts_when_it_meets_a_region() {
        let region = Region {
            id: "01.2".into(),
            text: String::new(),
            begin: 10,
            end: 14,
            body: Vec::new(),
        };
        let regions = vec![("m/01-x/src/a.rs".to_owned(), vec![region])];
        let mutant = |file: &str, start: u64, end: u64| serde_json::json!({"file": file, "span": {"start": {"line": start}, "end": {"line": end}}});
        assert!(in_a_task(&mutant("m/01-x/src/a.rs", 11, 11), &regions));
        assert!(
            in_a_task(&mutant("m/01-x/src/a.rs", 9, 15), &regions),
            "a whole body"
        );
        assert!(!in_a_task(&mutant("m/01-x/src/a.rs", 14, 20), &regions));
        assert!(!in_a_task(&mutant("m/01-x/src/b.rs", 11, 11), &regions));
    }

    #[test]
    fn names_are_matched_literally() {
        assert_eq!(
            regex_escape("a.rs:1: replace + with -"),
            "a\\.rs:1: replace \\+ with \\-"
        );
    }
}
