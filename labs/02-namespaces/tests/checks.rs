//! The checks of lab 02. Each is named `t02_K_…` after the task it checks.
//! They observe from inside the container, with the probe's report.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;

use kit::{Check, DEADLINE, Report, Running, probe, random, require_root};
use namespaces::child::{STEP_FORK_APP, STEP_HOSTNAME, STEP_LOOPBACK};
use namespaces::idmap::{IdMap, IdRange};
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
    let out = kit::run_or(
        &mut dockyard(&args),
        DEADLINE,
        "dockyard run never exited: was the child started, and did it exec?",
    );
    assert_eq!(out.code, Some(0), "dockyard run failed\n{}", out.describe());
    Report::parse(&out.stdout)
}

/// `probe report` started with the lab's `spawn` (not the CLI, to reach
/// every field of `config`): its report, read back from a file.
fn report_via_spawn(check: &Check, config: &Config) -> Report {
    let out = check.dir().join("out");
    fs::create_dir(&out).unwrap();
    // Open to every uid: the container may be any uid on the host.
    fs::set_permissions(check.dir(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).unwrap();
    let probe_copy = check.dir().join("probe");
    fs::copy(probe(), &probe_copy).unwrap();
    let file = out.join("report.json");
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(format!(
        "{} report > {}",
        probe_copy.display(),
        file.display()
    ));
    let status = check.within(DEADLINE, "spawn, start or wait did not return", || {
        let mut child = namespaces::spawn(&cmd, config).expect("spawn");
        child.start().expect("start");
        child.wait().expect("wait")
    });
    assert_eq!(status, process::ExitStatus::Exited(0), "the probe failed");
    Report::parse(&fs::read_to_string(&file).expect("the probe's report"))
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
    let none = Namespaces::NONE;
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

#[test]
fn t02_3_a_refused_ioctl_is_an_error() {
    require_root(LAB);
    let check = Check::new();
    // An unprivileged user in the host's network namespace may read lo's
    // flags but not set them: `up` must say EPERM, not pretend it worked.
    // (lo is up on the host already; nothing changes either way.)
    let user = random::int(20_000..=60_000);
    let mut cmd = StdCommand::new(probe());
    cmd.arg("true");
    // SAFETY: setgid, setuid and the lab's `up` only make system calls.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setgid(nix::unistd::Gid::from_raw(user))?;
            nix::unistd::setuid(nix::unistd::Uid::from_raw(user))?;
            match namespaces::loopback::up() {
                Err(Errno::EPERM) => Ok(()),
                Ok(()) => Err(std::io::Error::from_raw_os_error(libc::EBADE)),
                Err(errno) => Err(errno.into()),
            }
        });
    }
    let result = check.within(DEADLINE, "loopback::up() did not return", move || {
        cmd.spawn().and_then(|mut child| child.wait())
    });
    match result {
        Ok(status) => assert!(status.success(), "the probe failed: {status}"),
        Err(err) if err.raw_os_error() == Some(libc::EBADE) => panic!(
            "loopback::up() returned Ok where the kernel refused SIOCSIFFLAGS (EPERM): \
             an ioctl that returns -1 failed; return Errno::last()"
        ),
        Err(err) => panic!("expected EPERM from loopback::up() as an unprivileged user, got {err}"),
    }
}

// ---------------------------------------------------------------- 02.4

/// A child in a new user namespace, waiting (as the lab's child does on its
/// sync pipe) while `write_maps` writes its maps; what it then reads in
/// its `/proc/PID/{uid_map,gid_map,setgroups}`.
fn maps_written(uid: IdMap, gid: IdMap) -> (String, String, String) {
    let mut cmd = StdCommand::new(probe());
    cmd.args(["sleep", "5"]);
    // SAFETY: unshare only makes a system call.
    unsafe { cmd.pre_exec(|| Ok(nix::sched::unshare(CloneFlags::CLONE_NEWUSER)?)) };
    let mut child = cmd.spawn().expect("spawn a child in a new user namespace");
    let pid = Pid::from_raw(child.id() as i32);
    let result = namespaces::idmap::write_maps(pid, uid, gid);
    let read = |f: &str| fs::read_to_string(format!("/proc/{pid}/{f}")).unwrap_or_default();
    let squash = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let maps = (
        squash(read("uid_map")),
        squash(read("gid_map")),
        read("setgroups").trim().to_owned(),
    );
    let _ = child.kill();
    let _ = child.wait();
    if let Err(err) = result {
        panic!("write_maps failed: {err}");
    }
    maps
}

