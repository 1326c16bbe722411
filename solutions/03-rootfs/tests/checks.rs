//! The checks of lab 03. Each is named `t03_K_…` after the task it checks.
//!
//! Tasks 03.2–03.7 are checked one step at a time: a child forked by std
//! enters a new mount (and UTS) namespace with `unshare`, runs the lab's
//! steps up to the one checked, then execs the probe, which reports what it
//! sees. Task 03.8 runs the whole container with `dockyard-03`.

use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use kit::rootfs::Rootfs;
use kit::{Check, DEADLINE, Output, Report, insta, probe, random, require_root};
use namespaces::Config;
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use process::{Command, SpawnError};
use rootfs::layout::Layout;
use rootfs::resolve::resolve_in_root;
use rootfs::spawn::STEPS;
use rootfs::{dev, mask, mounts, pivot};
use serde_json::{Value, json};

const LAB: &str = "03";

/// A check with a fresh minimal rootfs in its temp dir.
fn with_rootfs() -> (Check, Rootfs) {
    let check = Check::new();
    let rootfs = Rootfs::create(&check.dir().join("rootfs"), probe()).expect("make the rootfs");
    (check, rootfs)
}

/// A random file on the host, outside the rootfs: it must stay unreachable.
fn host_marker(check: &Check) -> PathBuf {
    let marker = check.dir().join(format!("marker-{}", random::token(8)));
    fs::write(&marker, random::token(16)).unwrap();
    marker
}

/// Run `program args` in a child that std forks into new mount and UTS
/// namespaces, after the lab's `steps` ran there.
fn after_steps(
    steps: impl Fn() -> Result<(), Errno> + Send + Sync + 'static,
    program: &Path,
    args: &[&str],
) -> Output {
    let mut cmd = StdCommand::new(program);
    cmd.args(args);
    // SAFETY: unshare and the lab's steps only make system calls.
    unsafe {
        cmd.pre_exec(move || {
            // UTS too: a write to /proc/sys/kernel/hostname that should have
            // been refused must not rename the host.
            unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS)?;
            steps()?;
            Ok(())
        });
    }
    kit::run(&mut cmd, DEADLINE)
}

fn report_of(out: &Output) -> Report {
    assert_eq!(out.code, Some(0), "{}", out.describe());
    Report::parse(&out.stdout)
}

fn mounts_of(report: &Report) -> Vec<Value> {
    report.at("/mounts").as_array().unwrap().clone()
}

fn mount_at<'a>(mounts: &'a [Value], point: &Path) -> Option<&'a Value> {
    mounts
        .iter()
        .rev()
        .find(|m| m["mount_point"] == point.to_str().unwrap())
}

fn has_option(mount: &Value, option: &str) -> bool {
    mount["options"]
        .as_str()
        .unwrap()
        .split(',')
        .any(|o| o == option)
}

// ---------------------------------------------------------------- 03.1

