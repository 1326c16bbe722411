//! `cargo xtask vm`: a lab's checks inside a pure cgroup-v2 VM.
//!
//! Why: learners mostly run pure cgroup-v2 hosts, while this project's
//! machines are a v1/v2 hybrid. A cgroup lab must be proven on a real v2
//! kernel, not only on files in a temp dir. KVM is not available
//! everywhere, qemu's TCG is: a stock Debian kernel (`kernel`) boots in
//! seconds with `cgroup_no_v1=all`, and there `memory.max`, `pids.max`,
//! `cpu.max`, overlay, veth and network namespaces all work.
//!
//! How a run goes:
//!
//! ```text
//! host: cargo test --no-run (as for `check`)   → the test binaries
//!       target/vm/run/plan, run.sh             → what to mount, what to run
//!       target/vm/initramfs.cpio               → busybox, modules, init.sh, stage2.sh
//!       qemu -kernel … -initrd … -virtfs …     (9p shares, see below)
//! guest stage 1 (initramfs): modules, tmpfs root, 9p mounts, switch_root
//! guest stage 2 (tmpfs root): proc, sys, cgroup2, run.sh → out/N, out/N.rc
//!       isa-debug-exit → qemu exits 3
//! host: out/N parsed like a local run (`testrun::merge`)
//! ```
//!
//! The test binaries run unchanged: they are the ones `check` builds, with
//! the absolute paths Cargo compiled into them (`CARGO_BIN_EXE_*`,
//! `CARGO_MANIFEST_DIR` for snapshots). So the guest sees the repository
//! and the target dir at the same paths as the host, read-only, and the
//! host's `/usr` read-only: the binaries are linked against the host's
//! glibc, and the checks use host programs (`sh`, `ip`, a static
//! busybox). Sharing `/usr` is simpler and sturdier than building static
//! test binaries: `crt-static` without `--target` also applies to proc
//! macros (which then fail to load), and with `--target` every dependency
//! would be built a second time. Only `target/vm/run` is writable.
//!
//! The guest has no network device: only loopback and what the checks
//! create.

mod cpio;
mod initramfs;
mod kernel;
mod qemu;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::check;
use crate::labs::{self, Lab};
use crate::testrun::{self, Build, CheckResult};

pub use kernel::Kernel;

/// The time a test binary may run in the guest (TCG is several times
/// slower than the host), and the boot's allowance.
const PER_BINARY: Duration = Duration::from_secs(600);
const BOOT: Duration = Duration::from_secs(120);

/// Host paths the guest has of its own: the repository and the target dir
/// must not be below them, or the guest's mounts would hide them.
const GUEST_OWNED: [&str; 7] = ["/tmp", "/run", "/dev", "/proc", "/sys", "/usr", "/.vm"];

/// The qemu binary, if installed.
pub fn qemu() -> Option<PathBuf> {
    program("qemu-system-x86_64")
}

/// The unpacked guest kernel of this checkout, if fetched.
pub fn kernel_found(root: &Path) -> Option<Kernel> {
    kernel::find(&crate::target::dir(root))
}

/// `cargo xtask vm kernel`: fetch and unpack the guest kernel.
pub fn fetch_kernel(root: &Path) -> Result<()> {
    let target = crate::target::dir(root);
    if let Some(k) = kernel::find(&target) {
        println!(
            "vm: kernel {} is already in {} (remove that dir to fetch it again)",
            k.release,
            kernel::dir(&target).display()
        );
        return Ok(());
    }
    let k = kernel::fetch(&target)?;
    println!("vm: kernel {} ready in {}", k.release, k.vmlinuz.display());
    Ok(())
}

/// What a run needs on the host.
struct Ready {
    qemu: PathBuf,
    kernel: Kernel,
    busybox: PathBuf,
}

