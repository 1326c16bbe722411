//! `cargo xtask bench …`: measurements with targets from the issues.
//!
//! `bench run`: the reference `dockyard run --rootfs R -- /probe true` beside
//! `unshare --pid --mount --uts --ipc --net --fork` running the same
//! program, interleaved in one run; prints the ratio of the medians
//! (target: ≤ 2× the unshare floor for lab 03's full setup).
//!
//! `bench runtime`: lab 05's `dockyard-runtime run` of `/probe true` on
//! one bundle beside `runc run` and `crun run` (those installed) and the
//! `unshare` floor, interleaved; ratios of medians (targets: ≤ 0.7× crun,
//! ≤ 2× the floor). The runtime measured against the targets is the one
//! to install — the `dist` profile, linked statically, as runc and crun
//! ship theirs; the plain dynamically linked release build runs beside it.
//! Both run from copies written whole, as `install(1)` puts a binary in
//! place (`install` below says why that matters).
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
    build_release(root, &[&lab.package], "lab 03")?;
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

/// Build the reference `packages` in release mode (the benchmarks time
/// what a user would run, not a debug build); `what` names them in the error.
pub(crate) fn build_release(root: &Path, packages: &[&str], what: &str) -> Result<()> {
    let mut cmd = Command::new(crate::testrun::cargo());
    cmd.current_dir(root.join("solutions"))
        .args(["build", "--quiet", "--release"]);
    for package in packages {
        cmd.args(["--package", package]);
    }
    if !cmd.arg("--bins").status()?.success() {
        bail!("the reference of {what} does not build");
    }
    Ok(())
}

/// Lab 05's runtime as one installs it: the `dist` profile (LTO, one
/// codegen unit) and linked statically, as runc and crun ship theirs — no
/// dynamic loader to run at each of its two executions per start (the
/// CLI's, and the sealed re-execution). `-C target-feature=+crt-static` is
/// given to the binary's own compilation only (`cargo rustc`): in
/// `RUSTFLAGS` it would reach the proc-macro crates, which cannot be
/// static, unless `--target` moved every artifact elsewhere.
pub(crate) fn build_dist_runtime(root: &Path) -> Result<()> {
    let mut cmd = Command::new(crate::testrun::cargo());
    cmd.current_dir(root.join("solutions")).args([
        "rustc",
        "--quiet",
        "--profile",
        "dist",
        "--package",
        "runtime",
        "--bin",
        "dockyard-runtime",
        "--",
        "-C",
        "target-feature=+crt-static",
    ]);
    if !cmd.status()?.success() {
        bail!("the reference of lab 05 does not build statically (profile dist)");
    }
    Ok(())
}

/// Benchmarks that mount and run containers need root: say how to get it.
pub(crate) fn require_root(bench: &str, does: &str) -> Result<()> {
    if !crate::check::is_root() {
        bail!("bench {bench} {does}: run it as root (sudo -E cargo xtask bench {bench})");
    }
    Ok(())
}

/// Mounts and cgroups come and go while a benchmark runs: hold the checks'
/// host lock, so no check's leak guard on this host takes them for its own.
pub(crate) fn host_lock() -> Result<kit::hostlock::HostLock> {
    let lock = kit::hostlock::path();
    kit::hostlock::HostLock::acquire(&lock, || {
        eprintln!(
            "waiting for the checks running on this host (lock: {})",
            lock.display()
        )
    })
    .with_context(|| format!("taking {}", lock.display()))
}

pub(crate) fn time(cmd: &mut Command) -> Result<f64> {
    let start = Instant::now();
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    let took = start.elapsed().as_secs_f64();
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(took)
}

pub(crate) fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Makes the command of run `i` (a fresh container id each time).
type MakeCommand = Box<dyn Fn(usize) -> Command>;