#[test]
fn t03_1_paths_resolve_inside_the_rootfs() {
    let check = Check::new();
    let root = check.dir().join("root");
    fs::create_dir_all(root.join("usr/bin")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    let tool = random::token(6);
    fs::write(root.join("usr/bin").join(&tool), "").unwrap();
    symlink("/usr/bin", root.join("bin")).unwrap(); // absolute: means the rootfs's /usr/bin
    symlink("../../../../../etc", root.join("usr/up")).unwrap(); // climbs past the top
    symlink("loop-b", root.join("loop-a")).unwrap();
    symlink("loop-a", root.join("loop-b")).unwrap();
    let resolve = |p: &str| resolve_in_root(&root, Path::new(p));
    let inside = root.join("usr/bin").join(&tool);
    assert_eq!(
        resolve(&format!("/bin/{tool}")),
        Some(inside.clone()),
        "an absolute link restarts at the rootfs"
    );
    assert_eq!(
        resolve(&format!("/../../bin/{tool}")),
        Some(inside.clone()),
        "'..' stops at the rootfs's top"
    );
    assert_eq!(resolve(&format!("/usr/./bin/../bin/{tool}")), Some(inside));
    assert_eq!(
        resolve("/usr/up"),
        Some(root.join("etc")),
        "a relative link cannot climb out either"
    );
    assert_eq!(
        resolve("/loop-a"),
        None,
        "a symlink loop resolves to nothing"
    );
    assert_eq!(
        resolve(&format!("/bin/{}", random::token(6))),
        None,
        "a missing file"
    );
}

#[test]
fn t03_1_a_bad_rootfs_or_a_missing_program_fails_before_anything_starts() {
    let (check, rootfs) = with_rootfs();
    let dir = check.dir();
    let text_file = dir.join("a-file");
    fs::write(&text_file, "").unwrap();
    let odd = dir.join("odd-rootfs");
    fs::create_dir(&odd).unwrap();
    fs::write(odd.join("proc"), "").unwrap();
    let missing = random::token(8);
    let cases: [(&Path, &str); 4] = [
        (&dir.join("no-such-dir"), "/probe"),
        (&text_file, "/probe"),
        (&odd, "/probe"),
        (rootfs.path(), &missing),
    ];
    let mut lines = String::new();
    for (root, program) in cases {
        let args = ["run", "--rootfs", root.to_str().unwrap(), "--", program];
        let out = kit::run(
            StdCommand::new(env!("CARGO_BIN_EXE_dockyard-03")).args(args),
            DEADLINE,
        );
        // The rootfs is named by its canonical path: redact both forms.
        let canonical = dir.canonicalize().unwrap();
        let said = kit::redact::redact_text(
            out.stderr.trim(),
            &[
                (canonical.to_str().unwrap(), "[dir]"),
                (dir.to_str().unwrap(), "[dir]"),
                (&missing, "[program]"),
            ],
        );
        lines += &format!("{said}\nexit code {}\n\n", out.code.unwrap_or(-1));
    }
    insta::assert_snapshot!(lines);
}

// ---------------------------------------------------------------- 03.2

#[test]
fn t03_2_every_mount_is_private() {
    require_root(LAB);
    let _check = Check::new();
    let out = after_steps(
        || {
            // Start from the systemd situation — `/` shared — in this
            // namespace only, so the check means the same on every host.
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_SHARED,
                None::<&str>,
            )?;
            mounts::make_private()
        },
        probe(),
        &["report"],
    );
    let report = report_of(&out);
    let mounts = mounts_of(&report);
    let propagating: Vec<&Value> = mounts
        .iter()
        .filter(|m| !m["optional"].as_str().unwrap().is_empty())
        .collect();
    assert!(
        propagating.is_empty(),
        "these mounts still propagate (shared: or master:): {propagating:#?}"
    );
}

// ---------------------------------------------------------------- 03.3

#[test]
fn t03_3_the_rootfs_becomes_a_mount_point() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let layout = Layout::new(rootfs.path()).unwrap();
    let root = layout.root.clone();
    let out = after_steps(
        move || mounts::make_private().and_then(|()| mounts::bind_root(&layout)),
        probe(),
        &["report"],
    );
    let mounts = mounts_of(&report_of(&out));
    assert!(
        mount_at(&mounts, &root).is_some(),
        "no mount at {} — pivot_root would fail with EINVAL",
        root.display()
    );
}

// ---------------------------------------------------------------- 03.4

#[test]
fn t03_4_proc_and_sys_are_mounted_in_the_rootfs() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let layout = Layout::new(rootfs.path()).unwrap();
    let (proc_, sys) = (layout.proc.clone(), layout.sys.clone());
    let out = after_steps(
        move || {
            mounts::make_private()?;
            mounts::bind_root(&layout)?;
            mounts::mount_proc_sys(&layout)
        },
        probe(),
        &["report"],
    );
    let mounts = mounts_of(&report_of(&out));
    let proc_mount = mount_at(&mounts, &proc_).expect("no mount on the rootfs's /proc");
    assert_eq!(proc_mount["fs_type"], "proc");
    let sys_mount = mount_at(&mounts, &sys).expect("no mount on the rootfs's /sys");
    assert_eq!(sys_mount["fs_type"], "sysfs");
    assert!(
        has_option(sys_mount, "ro"),
        "/sys must be read-only: {sys_mount}"
    );
    for (m, name) in [(proc_mount, "/proc"), (sys_mount, "/sys")] {
        for option in ["nosuid", "nodev", "noexec"] {
            assert!(has_option(m, option), "{name} needs {option}: {m}");
        }
    }
}

