//! The checks of lab 02. Each is named `t02_K_…` after the task it checks.
//! They observe from inside the container, with the probe's report.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command as StdCommand;
use std::time::Duration;

use kit::{Check, DEADLINE, Report, Running, probe, random, require_root};
use namespaces::child::{STEP_FORK_APP, STEP_HOSTNAME, STEP_LOOPBACK};
use namespaces::idmap::IdMap;
use namespaces::{Config, Error, Namespaces};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use process::{Command, SpawnError};
use serde_json::json;

const LAB: &str = "02";

fn dockyard(args: &[&str]) -> StdCommand {
    let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_dockyard-02"));
    cmd.args(args);
    cmd
}

/// `dockyard run FLAGS -- probe report`, parsed.
fn report(flags: &[&str]) -> Report {
    let probe = probe().to_str().unwrap();
    let mut args = vec!["run"];
    args.extend(flags);
    args.extend(["--", probe, "report"]);
    let out = kit::run(&mut dockyard(&args), DEADLINE);
    assert_eq!(out.code, Some(0), "dockyard run failed\n{}", out.describe());
    Report::parse(&out.stdout)
}

/// The namespace inode of this (host) process.
fn host_ns(name: &str) -> u64 {
    let link = fs::read_link(format!("/proc/self/ns/{name}")).unwrap();
    let text = link.to_string_lossy();
    text[text.find('[').unwrap() + 1..text.len() - 1]
        .parse()
        .unwrap()
}

/// `"         0       1000          1\n"` → `"0 1000 1"`.
fn map_text(report: &Report, field: &str) -> String {
    report
        .str(field)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Only `lo`, and up; returns the interfaces.
fn assert_only_lo_up(report: &Report) -> &Vec<serde_json::Value> {
    let interfaces = report.at("/interfaces").as_array().unwrap();
    let names: Vec<&str> = interfaces
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["lo"],
        "a new network namespace has only the loopback interface"
    );
    assert_eq!(
        interfaces[0]["up"], true,
        "lo must be up, or even 127.0.0.1 is unreachable"
    );
    interfaces
}

// ---------------------------------------------------------------- 02.1

#[test]
fn t02_1_each_namespace_has_its_flag() {
    let none = Namespaces {
        uts: false,
        pid: false,
        ipc: false,
        net: false,
        mount: false,
        cgroup: false,
        user: false,
    };
    assert_eq!(none.clone_flags(), CloneFlags::empty());
    let each = [
        (Namespaces { uts: true, ..none }, CloneFlags::CLONE_NEWUTS),
        (Namespaces { pid: true, ..none }, CloneFlags::CLONE_NEWPID),
        (Namespaces { ipc: true, ..none }, CloneFlags::CLONE_NEWIPC),
        (Namespaces { net: true, ..none }, CloneFlags::CLONE_NEWNET),
        (
            Namespaces {
                mount: true,
                ..none
            },
            CloneFlags::CLONE_NEWNS,
        ),
        (
            Namespaces {
                cgroup: true,
                ..none
            },
            CloneFlags::CLONE_NEWCGROUP,
        ),
        (Namespaces { user: true, ..none }, CloneFlags::CLONE_NEWUSER),
    ];
    for (ns, flag) in each {
        assert_eq!(ns.clone_flags(), flag, "{ns:?}");
    }
    // A random mix: the flags of its parts, together.
    let mut mix = none;
    let mut expected = CloneFlags::empty();
    for (ns, flag) in each {
        if fastrand::bool() {
            expected |= flag;
            mix = Namespaces {
                uts: mix.uts || ns.uts,
                pid: mix.pid || ns.pid,
                ipc: mix.ipc || ns.ipc,
                net: mix.net || ns.net,
                mount: mix.mount || ns.mount,
                cgroup: mix.cgroup || ns.cgroup,
                user: mix.user || ns.user,
            };
        }
    }
    assert_eq!(mix.clone_flags(), expected, "{mix:?}");
}

// ---------------------------------------------------------------- 02.2

/// Run `probe report` in a child that std forks, after `setup` ran in new
/// namespaces `flags` — so each task is checked on its own, before the
/// lab's `spawn` exists.
fn report_after(
    flags: CloneFlags,
    setup: impl Fn() -> Result<(), Errno> + Send + Sync + 'static,
) -> Report {
    let mut cmd = StdCommand::new(probe());
    cmd.arg("report");
    // SAFETY: unshare and the lab's setup functions only make system calls.
    unsafe {
        cmd.pre_exec(move || {
            nix::sched::unshare(flags)?;
            setup()?;
            Ok(())
        });
    }
    let out = kit::run(&mut cmd, DEADLINE);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    Report::parse(&out.stdout)
}