/// `bench runtime`: lab 05's `dockyard-runtime run` of `/probe true` on one
/// bundle, beside `runc run` and `crun run` on the same bundle (those
/// installed) and the `unshare` floor, interleaved; ratios of medians.
///
/// Each start comes after `gap_ms` of quiet, as a single `docker run` on a
/// quiet host does: a write to `cgroup.procs` takes the kernel's
/// `cgroup_threadgroup_rwsem` for writing, which waits for an RCU grace
/// period — unless another writer was there a moment before (the lock
/// stays in its writers' mode for a grace period after one). Back-to-back
/// starts (`--gap-ms 0`) share that cost and hide it.
pub fn runtime_times(root: &Path, runs: usize, gap_ms: u64) -> Result<()> {
    let probe = crate::probe::build(root)?;
    build_release(root, &["runtime"], "lab 05")?;
    build_dist_runtime(root)?;
    require_root("runtime", "runs containers")?;
    let target = crate::target::dir(root);
    let dir = target.join("bench/runtime");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let ours = install(
        &target.join("dist/dockyard-runtime"),
        &dir.join("bin/dockyard-runtime"),
    )?;
    let dynamic = install(
        &target.join("release/dockyard-runtime"),
        &dir.join("bin/dockyard-runtime-dynamic"),
    )?;
    let bundle = dir.join("bundle");
    kit::rootfs::Rootfs::create(&bundle.join("rootfs"), &probe)?;
    run(Command::new(&ours).args(["spec", "--bundle"]).arg(&bundle))?;
    let config = bundle.join("config.json");
    let mut spec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&config)?)?;
    spec["process"]["args"] = serde_json::json!(["/probe", "true"]);
    spec["process"]["terminal"] = serde_json::json!(false);
    std::fs::write(&config, spec.to_string())?;
    let found = |name: &str| {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    let mut contenders: Vec<(String, MakeCommand)> = Vec::new();
    // Every runtime keeps its state on a tmpfs, as under /run on most hosts
    // (runc's and our default root): a state file renamed over another on
    // ext4 is flushed to disk first (auto_da_alloc), which measures the
    // disk, not the runtime.
    let shm = Path::new("/dev/shm");
    let state = if shm.is_dir() {
        shm.join(format!("dockyard-bench-{}", std::process::id()))
    } else {
        dir.join("state")
    };
    for (name, binary) in [
        ("dockyard-runtime run", ours),
        ("  (release, dynamic)", dynamic),
    ] {
        let (b, st) = (bundle.clone(), state.clone());
        contenders.push((
            name.into(),
            Box::new(move |i| {
                let mut c = Command::new(&binary);
                c.arg("--root")
                    .arg(st.join("dockyard"))
                    .args(["run", "--bundle"])
                    .arg(&b);
                c.arg(format!("bench-{i}"));
                c
            }),
        ));
    }
    for name in ["runc", "crun"] {
        let Some(path) = found(name) else {
            println!("{name}: not installed (apt-get install {name}), left out");
            continue;
        };
        let (b, st) = (bundle.clone(), state.join(name));
        // crun 1.8 refuses a hybrid cgroup layout: give it a mount namespace
        // where the cgroup2 mount at unified is gone.
        let hybrid = name == "crun" && Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists();
        contenders.push((
            format!("{name} run"),
            Box::new(move |i| {
                let mut c = if hybrid {
                    let mut c = Command::new("unshare");
                    c.args(["--mount", "--propagation", "private", "sh", "-c"]);
                    c.arg("umount /sys/fs/cgroup/unified && exec \"$0\" \"$@\"");
                    c.arg(&path);
                    c
                } else {
                    Command::new(&path)
                };
                c.arg("--root").arg(&st).args(["run", "--bundle"]).arg(&b);
                c.arg(format!("bench-{i}"));
                c
            }),
        ));
    }
    let inner = bundle.join("rootfs/probe");
    contenders.push((
        "unshare (floor)".into(),
        Box::new(move |_| {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--mount", "--uts", "--ipc", "--net", "--fork"]);
            c.arg(&inner).arg("true");
            c
        }),
    ));
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    let timed = (|| -> Result<()> {
        for i in 0..=runs {
            for (k, (_, make)) in contenders.iter().enumerate() {
                let mut cmd = make(i);
                cmd.stdout(Stdio::null());
                std::thread::sleep(std::time::Duration::from_millis(gap_ms));
                let t = time(&mut cmd)?;
                if i > 0 {
                    times[k].push(t);
                }
            }
        }
        Ok(())
    })();
    if timed.is_err() {
        // A failed run may leave containers: the state goes, not the error.
        let _ = std::fs::remove_dir_all(&state);
    }
    timed?;
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    let floor = *medians.last().expect("the floor is always there");
    println!(
        "runs: {runs} each, interleaved, {gap_ms} ms apart; one bundle ({}); state (--root) under {}",
        bundle.display(),
        state.display()
    );
    println!(
        "dockyard-runtime: {} (profile dist, static); the release build: {}; both installed in {}",
        target.join("dist/dockyard-runtime").display(),
        target.join("release/dockyard-runtime").display(),
        dir.join("bin").display()
    );
    for ((name, _), m) in contenders.iter().zip(&medians) {
        println!(
            "{name:<24} median {:>7.2} ms   {:>5.2}× the floor",
            m * 1e3,
            m / floor
        );
    }
    for (name, _) in contenders
        .iter()
        .filter(|(n, _)| n.starts_with("crun") || n.starts_with("runc"))
    {
        let k = contenders
            .iter()
            .position(|(n, _)| n == name)
            .expect("listed");
        println!("dockyard-runtime / {name}: {:.2}×", medians[0] / medians[k]);
    }
    println!("targets: ≤ 0.7× crun, ≤ 2× the floor");
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}