// ---------------------------------------------------------------- 03.5

/// `probe ls` entries, without what differs between hosts.
fn listing(out: &Output) -> String {
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let entries = out.json()["entries"].as_array().unwrap().clone();
    entries
        .iter()
        .map(|e| {
            let mut line = format!(
                "{:<8} {:<8} {:o}",
                e["name"].as_str().unwrap(),
                e["type"].as_str().unwrap(),
                e["mode"].as_u64().unwrap()
            );
            if let (Some(major), Some(minor)) = (e["major"].as_u64(), e["minor"].as_u64()) {
                line += &format!(" {major}:{minor}");
            }
            if let Some(target) = e["target"].as_str() {
                line += &format!(" -> {target}");
            }
            line + "\n"
        })
        .collect()
}

#[test]
fn t03_5_dev_holds_exactly_the_expected_nodes() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let layout = Layout::new(rootfs.path()).unwrap();
    let dev_dir = layout.dev.to_str().unwrap().to_owned();
    let out = after_steps(
        move || {
            mounts::make_private()?;
            mounts::bind_root(&layout)?;
            mounts::mount_proc_sys(&layout)?;
            dev::mount_dev(&layout)
        },
        probe(),
        &["ls", &dev_dir],
    );
    insta::assert_snapshot!(listing(&out));
}

// ---------------------------------------------------------------- 03.6

/// The steps up to `pivot_root` (or chroot), then `/probe args` inside.
fn inside(rootfs: &Rootfs, chroot_only: bool, masked: bool, args: &[&str]) -> Output {
    let layout = Layout::new(rootfs.path()).unwrap();
    after_steps(
        move || {
            mounts::make_private()?;
            mounts::bind_root(&layout)?;
            mounts::mount_proc_sys(&layout)?;
            dev::mount_dev(&layout)?;
            if chroot_only {
                pivot::chroot_only(&layout)?
            } else {
                pivot::pivot(&layout)?
            }
            if masked { mask::mask_paths() } else { Ok(()) }
        },
        Path::new("/probe"),
        args,
    )
}

#[test]
fn t03_6_after_pivot_root_the_host_is_gone() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let marker = host_marker(&check);
    let out = inside(
        &rootfs,
        false,
        false,
        &["ls", "/", "then", "cat", marker.to_str().unwrap()],
    );
    let results = out.json_lines();
    let names: Vec<&str> = results[0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    let mut expected: Vec<String> = fs::read_dir(rootfs.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(names, expected, "/ inside must be the rootfs");
    assert_eq!(
        results.get(1).map(|r| &r["errno"]),
        Some(&json!(libc::ENOENT)),
        "the host's {} is reachable",
        marker.display()
    );
}

#[test]
fn t03_6_pivot_root_defeats_the_chroot_breakout() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let marker = host_marker(&check);
    let breakout = |chroot_only| {
        inside(
            &rootfs,
            chroot_only,
            false,
            &["breakout", marker.to_str().unwrap()],
        )
        .json()
    };
    assert_eq!(
        breakout(true)["escaped"],
        true,
        "with chroot alone, the breakout reaches the host"
    );
    assert_eq!(
        breakout(false)["escaped"],
        false,
        "after pivot_root, there must be no host to break out to"
    );
}

// ---------------------------------------------------------------- 03.7