/// Everything a run needs, or an error that says what is missing and how
/// to get it. Under `CI=true` a missing kernel is fetched: CI must run.
fn ready(target: &Path) -> Result<Ready> {
    let mut missing = Vec::new();
    let qemu = qemu();
    if qemu.is_none() {
        missing.push(
            "qemu: no `qemu-system-x86_64`. Debian/Ubuntu: \
             `sudo apt-get install --no-install-recommends qemu-system-x86`; \
             Fedora: `sudo dnf install qemu-system-x86-core`"
                .to_owned(),
        );
    }
    let busybox = kit::rootfs::static_busybox();
    if busybox.is_none() {
        missing.push(
            "busybox: no static busybox (the guest's init). Debian/Ubuntu: \
             `sudo apt-get install busybox-static`; Fedora: `sudo dnf install busybox`"
                .to_owned(),
        );
    }
    let mut found = kernel::find(target);
    if found.is_none() && is_ci() && missing.is_empty() {
        found = Some(kernel::fetch(target)?);
    }
    if found.is_none() {
        missing.push(format!(
            "a guest kernel: none in {}. {}",
            kernel::dir(target).display(),
            kernel::how_to_get()
        ));
    }
    match (qemu, found, busybox) {
        (Some(qemu), Some(kernel), Some(busybox)) => Ok(Ready {
            qemu,
            kernel,
            busybox,
        }),
        _ => bail!(
            "the cgroup-v2 VM needs what this host lacks:\n  - {}",
            missing.join("\n  - ")
        ),
    }
}