#[test]
fn t02_2_sethostname_in_a_new_uts_namespace() {
    require_root(LAB);
    let _check = Check::new();
    let host_before = nix::unistd::gethostname().unwrap();
    let name = random::hostname();
    let inside = name.clone();
    let report = report_after(CloneFlags::CLONE_NEWUTS, move || {
        namespaces::hostname::set(&inside)
    });
    assert_eq!(report.str("/hostname"), name);
    assert_ne!(report.int("/namespaces/uts") as u64, host_ns("uts"));
    assert_eq!(
        nix::unistd::gethostname().unwrap(),
        host_before,
        "the host's hostname must not change"
    );
}

#[test]
fn t02_2_hostnames_are_validated() {
    use namespaces::hostname::validate;
    for good in [
        random::hostname(),
        "a".into(),
        "web-1.example".into(),
        "x".repeat(64),
    ] {
        assert_eq!(validate(&good), Ok(()), "{good:?} is a valid hostname");
    }
    for bad in ["", "-x", "has space", "semi;colon", "ünï", &"x".repeat(65)] {
        assert!(validate(bad).is_err(), "{bad:?} must be refused");
    }
}

#[test]
fn t02_2_a_bad_hostname_is_refused_before_anything_starts() {
    let _check = Check::new();
    let out = kit::run(
        &mut dockyard(&["run", "--hostname", "not a hostname", "--", "true"]),
        DEADLINE,
    );
    assert_eq!(out.code, Some(125), "{}", out.describe());
    assert!(
        out.stderr.contains("invalid hostname"),
        "{}",
        out.describe()
    );
    assert!(matches!(
        namespaces::spawn(
            &Command::new("true"),
            &Config {
                hostname: Some("-x".into()),
                ..Config::default()
            }
        ),
        Err(Error::Config(_))
    ));
}

// ---------------------------------------------------------------- 02.3

#[test]
fn t02_3_lo_comes_up_in_a_new_network_namespace() {
    require_root(LAB);
    let _check = Check::new();
    let report = report_after(CloneFlags::CLONE_NEWNET, namespaces::loopback::up);
    assert_only_lo_up(&report);
}

// ---------------------------------------------------------------- 02.4

#[test]
fn t02_4_the_parent_writes_the_id_maps() {
    require_root(LAB);
    let _check = Check::new();
    // A child in a new user namespace, waiting (as the lab's child does on
    // its sync pipe) while the parent writes its maps.
    let mut cmd = StdCommand::new(probe());
    cmd.args(["sleep", "5"]);
    // SAFETY: unshare only makes a system call.
    unsafe { cmd.pre_exec(|| Ok(nix::sched::unshare(CloneFlags::CLONE_NEWUSER)?)) };
    let mut child = cmd.spawn().unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    let (uid, gid) = (random::int(1000..=60000), random::int(1000..=60000));
    let result = namespaces::idmap::write_maps(pid, IdMap::root_is(uid), IdMap::root_is(gid));
    let read = |f: &str| fs::read_to_string(format!("/proc/{pid}/{f}")).unwrap_or_default();
    let (uid_map, gid_map, setgroups) = (read("uid_map"), read("gid_map"), read("setgroups"));
    child.kill().unwrap();
    child.wait().unwrap();
    result.expect("write_maps");
    let squash = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(squash(uid_map), format!("0 {uid} 1"));
    assert_eq!(squash(gid_map), format!("0 {gid} 1"));
    assert_eq!(
        setgroups.trim(),
        "deny",
        "setgroups must be denied before gid_map is written"
    );
}

// ---------------------------------------------------------------- 02.5

#[test]
fn t02_5_every_namespace_is_new() {
    require_root(LAB);
    let _check = Check::new();
    let report = report(&[]);
    for ns in ["uts", "ipc", "net", "mnt", "pid", "cgroup"] {
        assert_ne!(
            report.int(&format!("/namespaces/{ns}")) as u64,
            host_ns(ns),
            "the {ns} namespace is the host's"
        );
    }
    assert_eq!(
        report.int("/namespaces/user") as u64,
        host_ns("user"),
        "no user namespace without --userns"
    );
    assert_eq!(
        report.int("/pid"),
        1,
        "the first process of a new PID namespace is PID 1"
    );
    assert_eq!(
        report.int("/ppid"),
        0,
        "its parent is outside the namespace"
    );
}