/// The masked files this host has (a kernel may lack some).
fn masked_files_on_host() -> Vec<&'static str> {
    mask::MASKED
        .into_iter()
        .filter(|p| Path::new(p).is_file())
        .collect()
}

#[test]
fn t03_7_masked_paths_read_empty_and_read_only_paths_refuse_writes() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let mut args: Vec<&str> = vec!["ls", "/sys/firmware"];
    for file in masked_files_on_host() {
        args.extend(["then", "cat", file]);
    }
    args.extend(["then", "write", "/proc/sys/kernel/hostname", "masked"]);
    let out = inside(&rootfs, false, true, &args);
    let results = out.json_lines();
    assert_eq!(
        results[0]["entries"],
        json!([]),
        "/sys/firmware must be hidden: {}",
        out.describe()
    );
    for (file, result) in masked_files_on_host().iter().zip(&results[1..]) {
        assert_eq!(result["content"], "", "{file} must read empty");
    }
    let write = results.last().unwrap();
    assert_eq!(
        write["errno"],
        json!(libc::EROFS),
        "/proc/sys must be read-only: {write}"
    );
}

// ---------------------------------------------------------------- 03.8

/// `dockyard run --rootfs ROOTFS -- ARGS…`, not started yet.
fn dockyard_cmd(rootfs: &Rootfs, args: &[&str]) -> StdCommand {
    let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_dockyard-03"));
    cmd.args(["run", "--rootfs"])
        .arg(rootfs.path())
        .arg("--")
        .args(args);
    cmd
}

/// `dockyard run --rootfs ROOTFS -- ARGS…`, run to its end.
fn dockyard_in(rootfs: &Rootfs, args: &[&str]) -> Output {
    kit::run_or(
        &mut dockyard_cmd(rootfs, args),
        DEADLINE,
        "dockyard run never exited: did the container start (check 03.8's steps) and exit?",
    )
}

#[test]
fn t03_8_mountinfo_lists_exactly_the_expected_mounts() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let report = report_of(&dockyard_in(&rootfs, &["/probe", "report"]));
    let mounts = mounts_of(&report);
    let mut table = String::new();
    for m in &mounts {
        let point = m["mount_point"].as_str().unwrap();
        let is_extra = mask::MASKED.contains(&point) || mask::READ_ONLY.contains(&point);
        if is_extra {
            continue;
        }
        let fs_type = if point == "/" {
            "[host fs]"
        } else {
            m["fs_type"].as_str().unwrap()
        };
        let ro = if has_option(m, "ro") { "ro" } else { "rw" };
        // Propagation fields (shared:N, master:N) would show after the mode.
        let optional = m["optional"].as_str().unwrap();
        table += format!("{point:<10} {fs_type:<10} {ro} {optional}").trim_end();
        table += "\n";
    }
    insta::assert_snapshot!(table);
    // The masked and read-only paths: exactly those this kernel has.
    let extra: Vec<&str> = mounts
        .iter()
        .map(|m| m["mount_point"].as_str().unwrap())
        .filter(|p| mask::MASKED.contains(p) || mask::READ_ONLY.contains(p))
        .collect();
    let expected: Vec<&str> = mask::MASKED
        .iter()
        .chain(&mask::READ_ONLY)
        .copied()
        .filter(|p| Path::new(p).exists())
        .collect();
    let mut extra_sorted = extra.clone();
    extra_sorted.sort();
    let mut expected_sorted = expected;
    expected_sorted.sort();
    assert_eq!(extra_sorted, expected_sorted, "masked and read-only mounts");
}

#[test]
fn t03_8_the_container_sees_only_itself() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let marker = host_marker(&check);
    let sys_file = format!("/sys/dockyard-{}", random::token(6));
    let report = report_of(&dockyard_in(&rootfs, &["/probe", "report"]));
    assert_eq!(
        report.at("/processes"),
        &json!([1]),
        "/proc must show only the container's processes"
    );
    let write = dockyard_in(&rootfs, &["/probe", "write", &sys_file, "x"]).json();
    assert_eq!(
        write["errno"],
        json!(libc::EROFS),
        "writing under /sys must fail with EROFS: {write}"
    );
    let read = dockyard_in(&rootfs, &["/probe", "cat", marker.to_str().unwrap()]).json();
    assert_eq!(
        read["errno"],
        json!(libc::ENOENT),
        "the host's files must be unreachable: {read}"
    );
}

