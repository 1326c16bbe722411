//! `bench build`: lab 09's builder on a 5-step Containerfile (COPY, RUN,
//! ENV, WORKDIR, CMD on an image of lab 08's store), interleaved in one
//! run, as medians and ratios of medians:
//!
//! - a cached rebuild (`dockyard-09 build` with every step in its cache):
//!   target < 50 ms;
//! - a cold build (`--no-cache`, a fresh builder state) vs `docker build
//!   --no-cache` of the same context and file: target ≤ 0.5×; and the
//!   cached rebuilds side by side.
//!
//! Docker, when installed, is a dockerd of its own started the way `cargo
//! xtask interop docker` starts it ([`crate::interop::docker::Daemon`]: its
//! own network and mount namespaces, its files in a temporary directory,
//! no bridge, no firewall rule; stopped by its pid). Its base image is a
//! `docker import` of the kit's busybox rootfs, ours an import of the same
//! tar into lab 08's store: nothing comes from a registry. Docker's
//! builder is the classic one (`DOCKER_BUILDKIT=0`, docker.io 20.10's
//! default), with `--network none` (there is no bridge); the RUN
//! containers are runc's.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::bench::{build_release, host_lock, median, require_root, time};
use crate::interop::docker::{self, Daemon, Tools};

/// The base image, in both stores.
const BASE: &str = "dockyard-bench:busybox";

/// The Containerfile: FROM and 5 steps.
const FILE: &str = "FROM dockyard-bench:busybox\n\
                    COPY app/ /app/\n\
                    RUN echo built > /built\n\
                    ENV MODE=bench\n\
                    WORKDIR /app\n\
                    CMD [\"/probe\", \"report\"]\n";