/// Install `from` at `to` the way `install(1)` or a package manager puts a
/// binary in place: written whole, in large pieces. How a file was
/// written decides how the page cache holds it, and that shows in every
/// start. A buffered write on ext4 is cached in folios sized by the
/// write (where the kernel has large folios for ext4, as this VM's 6.18
/// does), and `execve`'d code in large folios is mapped by fewer, cheaper
/// page faults. The linker (rust-lld) writes its output through a shared
/// memory mapping, and that file starts as slowly as a copy written by
/// `dd bs=4k`. Here two copies of the same binary, written by `dd bs=4k`
/// and `dd bs=1M`, start a container about 0.8 ms apart, with some 25
/// page faults fewer for the second.
fn install(from: &Path, to: &Path) -> Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let bytes = std::fs::read(from).with_context(|| format!("read {}", from.display()))?;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(to, bytes).with_context(|| format!("install {}", to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))?;
    Ok(to.to_path_buf())
}

/// `bench unpack`: lab 08's layer unpacking (every entry checked, opened
/// by fd, never through a link) against GNU `tar -x` of the same layer of
/// 10,000 small files, interleaved; the ratio of the medians.
pub fn unpack_times(root: &Path, runs: usize) -> Result<()> {
    build_release(root, &["images"], "lab 08")?;
    let target = crate::target::dir(root);
    let dockyard = target.join("release/dockyard-08");
    let dir = target.join("bench/unpack");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    // 100 directories of 100 files, 0–4 KiB each: an image layer's shape.
    let tree = dir.join("tree");
    for d in 0..100 {
        let sub = tree.join(format!("d{d:03}"));
        std::fs::create_dir_all(&sub)?;
        for f in 0..100 {
            let len = fastrand_len(d * 100 + f);
            std::fs::write(
                sub.join(format!("f{f:03}")),
                vec![b'a' + (f % 26) as u8; len],
            )?;
        }
    }
    let layer = dir.join("layer.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .arg("-cf")
        .arg(&layer)
        .arg("."))?;
    let out = dir.join("out");
    let fresh = || -> Result<()> {
        if out.exists() {
            std::fs::remove_dir_all(&out)?;
        }
        Ok(())
    };
    let mut ours = Command::new(&dockyard);
    ours.arg("unpack-layer").arg(&layer).arg(&out);
    let mut theirs = Command::new("sh");
    theirs
        .arg("-c")
        .arg("mkdir \"$2\" && exec tar -xf \"$1\" -C \"$2\"")
        .arg("sh")
        .arg(&layer)
        .arg(&out);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..=runs {
        fresh()?;
        let t1 = time(&mut ours)?;
        fresh()?;
        let t2 = time(&mut theirs)?;
        if i > 0 {
            a.push(t1);
            b.push(t2);
        }
    }
    fresh()?;
    let (ma, mb) = (median(&mut a), median(&mut b));
    println!("runs: {runs} each, interleaved; a layer of 10,000 files in 100 directories");
    println!("dockyard-08 unpack-layer  median {:>7.2} ms", ma * 1e3);
    println!("tar -x                    median {:>7.2} ms", mb * 1e3);
    println!("ratio: {:.2}×   (target ≤ 1.3×)", ma / mb);
    Ok(())
}

/// A size in 0..4096 that looks random but is the same on every run.
fn fastrand_len(i: usize) -> usize {
    (i.wrapping_mul(2_654_435_761) >> 7) % 4096
}