#[test]
fn t03_8_the_breakout_fails_in_a_container() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let marker = host_marker(&check);
    let out = dockyard_in(&rootfs, &["/probe", "breakout", marker.to_str().unwrap()]);
    assert_eq!(out.json()["escaped"], false, "{}", out.describe());
}

/// Start `/probe true` in the rootfs with the setup step `step` failing.
fn fail_at(step: &str) {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let mut cmd = Command::new("/probe");
    cmd.arg("true");
    let config = Config {
        fail_at: Some(step.to_owned()),
        ..Config::default()
    };
    let result = check.within(DEADLINE, "spawn did not return after a failed step", || {
        rootfs::spawn(&cmd, &config, rootfs.path(), rootfs::RootMode::Pivot).map(|_| ())
    });
    match result {
        Err(rootfs::Error::Namespaces(namespaces::Error::Spawn(SpawnError::Setup {
            step: name,
            errno: Errno::ECANCELED,
        }))) => assert_eq!(name, step, "the error names the step that failed"),
        other => panic!("expected the step {step:?} to fail with ECANCELED, got {other:?}"),
    }
    // The leak guard asserts that nothing stayed mounted and no process is left.
}

#[test]
fn t03_8_a_failure_making_mounts_private_leaves_nothing_behind() {
    fail_at(STEPS[0]);
}

#[test]
fn t03_8_a_failure_binding_the_rootfs_leaves_nothing_behind() {
    fail_at(STEPS[1]);
}

#[test]
fn t03_8_a_failure_mounting_proc_and_sys_leaves_nothing_behind() {
    fail_at(STEPS[2]);
}

#[test]
fn t03_8_a_failure_setting_up_dev_leaves_nothing_behind() {
    fail_at(STEPS[3]);
}

#[test]
fn t03_8_a_failure_changing_the_root_leaves_nothing_behind() {
    fail_at(STEPS[4]);
}

#[test]
fn t03_8_a_failure_masking_paths_leaves_nothing_behind() {
    fail_at(STEPS[5]);
}

#[test]
fn t03_8_the_steps_run_in_order() {
    let (_check, rootfs) = with_rootfs();
    let layout = Layout::new(rootfs.path()).expect("a layout of the rootfs");
    let steps = rootfs::spawn::rootfs_steps(&layout, rootfs::RootMode::Pivot);
    assert_eq!(
        steps.names(),
        STEPS,
        "every rootfs step, once each, in the order they must run"
    );
}

#[test]
fn t03_8_an_inherited_fd_does_not_reach_the_host() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let marker = host_marker(&check);
    // A careless caller: a directory fd of the host's `/`, not close-on-exec,
    // at fd 9. Through /proc/self/fd/9 it would still reach the host after
    // pivot_root: runc's CVE-2024-21626.
    let through_fd = format!("/proc/self/fd/9{}", marker.display());
    let mut cmd = dockyard_cmd(&rootfs, &["/probe", "cat", &through_fd, "then", "report"]);
    // SAFETY: open and dup2 are plain system calls.
    unsafe {
        cmd.pre_exec(|| {
            let root = libc::open(c"/".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            libc::dup2(root, 9);
            Ok(())
        });
    }
    let out = kit::run_or(
        &mut cmd,
        DEADLINE,
        "dockyard run did not finish: does the container start?",
    );
    let lines = out.json_lines();
    assert!(
        lines.first().is_some_and(|read| read["errno"] != json!(null)),
        "the container read a host file through an inherited fd: mark every fd above 2 \
         close-on-exec before exec (lab 01, task 01.5)\n{}",
        out.describe()
    );
}