/// `bench build [--runs N]`.
pub fn build_times(root: &Path, runs: usize) -> Result<()> {
    let probe = crate::probe::build(root)?;
    build_release(root, &["build", "images"], "labs 08 and 09")?;
    require_root("build", "mounts overlays and runs containers")?;
    let _host = host_lock()?;
    let before = kit::leaks::Snapshot::take();
    let target = crate::target::dir(root);
    let (build, images) = (
        target.join("release/dockyard-09"),
        target.join("release/dockyard-08"),
    );
    let dir = target.join("bench/build");
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    let rootfs = dir.join("rootfs");
    if !kit::rootfs::Rootfs::create(&rootfs, &probe)?.has_busybox() {
        bail!("no static busybox on this host (RUN needs /bin/sh): apt-get install busybox-static");
    }
    let tar = dir.join("rootfs.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()?;
    if !ok.success() {
        bail!("tar of the rootfs failed");
    }
    let state = dir.join("state");
    let ok = Command::new(&images)
        .arg("--state-dir")
        .arg(&state)
        .arg("import")
        .arg(&tar)
        .arg(BASE)
        .stdout(Stdio::null())
        .status()?;
    if !ok.success() {
        bail!("dockyard-08 import of the rootfs failed");
    }
    // The context: 200 small files and the Containerfile.
    let ctx = dir.join("context");
    for d in 0..10 {
        let sub = ctx.join(format!("app/d{d}"));
        fs::create_dir_all(&sub)?;
        for f in 0..20 {
            fs::write(
                sub.join(format!("f{f:02}")),
                format!("{d}-{f}\n").repeat(20),
            )?;
        }
    }
    fs::write(ctx.join("Containerfile"), FILE)?;

    let ours = |no_cache: bool, work: PathBuf, tag: &str| {
        let mut c = Command::new(&build);
        c.arg("build")
            .arg("--state-dir")
            .arg(&state)
            .arg("--state")
            .arg(work)
            .args(["-t", tag]);
        if no_cache {
            c.arg("--no-cache");
        }
        c.arg(&ctx);
        c
    };
    // Warm our cache once for the cached rebuilds.
    time(
        ours(false, dir.join("warm"), "bench:warm")
            .stderr(Stdio::null())
            .stdout(Stdio::null()),
    )
    .context("the first build")?;

    let daemon = match Tools::find() {
        None => {
            println!("docker: not installed, skipped. {}.", docker::INSTALL);
            None
        }
        Some(tools) => Some(start_docker(&tools, &dir, &tar)?),
    };
    let result = measure(runs, &dir, &ctx, &ours, daemon.as_ref().map(|d| &d.0));
    let mut problems = Vec::new();
    if let Some((daemon, made_etc, cgroups)) = daemon {
        problems.extend(daemon.stop());
        for made in docker::docker_cgroups().difference(&cgroups) {
            docker::remove_cgroup_tree(made);
        }
        if made_etc {
            let _ = fs::remove_dir("/etc/docker");
        }
    }
    let _ = fs::remove_dir_all(&dir);
    if let Err(leaks) = before.settles() {
        for leak in leaks {
            problems.push(format!("left on the host: {leak}"));
        }
    }
    for problem in &problems {
        eprintln!("bench build: {problem}");
    }
    result?;
    if !problems.is_empty() {
        bail!("bench build: the host was not left as it was");
    }
    Ok(())
}

type Started = (Daemon, bool, std::collections::BTreeSet<PathBuf>);

/// A dockerd of its own (as `interop docker`), the rootfs imported.
fn start_docker(tools: &Tools, dir: &Path, tar: &Path) -> Result<Started> {
    let cgroups = docker::docker_cgroups();
    let made_etc = !Path::new("/etc/docker").exists();
    if made_etc {
        fs::create_dir("/etc/docker").context("create /etc/docker (removed at the end)")?;
    }
    let ddir = dir.join("docker");
    fs::create_dir_all(&ddir)?;
    // --add-runtime needs a program; the builds use dockerd's default, runc.
    let runc = docker::which("runc").context("runc is not installed (docker.io needs it)")?;
    let daemon = Daemon::start(tools, &ddir, &runc)?;
    let tar = tar.display().to_string();
    let ran = daemon.docker(&["import", &tar, BASE], "docker import of the rootfs")?;
    if ran.code != Some(0) {
        let problems = daemon.stop();
        bail!("docker import failed: {} {problems:?}", ran.stderr);
    }
    Ok((daemon, made_etc, cgroups))
}

fn measure(
    runs: usize,
    dir: &Path,
    ctx: &Path,
    ours: &dyn Fn(bool, PathBuf, &str) -> Command,
    daemon: Option<&Daemon>,
) -> Result<()> {
    let docker = |no_cache: bool, tag: &str| -> Option<Command> {
        let mut c = daemon?.client();
        c.env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "--network", "none", "-t", tag, "-f"])
            .arg(ctx.join("Containerfile"));
        if no_cache {
            c.arg("--no-cache");
        }
        c.arg(ctx);
        Some(c)
    };
    if let Some(mut warm) = docker(false, "bench:warm") {
        time(warm.stdout(Stdio::null())).context("docker's first build")?;
    }
    let names = [
        "dockyard-09 build, cold",
        "dockyard-09 build, cached",
        "docker build, cold",
        "docker build, cached",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for i in 0..=runs {
        let mut cmds = [
            Some(ours(true, dir.join(format!("cold-{i}")), "bench:cold")),
            Some(ours(false, dir.join("warm"), "bench:warm")),
            docker(true, "bench:cold"),
            docker(false, "bench:warm"),
        ];
        for (k, cmd) in cmds.iter_mut().enumerate() {
            let Some(cmd) = cmd else { continue };
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
            let t = time(cmd).with_context(|| names[k].to_string())?;
            if i > 0 {
                times[k].push(t);
            }
        }
        // A cold build's layers are not needed again.
        let _ = fs::remove_dir_all(dir.join(format!("cold-{i}")));
    }
    println!("runs: {runs} each, interleaved; a 5-step Containerfile FROM a busybox image");
    let m: Vec<Option<f64>> = times
        .iter_mut()
        .map(|t| (!t.is_empty()).then(|| median(t)))
        .collect();
    for (name, median) in names.iter().zip(&m) {
        if let Some(median) = median {
            println!("{name:<28} median {:>9.1} ms", median * 1e3);
        }
    }
    if let Some(cached) = m[1] {
        println!(
            "cached rebuild:             {:.1} ms   (target < 50 ms)",
            cached * 1e3
        );
    }
    if let (Some(a), Some(b)) = (m[0], m[2]) {
        println!(
            "cold / docker cold:         {:.2}×   (target ≤ 0.5×)",
            a / b
        );
    }
    if let (Some(a), Some(b)) = (m[1], m[3]) {
        println!("cached / docker cached:     {:.2}×", a / b);
    }
    Ok(())
}