#[test]
fn t02_4_the_parent_writes_the_id_maps() {
    require_root(LAB);
    let _check = Check::new();
    let (uid, gid) = (random::int(1000..=60000), random::int(1000..=60000));
    let count = random::int(1..=1000);
    // The gid map has two ranges: root alone, then a block from 1.
    let block = random::int(100_000..=900_000);
    let gids = IdMap::new(vec![
        IdRange {
            inside: 0,
            outside: gid,
            count: 1,
        },
        IdRange {
            inside: 1,
            outside: block,
            count,
        },
    ])
    .unwrap();
    let (uid_map, gid_map, setgroups) = maps_written(IdMap::range(uid, count), gids);
    assert_eq!(uid_map, format!("0 {uid} {count}"), "uid_map");
    assert_eq!(
        gid_map,
        format!("0 {gid} 1 1 {block} {count}"),
        "gid_map: every range of the map (IdMap::lines), in one write"
    );
    assert_eq!(
        setgroups, "allow",
        "root on the host may map groups without denying setgroups: deny it only when \
         rootless, or su and package managers break inside the container"
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

/// Start `probe true` with the setup step `step` failing on purpose.
fn fail_at(step: &str, init: bool) {
    require_root(LAB);
    let check = Check::new();
    let mut cmd = Command::new(probe());
    cmd.arg("true");
    let config = Config {
        hostname: Some(random::hostname()),
        init,
        fail_at: Some(step.to_owned()),
        ..Config::default()
    };
    let result = check.within(DEADLINE, "spawn did not return after a failed step", || {
        namespaces::spawn(&cmd, &config).map(|_| ())
    });
    match result {
        Err(Error::Spawn(SpawnError::Setup {
            step: name,
            errno: Errno::ECANCELED,
        })) => assert_eq!(name, step, "the error names the step"),
        other => panic!("expected the step {step:?} to fail with ECANCELED, got {other:?}"),
    }
    // The leak guard (when `check` drops) asserts no process is left.
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
    let check = Check::new();
    let outside = random::int(100_000..=900_000);
    let count = random::int(1..=65536);
    let config = Config {
        namespaces: Namespaces {
            user: true,
            ..Namespaces::DEFAULT
        },
        uid_map: Some(IdMap::range(outside, count)),
        gid_map: Some(IdMap::range(outside + 1, count)),
        ..Config::default()
    };
    let report = report_via_spawn(&check, &config);
    assert_ne!(
        report.int("/namespaces/user") as u64,
        host_ns("user"),
        "a new user namespace"
    );
    assert_eq!(
        map_text(&report, "/uid_map"),
        format!("0 {outside} {count}"),
        "the maps the config asked for: write config.id_maps(), not a fixed map"
    );
    assert_eq!(
        map_text(&report, "/gid_map"),
        format!("0 {} {count}", outside + 1)
    );
    assert_eq!(report.int("/uid"), 0, "root inside");
}

#[test]
fn t02_5_ipc_and_cgroup_namespaces_are_in_effect() {
    require_root(LAB);
    let _check = Check::new();
    // A SysV segment of the host's, with a random key.
    let key = random::int(0x1000_0000..=0x7fff_fff0) as libc::key_t;
    // SAFETY: plain SysV IPC calls; the segment is removed below.
    let id = unsafe { libc::shmget(key, 4096, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
    assert!(id >= 0, "shmget: {}", Errno::last());
    let report = report(&[]);
    // SAFETY: as above.
    unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    let segments = report
        .at("/sysv_shm")
        .as_array()
        .expect("the probe lists SysV segments");
    assert!(
        !segments.iter().any(|s| s["key"] == json!(key)),
        "the container sees the host's SysV segment {key:#x}: it needs a new IPC namespace"
    );
    for entry in report
        .at("/cgroup/entries")
        .as_array()
        .expect("the probe lists /proc/self/cgroup")
    {
        assert_eq!(
            entry["path"], "/",
            "in a new cgroup namespace, the container's own cgroup is its root: {entry}"
        );
    }
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
    // The unprivileged user must be able to reach both programs, wherever this checkout
    // lives: copy them into the check's dir and open it to everyone.
    let dir: &Path = check.dir();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    let (dockyard_copy, probe_copy) = (dir.join("dockyard"), dir.join("probe"));
    fs::copy(env!("CARGO_BIN_EXE_dockyard-02"), &dockyard_copy).unwrap();
    fs::copy(probe(), &probe_copy).unwrap();
    // Drop to a random unprivileged uid for the whole run (not 65534, the
    // "overflow" id that unmapped ids also show as).
    let user = random::int(20_000..=60_000);
    let mut cmd = StdCommand::new(&dockyard_copy);
    cmd.args(["run", "--userns", "--hostname", &name, "--"])
        .arg(&probe_copy)
        .arg("report");
    cmd.uid(user).gid(user).current_dir("/");
    let out = kit::run_or(&mut cmd, DEADLINE, "a rootless dockyard run never exited");
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
        format!("0 {user} 1"),
        "…is the unprivileged user outside"
    );
    assert_eq!(
        report.str("/setgroups").trim(),
        "deny",
        "rootless, setgroups must be denied before gid_map is written"
    );
    assert_eq!(report.str("/hostname"), name);
}

// ---------------------------------------------------------------- 02.6

/// How the "app" of [`reap_in_a_child`] ends.
#[derive(Debug, Clone, Copy)]
enum AppEnd {
    Exits(i32),
    Killed(Signal),
}

/// In a child forked by std (so that `waitpid(-1)` reaps nothing of the
/// test harness): three children — the "app", which ends as `app_end`, an
/// orphan-like child that ends the other way (killed by a signal, or an
/// exit code), and one that stays alive. `reap` must
/// return the app's status at once, leave no zombie, and not wait for the
/// live one.
fn reap_in_a_child(app_end: AppEnd) {
    require_root(LAB);
    let check = Check::new();
    process::panic_report::install();
    let expected = match app_end {
        AppEnd::Exits(code) => process::ExitStatus::Exited(code),
        AppEnd::Killed(signal) => process::ExitStatus::Signaled(signal),
    };
    let mut cmd = StdCommand::new(probe());
    cmd.arg("true");
    // SAFETY: the closure forks and makes system calls only.
    unsafe {
        cmd.pre_exec(move || {
            // A panic (a todo!()) says one line on stderr and exits 125.
            process::panic_report::arm_stderr();
            let mut pids = [Pid::from_raw(0); 3];
            for (i, pid) in pids.iter_mut().enumerate() {
                match nix::unistd::fork()? {
                    nix::unistd::ForkResult::Child => match (i, app_end) {
                        (0, AppEnd::Exits(code)) => libc::_exit(code),
                        (0, AppEnd::Killed(signal)) => {
                            libc::kill(libc::getpid(), signal as i32);
                            libc::_exit(0)
                        }
                        // The other child ends the other way: an app's
                        // status must come from the app, not from any child.
                        (1, AppEnd::Exits(_)) => {
                            libc::kill(libc::getpid(), libc::SIGTERM);
                            libc::_exit(0)
                        }
                        (1, AppEnd::Killed(_)) => libc::_exit(3),
                        _ => {
                            libc::sleep(30); // alive while reap runs
                            libc::_exit(0)
                        }
                    },
                    nix::unistd::ForkResult::Parent { child } => *pid = child,
                }
            }
            std::thread::sleep(Duration::from_millis(100));
            // No allocation after fork (the test harness has threads):
            // failures are told by errno.
            let status = namespaces::init::reap(pids[0])?;
            let zombie = kill_and_count_zombies(pids[2]);
            if status != Some(expected) {
                return Err(std::io::Error::from_raw_os_error(libc::EBADE));
            }
            if zombie {
                return Err(std::io::Error::from_raw_os_error(libc::EBUSY));
            }
            Ok(())
        });
    }
    cmd.stdout(std::process::Stdio::null());
    cmd.stderr(std::process::Stdio::piped());
    // `spawn` returns once the pre_exec closure is done: reap must not block.
    let result = check.within(
        DEADLINE,
        "reap() did not return while a child was still running: call waitpid(-1) with \
         WNOHANG, and stop when it says a child is still alive (StillAlive) or none is left (ECHILD)",
        move || cmd.spawn().and_then(|child| child.wait_with_output()),
    );
    match result {
        Ok(out) => assert!(
            out.status.success(),
            "the child that called reap failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(err) if err.raw_os_error() == Some(libc::EBADE) => {
            panic!("reap did not return the app's status {expected:?}")
        }
        Err(err) if err.raw_os_error() == Some(libc::EBUSY) => {
            panic!("reap left an ended child unreaped: loop until waitpid says no more (WNOHANG)")
        }
        Err(err) => panic!("reap failed: {err}"),
    }
}

#[test]
fn t02_6_reap_collects_every_ended_child_without_blocking() {
    reap_in_a_child(AppEnd::Exits(random::int(1..=120) as i32));
}

#[test]
fn t02_6_reap_reports_an_app_killed_by_a_signal() {
    let signals = [Signal::SIGKILL, Signal::SIGTERM, Signal::SIGUSR1];
    reap_in_a_child(AppEnd::Killed(signals[random::int(0..=2) as usize]));
}

/// Kill and reap the live child `alive`; then whether any ended child was
/// left unreaped. (After fork: only system calls.)
fn kill_and_count_zombies(alive: Pid) -> bool {
    let _ = kill(alive, Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(alive, None);
    !matches!(
        nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)),
        Err(Errno::ECHILD)
    )
}

// ---------------------------------------------------------------- 02.7

/// What to look at when `dockyard run --init` never exits.
const INIT_HANGS: &str = "dockyard run --init never exited: does init block SIGCHLD, read it \
     from its signalfd, reap, and return the app's exit code once the app has ended?";

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
        let out = kit::run_or(&mut dockyard(&args), DEADLINE, INIT_HANGS);
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
    let out = kit::run_or(
        &mut dockyard(&["run", "--init", "--", probe, "exit", &code.to_string()]),
        DEADLINE,
        INIT_HANGS,
    );
    assert_eq!(out.code, Some(code as i32), "{}", out.describe());
    let out = kit::run_or(
        &mut dockyard(&["run", "--init", "--", "/bin/sh", "-c", "kill -KILL $$"]),
        DEADLINE,
        INIT_HANGS,
    );
    assert_eq!(
        out.code,
        Some(137),
        "the app was killed by SIGKILL: init must see it as the app's end (128 + 9)\n{}",
        out.describe()
    );
}

#[test]
fn t02_7_init_forwards_signals_to_the_app() {
    require_root(LAB);
    let _check = Check::new();
    let probe = probe().to_str().unwrap();
    let mut run = Running::start(&mut dockyard(&["run", "--init", "--", probe, "signals"]));
    let ready = run.next_json_or(DEADLINE, "the app under init never said it was ready");
    assert_eq!(ready["ready"], true);
    for (signal, name) in [(Signal::SIGUSR1, "SIGUSR1"), (Signal::SIGTERM, "SIGTERM")] {
        kill(Pid::from_raw(run.pid()), signal).expect("signal dockyard");
        let got = run.next_json_or(
            DEADLINE,
            "the app never got the signal: does init read its signalfd and kill(app, signal)?",
        );
        assert_eq!(got["signal"], name);
        assert_eq!(
            got["from_pid"], 1,
            "{name} should come from init, PID 1 in the container"
        );
    }
    let out = run.finish_or(DEADLINE, INIT_HANGS);
    assert_eq!(
        out.code,
        Some(0),
        "the app exited 0 after SIGTERM; so must init and dockyard"
    );
}
