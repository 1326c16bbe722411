//! `cargo xtask bench check`: how long a learner waits for `check`.
//!
//! Targets (issue "Foundation"): `cargo xtask check 01` from a clean clone,
//! with the crates already downloaded, in ≤ 90 s on 2 cores; after a
//! one-line edit in ≤ 10 s. This clones the repository's HEAD into a temp
//! dir with a fresh target dir, and times exactly those two runs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub fn check_times(root: &Path, lab: &str) -> Result<()> {
    let tmp = std::env::temp_dir().join(format!("dockyard-bench-{}", std::process::id()));
    let clone = tmp.join("dockyard");
    let result = (|| {
        run(Command::new("git")
            .arg("clone")
            .arg("--quiet")
            .arg(root)
            .arg(&clone))?;
        // Offline: the crates are already downloaded, as the target says.
        let _ = run(Command::new(crate::testrun::cargo())
            .current_dir(&clone)
            .args(["fetch", "--quiet"]));
        let cold = timed_check(&clone, lab)?;
        let file = first_lab_source(&clone, lab)?;
        let mut text = std::fs::read_to_string(&file)?;
        text.push_str("\n// a one-line edit\n");
        std::fs::write(&file, text)?;
        let warm = timed_check(&clone, lab)?;
        println!(
            "cargo xtask check {lab}, clean clone (crates downloaded): {:>6.1} s   (target ≤ 90 s)",
            cold.as_secs_f64()
        );
        println!(
            "cargo xtask check {lab}, after a one-line edit:          {:>6.1} s   (target ≤ 10 s)",
            warm.as_secs_f64()
        );
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn timed_check(clone: &Path, lab: &str) -> Result<Duration> {
    let start = Instant::now();
    // The starter's checks fail; only the time matters here.
    let status = Command::new(crate::testrun::cargo())
        .current_dir(clone)
        .env("CARGO_TARGET_DIR", clone.join("target"))
        .args(["xtask", "check", lab])
        .stdout(Stdio::null())
        .status()?;
    let took = start.elapsed();
    if status.code().is_none() {
        bail!("cargo xtask check {lab} was killed");
    }
    Ok(took)
}

fn first_lab_source(clone: &Path, lab: &str) -> Result<std::path::PathBuf> {
    let found = crate::labs::find(clone, lab)?;
    crate::labs::rust_files(&found.lab_dir(clone).join("src"))?
        .into_iter()
        .find(|p| p.ends_with("lib.rs"))
        .context("the lab has no src/lib.rs")
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed");
    }
    Ok(())
}