/// Start `probe true` with setup step `step` failing on purpose.
fn fail_at(step: u32, init: bool) {
    require_root(LAB);
    let _check = Check::new();
    let mut cmd = Command::new(probe());
    cmd.arg("true");
    let config = Config {
        hostname: Some(random::hostname()),
        init,
        fail_at: Some(step),
        ..Config::default()
    };
    let mut child = namespaces::spawn(&cmd, &config).expect("spawn");
    match child.start() {
        Err(SpawnError::Setup {
            step: name,
            errno: Errno::ECANCELED,
        }) => {
            assert_eq!(
                name,
                namespaces::child::step_name(step),
                "the error names the step"
            )
        }
        other => panic!("expected setup step {step} to fail with ECANCELED, got {other:?}"),
    }
    // The leak guard (when `_check` drops) asserts no process is left.
}

#[test]
fn t02_5_a_failure_setting_the_hostname_leaves_nothing_behind() {
    fail_at(STEP_HOSTNAME, false);
}

#[test]
fn t02_5_a_failure_bringing_up_lo_leaves_nothing_behind() {
    fail_at(STEP_LOOPBACK, false);
}

#[test]
fn t02_5_a_failure_forking_the_app_leaves_nothing_behind() {
    fail_at(STEP_FORK_APP, true);
}

#[test]
fn t02_5_the_hostname_is_the_containers_own() {
    require_root(LAB);
    let _check = Check::new();
    let host_before = nix::unistd::gethostname().unwrap();
    let name = random::hostname();
    let report = report(&["--hostname", &name]);
    assert_eq!(report.str("/hostname"), name);
    assert_eq!(
        nix::unistd::gethostname().unwrap(),
        host_before,
        "the host's hostname must not change"
    );
}

#[test]
fn t02_5_only_loopback_and_it_is_up() {
    require_root(LAB);
    let _check = Check::new();
    let report = report(&[]);
    let interfaces = assert_only_lo_up(&report);
    assert!(
        interfaces[0]["addresses"]
            .as_array()
            .unwrap()
            .contains(&json!("127.0.0.1/8")),
        "{report:?}"
    );
    assert_eq!(report.at("/routes"), &json!([]), "no routes to anywhere");
}

#[test]
fn t02_5_userns_maps_root_inside() {
    require_root(LAB);
    let _check = Check::new();
    let report = report(&["--userns"]);
    assert_ne!(
        report.int("/namespaces/user") as u64,
        host_ns("user"),
        "--userns makes a new user namespace"
    );
    assert_eq!(
        map_text(&report, "/uid_map"),
        "0 0 1",
        "root inside is root (uid 0) outside, one id"
    );
    assert_eq!(map_text(&report, "/gid_map"), "0 0 1");
    assert_eq!(
        report.str("/setgroups").trim(),
        "deny",
        "setgroups must be denied before gid_map is written"
    );
    assert_eq!(report.int("/uid"), 0);
}

/// Why unprivileged user namespaces are off on this host, if they are.
fn rootless_blocked() -> Option<String> {
    let read = |p: &str| fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Some(
            "user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)".into(),
        );
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Some("unprivileged user namespaces are disabled: sudo sysctl kernel.unprivileged_userns_clone=1".into());
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Some(
            "AppArmor restricts unprivileged user namespaces (Ubuntu ≥ 23.10): \
             sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0"
                .into(),
        );
    }
    None
}

#[test]
fn t02_5_a_rootless_run_works() {
    require_root(LAB);
    if let Some(why) = rootless_blocked() {
        panic!("this host does not allow a rootless run, so this check cannot pass here: {why}");
    }
    let check = Check::new();
    let name = random::hostname();
    // `nobody` must be able to reach both programs, wherever this checkout
    // lives: copy them into the check's dir and open it to everyone.
    let dir = check.dir();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    let (dockyard_copy, probe_copy) = (dir.join("dockyard"), dir.join("probe"));
    fs::copy(env!("CARGO_BIN_EXE_dockyard-02"), &dockyard_copy).unwrap();
    fs::copy(probe(), &probe_copy).unwrap();
    // Drop to the unprivileged user `nobody` (65534) for the whole run.
    let mut cmd = StdCommand::new(&dockyard_copy);
    cmd.args(["run", "--userns", "--hostname", &name, "--"])
        .arg(&probe_copy)
        .arg("report");
    cmd.uid(65534).gid(65534).current_dir("/");
    let out = kit::run(&mut cmd, DEADLINE);
    assert_eq!(
        out.code,
        Some(0),
        "a rootless run failed\n{}",
        out.describe()
    );
    let report = Report::parse(&out.stdout);
    assert_eq!(report.int("/uid"), 0, "root inside");
    assert_eq!(
        map_text(&report, "/uid_map"),
        "0 65534 1",
        "…is nobody outside"
    );
    assert_eq!(report.str("/hostname"), name);
}