/// How long the whole run may take: the boot's allowance plus each test
/// binary's, or `DOCKYARD_VM_DEADLINE` seconds (for slow machines).
fn deadline(binaries: usize) -> Result<Duration> {
    match std::env::var("DOCKYARD_VM_DEADLINE") {
        Ok(secs) => Ok(Duration::from_secs(secs.trim().parse().with_context(
            || format!("DOCKYARD_VM_DEADLINE={secs}: expected a number of seconds"),
        )?)),
        Err(_) => Ok(BOOT + PER_BINARY * binaries as u32),
    }
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `cargo xtask vm check NN [--reference]`: lab NN's checks in the VM —
/// the learner's code in `labs/`, or the reference.
pub fn check(root: &Path, wanted: &str, reference: bool) -> Result<bool> {
    let lab = labs::find(root, wanted)?;
    let target = crate::target::dir(root);
    // Before building anything: say at once what is missing.
    ready(&target)?;
    let (workspace, cwd, whose) = if reference {
        (
            root.join("solutions"),
            lab.solution_dir(root),
            "the reference",
        )
    } else {
        (root.to_path_buf(), lab.lab_dir(root), "your code")
    };
    println!(
        "Lab {} — {} ({whose}) in a pure cgroup-v2 VM\n",
        lab.num, lab.package
    );
    let probe = crate::probe::build(root)?;
    let exes = match testrun::build(&workspace, &lab.package)? {
        Build::Ok(exes) => exes,
        Build::Failed(err) => {
            println!(
                "Lab {} does not compile (`cargo xtask check {}` says where):\n{}",
                lab.num, lab.num, err.rendered
            );
            return Ok(false);
        }
    };
    let results = run_checks(root, &lab, &workspace, &exes, &cwd, &probe)?;
    let tasks = lab.tasks(root)?;
    println!();
    check::print_table(&check::rows(&tasks, &results), &results);
    let failing: Vec<&CheckResult> = results.iter().filter(|r| !r.passed).collect();
    if !failing.is_empty() {
        println!("\nFailing in the VM:");
    }
    for r in &failing {
        println!("  ✗ {} — {}", r.name, testrun::headline(&r.output));
    }
    // The details of the first unfinished task's checks, as `check` shows.
    let next = check::rows(&tasks, &results)
        .into_iter()
        .find(|row| !row.done())
        .map(|row| row.task.id);
    for r in failing.iter().filter(|r| testrun::task_of(&r.name) == next) {
        println!("\n── {} failed in the VM ──\n{}", r.name, r.output);
    }
    Ok(!results.is_empty() && failing.is_empty())
}

/// `verify`'s step: every check of `lab` passes on the reference in the VM.
pub fn reference_passes(root: &Path, lab: &Lab, probe: &Path) -> Result<()> {
    let workspace = root.join("solutions");
    let exes = match testrun::build(&workspace, &lab.package)? {
        Build::Ok(exes) => exes,
        Build::Failed(err) => bail!("the reference does not compile:\n{}", err.rendered),
    };
    let results = run_checks(root, lab, &workspace, &exes, &lab.solution_dir(root), probe)?;
    if results.is_empty() {
        bail!("no checks ran");
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{} failed in the VM:\n{}", r.name, r.output))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("{}", failed.join("\n"))
    }
}

/// Boot the VM, run `exes` (built in `workspace`) there, in `cwd`, as
/// root, with `CI=true`, and read their results.
pub fn run_checks(
    root: &Path,
    lab: &Lab,
    workspace: &Path,
    exes: &[PathBuf],
    cwd: &Path,
    probe: &Path,
) -> Result<Vec<CheckResult>> {
    let target = crate::target::dir(root);
    let ready = ready(&target)?;
    let run = target.join("vm/run");
    if run.exists() {
        fs::remove_dir_all(&run).with_context(|| format!("removing {}", run.display()))?;
    }
    fs::create_dir_all(run.join("out"))?;
    let initramfs = initramfs::path(&target);
    initramfs::write(&ready.kernel, &ready.busybox, &initramfs)?;

    let (shares, plan) = plan(root, &target, &run)?;
    fs::write(run.join("plan"), plan)?;
    let mut env = check::options(root, lab, probe).env;
    // Under CI no check is ever skipped; in the VM every check must run.
    env.push(("CI".into(), "true".into()));
    // insta finds snapshots with `cargo metadata`, and the guest has no
    // cargo: name the workspace root.
    env.push((
        "INSTA_WORKSPACE_ROOT".into(),
        workspace.display().to_string(),
    ));
    fs::write(run.join("run.sh"), script(exes, cwd, &env))?;

    let console_log = run.join("console.log");
    let deadline = deadline(exes.len())?;
    let outcome = qemu::run(&qemu::Boot {
        qemu: &ready.qemu,
        kernel: &ready.kernel.vmlinuz,
        initramfs: &initramfs,
        shares: &shares,
        console_log: &console_log,
        deadline,
    })?;
    println!(
        "    vm: {} in {:.1?}",
        if outcome.finished {
            "finished"
        } else {
            "did NOT finish"
        },
        outcome.elapsed
    );
    let console = fs::read_to_string(&console_log).unwrap_or_default();
    let why = if outcome.timed_out {
        format!(
            "the VM ran over its deadline of {:?} and qemu was killed ({})",
            deadline, outcome.status
        )
    } else {
        format!("the VM stopped before its end (qemu: {})", outcome.status)
    };
    let out = |i: usize, ext: &str| fs::read_to_string(run.join(format!("out/{i}{ext}"))).ok();
    if !outcome.finished && out(0, "").is_none() {
        bail!(
            "{why}; no check ran. The console's last lines ({}):\n{}",
            console_log.display(),
            testrun::tail(&console, 30)
        );
    }
    let mut results = Vec::new();
    for (i, exe) in exes.iter().enumerate() {
        let listed = testrun::list(exe)?;
        let output = out(i, "").unwrap_or_default();
        let unfinished = match out(i, ".rc") {
            None if output.is_empty() => format!("{why}: {} never ran", exe.display()),
            None => format!(
                "{why}, during this test binary:\n{}",
                testrun::tail(&output, 30)
            ),
            Some(rc) => format!(
                "the test binary ended (status {}) before this check finished:\n{}",
                rc.trim(),
                testrun::tail(&output, 30)
            ),
        };
        results.extend(testrun::merge(listed, &output, &unfinished));
    }
    results.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(results)
}

/// The 9p shares and the guest's plan (read by `init.sh`): the run dir
/// (writable, tag `run`), the host's `/usr` and the merged-/usr links, the
/// repository and, when it is elsewhere, the target dir — read-only at
/// their host paths.
fn plan(root: &Path, target: &Path, run: &Path) -> Result<(Vec<qemu::Share>, String)> {
    let mut shares = vec![qemu::Share {
        tag: "run".into(),
        host: run.to_path_buf(),
        read_only: false,
    }];
    let mut text = String::new();
    let mut share = |tag: &str, host: &Path, text: &mut String| {
        shares.push(qemu::Share {
            tag: tag.into(),
            host: host.to_path_buf(),
            read_only: true,
        });
        let _ = writeln!(text, "share {tag} ro {}", host.display());
    };
    share("usr", Path::new("/usr"), &mut text);
    // Debian, Ubuntu and Fedora have merged /usr (/bin -> usr/bin); an
    // older layout gets its directories shared as they are.
    for (i, dir) in ["bin", "sbin", "lib", "lib64", "lib32", "libx32"]
        .iter()
        .enumerate()
    {
        let host = Path::new("/").join(dir);
        match fs::read_link(&host) {
            Ok(to) => {
                let _ = writeln!(text, "link /{dir} {}", to.display());
            }
            Err(_) if host.is_dir() => share(&format!("host{i}"), &host, &mut text),
            Err(_) => {}
        }
    }
    let root = fs::canonicalize(root)?;
    let target = fs::canonicalize(target)?;
    for path in [&root, &target] {
        if path == Path::new("/") || GUEST_OWNED.iter().any(|owned| path.starts_with(owned)) {
            bail!(
                "{} is below a directory the guest has of its own ({}): \
                 move the checkout (or CARGO_TARGET_DIR) elsewhere to use the VM",
                path.display(),
                GUEST_OWNED.join(", ")
            );
        }
        if path.to_string_lossy().contains('\n') {
            bail!("{}: a path with a newline cannot be shared", path.display());
        }
    }
    share("repo", &root, &mut text);
    if !target.starts_with(&root) {
        share("target", &target, &mut text);
    }
    Ok((shares, text))
}

/// The script stage 2 runs: each test binary in turn, its output in
/// `out/N` and its exit status in `out/N.rc` (written only when it ended).
fn script(exes: &[PathBuf], cwd: &Path, env: &[(String, String)]) -> String {
    let mut s = String::from("# Written by `cargo xtask vm` (xtask/src/vm/mod.rs).\n");
    let _ = writeln!(s, "cd {} || exit 1", quote(&cwd.display().to_string()));
    let vars: Vec<String> = env
        .iter()
        .map(|(k, v)| quote(&format!("{k}={v}")))
        .collect();
    for (i, exe) in exes.iter().enumerate() {
        let name = exe.file_name().unwrap_or_default().to_string_lossy();
        let _ = writeln!(
            s,
            "echo {}\n\
             /.vm/busybox timeout -s KILL {} env {} {} --color=never >/.vm/run/out/{i} 2>&1\n\
             echo $? >/.vm/run/out/{i}.rc",
            quote(&format!(
                "dockyard-vm: running {name} ({}/{})",
                i + 1,
                exes.len()
            )),
            PER_BINARY.as_secs(),
            vars.join(" "),
            quote(&exe.display().to_string()),
        );
    }
    s
}

/// A word for `sh`, in single quotes.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Looks `name` up on PATH, then in the sbin dirs (not on a user's PATH
/// on Debian).
pub fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_shares_usr_and_the_repository_at_their_paths() {
        let root = labs::root();
        let target = crate::target::dir(&root);
        let run = std::env::temp_dir();
        let (shares, text) = plan(&root, &target, &run).unwrap();
        assert!(text.contains("share usr ro /usr\n"), "{text}");
        let root = fs::canonicalize(&root).unwrap();
        assert!(
            text.contains(&format!("share repo ro {}\n", root.display())),
            "{text}"
        );
        assert!(shares.iter().any(|s| s.tag == "run" && !s.read_only));
        // The guest mounts a tmpfs on /tmp: a checkout there would vanish.
        let err = plan(Path::new("/tmp"), &target, &run).unwrap_err();
        assert!(
            err.to_string().contains("below a directory the guest has"),
            "{err}"
        );
    }

    #[test]
    fn the_script_runs_each_binary_with_its_environment() {
        let exes = [PathBuf::from("/r/target/debug/deps/checks-1")];
        let env = [("CI".to_owned(), "true".to_owned())];
        let s = script(&exes, Path::new("/r/it's"), &env);
        assert!(s.contains(r"cd '/r/it'\''s' || exit 1"), "{s}");
        assert!(
            s.contains(
                "timeout -s KILL 600 env 'CI=true' '/r/target/debug/deps/checks-1' \
                 --color=never >/.vm/run/out/0 2>&1"
            ),
            "{s}"
        );
        assert!(s.contains("echo $? >/.vm/run/out/0.rc"), "{s}");
    }
}
