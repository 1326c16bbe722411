//! `cargo xtask bench …`: measurements with targets from the issues.
//!
//! `bench run`: the reference `dockyard run --rootfs R -- /probe true` beside
//! `unshare --pid --mount --uts --ipc --net --fork` running the same
//! program, interleaved in one run; prints the ratio of the medians
//! (target: ≤ 2× the unshare floor for lab 03's full setup).
//!
//! `bench check`: how long a learner waits for `check`.
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

/// `bench run`: dockyard's full setup against the bare namespaces of `unshare`.
pub fn run_times(root: &Path, runs: usize) -> Result<()> {
    let lab = crate::labs::find(root, "03")?;
    let probe = crate::probe::build(root)?;
    let status = Command::new(crate::testrun::cargo())
        .current_dir(root.join("solutions"))
        .args([
            "build",
            "--quiet",
            "--release",
            "--package",
            &lab.package,
            "--bins",
        ])
        .status()?;
    if !status.success() {
        bail!("the reference of lab 03 does not build");
    }
    let target = crate::target::dir(root);
    let dockyard = target.join("release/dockyard-03");
    let rootfs = target.join("bench/rootfs");
    if rootfs.exists() {
        std::fs::remove_dir_all(&rootfs)?;
    }
    kit::rootfs::Rootfs::create(&rootfs, &probe)?;
    let sudo = !crate::check::is_root();
    let command = |program: &Path, args: &[&str]| {
        let mut cmd = if sudo {
            Command::new("sudo")
        } else {
            Command::new(program)
        };
        if sudo {
            cmd.arg(program);
        }
        cmd.args(args).stdout(Stdio::null());
        cmd
    };
    let r = rootfs.to_str().context("a UTF-8 path")?;
    let inner_probe = rootfs.join("probe");
    let inner = inner_probe.to_str().context("a UTF-8 path")?;
    let mut ours = command(&dockyard, &["run", "--rootfs", r, "--", "/probe", "true"]);
    let mut floor = command(
        Path::new("unshare"),
        &[
            "--pid", "--mount", "--uts", "--ipc", "--net", "--fork", inner, "true",
        ],
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    // Interleaved, after one warm-up of each, so both see the same machine.
    for i in 0..=runs {
        let (t1, t2) = (time(&mut ours)?, time(&mut floor)?);
        if i > 0 {
            a.push(t1);
            b.push(t2);
        }
    }
    let (ma, mb) = (median(&mut a), median(&mut b));
    println!("runs: {runs} each, interleaved");
    println!(
        "dockyard run --rootfs R -- /probe true           median {:>7.2} ms",
        ma * 1e3
    );
    println!(
        "unshare --pid --mount --uts --ipc --net --fork …  median {:>7.2} ms",
        mb * 1e3
    );
    println!("ratio: {:.2}×   (target ≤ 2×)", ma / mb);
    Ok(())
}

fn time(cmd: &mut Command) -> Result<f64> {
    let start = Instant::now();
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    let took = start.elapsed().as_secs_f64();
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(took)
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