// ---------------------------------------------------------------- 02.6

#[test]
fn t02_6_reap_collects_every_ended_child() {
    require_root(LAB);
    let _check = Check::new();
    let code = random::int(1..=120) as i32;
    // In a child forked by std (so that `waitpid(-1)` reaps nothing of the
    // test harness): three children end, the first — the "app" — with
    // `code`; `reap` must return its status and leave no zombie behind.
    let mut cmd = StdCommand::new(probe());
    cmd.arg("true");
    // SAFETY: the closure forks and makes system calls only.
    unsafe {
        cmd.pre_exec(move || {
            let mut app = None;
            for i in 0..3 {
                match nix::unistd::fork()? {
                    nix::unistd::ForkResult::Child => libc::_exit(if i == 0 { code } else { 0 }),
                    nix::unistd::ForkResult::Parent { child } => app = app.or(Some(child)),
                }
            }
            std::thread::sleep(Duration::from_millis(100));
            // No allocation after fork (the test harness has threads):
            // failures are told by errno.
            let status = namespaces::init::reap(app.unwrap())?;
            if status != Some(process::ExitStatus::Exited(code)) {
                return Err(std::io::Error::from_raw_os_error(libc::EBADE));
            }
            match nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
                Err(Errno::ECHILD) => Ok(()),
                _ => Err(std::io::Error::from_raw_os_error(libc::EBUSY)),
            }
        });
    }
    match cmd.spawn() {
        Ok(child) => {
            let out = kit::run::wait(child, "the child that reaps", DEADLINE);
            assert_eq!(out.code, Some(0), "{}", out.describe());
        }
        Err(err) if err.raw_os_error() == Some(libc::EBADE) => {
            panic!("reap did not return the app's status Exited({code})")
        }
        Err(err) if err.raw_os_error() == Some(libc::EBUSY) => panic!("reap left a child unreaped"),
        Err(err) => panic!("reap did not do its job: {err}"),
    }
}

// ---------------------------------------------------------------- 02.7

#[test]
fn t02_7_init_reaps_orphans() {
    require_root(LAB);
    let _check = Check::new();
    let probe = probe().to_str().unwrap();
    let n = random::int(2..=5).to_string();
    let orphans = [
        "--", probe, "orphans", &n, "then", "sleep", "0.3", "then", "zombies",
    ];
    let zombies = |init: bool| {
        let mut args = vec!["run"];
        if init {
            args.push("--init");
        }
        args.extend(orphans);
        let out = kit::run(&mut dockyard(&args), DEADLINE);
        assert_eq!(out.code, Some(0), "{}", out.describe());
        out.json()["zombies"].as_array().unwrap().len()
    };
    assert!(
        zombies(false) > 0,
        "without --init, the probe is PID 1 and never reaps: zombies stay"
    );
    assert_eq!(
        zombies(true),
        0,
        "with --init, PID 1 must reap every orphan"
    );
}

#[test]
fn t02_7_the_app_runs_under_init_and_its_code_passes_through() {
    require_root(LAB);
    let _check = Check::new();
    let report = report(&["--init"]);
    assert_eq!(
        (report.int("/pid"), report.int("/ppid")),
        (2, 1),
        "the app is PID 2, a child of init (PID 1)"
    );
    let code = random::int(1..=120);
    let probe = probe().to_str().unwrap();
    let out = kit::run(
        &mut dockyard(&["run", "--init", "--", probe, "exit", &code.to_string()]),
        DEADLINE,
    );
    assert_eq!(out.code, Some(code as i32), "{}", out.describe());
}

#[test]
fn t02_7_init_forwards_signals_to_the_app() {
    require_root(LAB);
    let _check = Check::new();
    let probe = probe().to_str().unwrap();
    let mut run = Running::start(&mut dockyard(&["run", "--init", "--", probe, "signals"]));
    assert_eq!(run.next_json(DEADLINE)["ready"], true);
    for (signal, name) in [(Signal::SIGUSR1, "SIGUSR1"), (Signal::SIGTERM, "SIGTERM")] {
        kill(Pid::from_raw(run.pid()), signal).unwrap();
        let got = run.next_json(DEADLINE);
        assert_eq!(got["signal"], name);
        assert_eq!(
            got["from_pid"], 1,
            "{name} should come from init, PID 1 in the container"
        );
    }
    let out = run.finish(Duration::from_secs(5));
    assert_eq!(
        out.code,
        Some(0),
        "the app exited 0 after SIGTERM; so must init and dockyard"
    );
}
