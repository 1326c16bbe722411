//! The checks of lab 01. Each is named `t01_K_…` after the task it checks;
//! `cargo xtask check 01` runs them and shows which task to do next.

use std::ffi::CString;
use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::process::Command as StdCommand;
use std::thread;
use std::time::Duration;

use kit::{Check, DEADLINE, Running, insta, probe, random};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use process::exec_report::ChildFailure;
use process::{Command, ExitStatus, SpawnError, exec_report, spawn, sync_pipe, wait_pid};

const DOCKYARD: &str = env!("CARGO_BIN_EXE_dockyard-01");

fn strings(c: &[CString]) -> Vec<String> {
    c.iter().map(|s| s.to_string_lossy().into_owned()).collect()
}

// ---------------------------------------------------------------- 01.1

#[test]
fn t01_1_prepare_builds_argv_envp_and_path_candidates() {
    let name = random::token(8);
    let arg = random::token(6);
    let value = random::token(10);
    let mut cmd = Command::new(&name);
    cmd.args([&arg, "two words"])
        .env("PATH", "/one::/two/dir")
        .env("KEY", &value);
    let prepared = cmd.prepare().expect("prepare");
    assert_eq!(
        strings(prepared.argv()),
        [name.as_str(), &arg, "two words"],
        "argv[0] is the program as given"
    );
    assert_eq!(
        strings(prepared.envp()),
        ["PATH=/one::/two/dir".to_owned(), format!("KEY={value}")]
    );
    assert_eq!(
        strings(prepared.candidates()),
        [format!("/one/{name}"), format!("/two/dir/{name}")],
        "one candidate per non-empty PATH entry, in order"
    );
}

#[test]
fn t01_1_a_path_with_a_slash_is_not_searched() {
    let name = format!("./bin/{}", random::token(8));
    let prepared = Command::new(&name).prepare().expect("prepare");
    assert_eq!(strings(prepared.candidates()), [name]);

    let bare = random::token(8);
    let prepared = Command::new(&bare).prepare().expect("prepare");
    let expected: Vec<String> = process::DEFAULT_PATH
        .split(':')
        .map(|d| format!("{d}/{bare}"))
        .collect();
    assert_eq!(
        strings(prepared.candidates()),
        expected,
        "without PATH, Docker's default PATH is searched"
    );
}

#[test]
fn t01_1_bad_commands_are_refused() {
    assert!(matches!(
        Command::new("").prepare(),
        Err(SpawnError::NoCommand)
    ));
    let mut cmd = Command::new("echo");
    cmd.arg("a\0b");
    assert!(
        matches!(cmd.prepare(), Err(SpawnError::Nul { .. })),
        "a NUL byte cannot be passed to exec"
    );
}

// ---------------------------------------------------------------- 01.2

#[test]
fn t01_2_exit_codes_and_signals_map_like_a_shell() {
    let table: String = [
        ExitStatus::Exited(0),
        ExitStatus::Exited(3),
        ExitStatus::Exited(255),
        ExitStatus::Signaled(Signal::SIGINT),
        ExitStatus::Signaled(Signal::SIGKILL),
        ExitStatus::Signaled(Signal::SIGSEGV),
        ExitStatus::Signaled(Signal::SIGTERM),
    ]
    .iter()
    .map(|status| format!("{status:?} -> {}\n", status.code()))
    .collect();
    insta::assert_snapshot!(table);
}

#[test]
#[allow(clippy::zombie_processes)] // the lab's wait_pid reaps it: that is the check
fn t01_2_wait_pid_reaps_an_exit_code() {
    let _check = Check::new();
    let code = random::int(1..=120) as i32;
    let child = StdCommand::new(probe())
        .args(["exit", &code.to_string()])
        .spawn()
        .expect("spawn the probe");
    let status = wait_pid(Pid::from_raw(child.id() as i32)).expect("wait_pid");
    assert_eq!(status, ExitStatus::Exited(code));
    assert_eq!(status.code(), code);
}

#[test]
#[allow(clippy::zombie_processes)] // the lab's wait_pid reaps it: that is the check
fn t01_2_wait_pid_reports_a_death_by_signal() {
    let _check = Check::new();
    let child = StdCommand::new(probe())
        .args(["sleep", "30"])
        .spawn()
        .expect("spawn the probe");
    let pid = Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGKILL).expect("kill");
    let status = wait_pid(pid).expect("wait_pid");
    assert_eq!(status, ExitStatus::Signaled(Signal::SIGKILL));
    assert_eq!(status.code(), 137, "128 + 9");
}

// ---------------------------------------------------------------- 01.3

#[test]
fn t01_3_the_child_side_blocks_until_released() {
    let (wait, release) = sync_pipe::channel().expect("channel");
    let waiter = thread::spawn(move || wait.wait());
    thread::sleep(Duration::from_millis(150));
    assert!(!waiter.is_finished(), "wait() returned before release()");
    release.release().expect("release");
    assert_eq!(waiter.join().expect("waiter"), Ok(()));
}

#[test]
fn t01_3_a_parent_that_gives_up_ends_the_wait() {
    let (wait, release) = sync_pipe::channel().expect("channel");
    drop(release);
    assert!(
        wait.wait().is_err(),
        "end-of-file means the parent gave up: wait() must fail, not succeed"
    );
}

// ---------------------------------------------------------------- 01.4

#[test]
fn t01_4_a_failure_reaches_the_parent() {
    let errno =
        [Errno::ENOENT, Errno::EACCES, Errno::ENOEXEC, Errno::E2BIG][random::int(0..=3) as usize];
    let step = random::int(0..=20);
    let (writer, reader) = exec_report::channel().expect("channel");
    writer.send(step, errno);
    drop(writer);
    assert_eq!(
        reader.outcome(),
        Err(ChildFailure {
            step,
            errno,
            message: String::new()
        })
    );
}

#[test]
fn t01_4_a_panic_message_reaches_the_parent() {
    let message = format!("not yet implemented: {}", random::token(10));
    let (writer, reader) = exec_report::channel().expect("channel");
    writer.send_panic(&message);
    drop(writer);
    let failure = reader.outcome().expect_err("a panic is a failure");
    assert_eq!(
        (failure.step, failure.message),
        (exec_report::STEP_PANIC, message)
    );
}

#[test]
fn t01_4_silence_means_exec_happened() {
    let (writer, reader) = exec_report::channel().expect("channel");
    for fd in [writer.as_fd(), reader.as_fd()] {
        let flags = FdFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFD).expect("F_GETFD"));
        assert!(
            flags.contains(FdFlag::FD_CLOEXEC),
            "the report pipe must be close-on-exec"
        );
    }
    drop(writer);
    assert_eq!(reader.outcome(), Ok(()));
}

// ---------------------------------------------------------------- 01.5

/// Run `cmd` through the lab's `child::exec`, inside a child that std forks.
fn exec_via_std(cmd: &Command, check: &Check) -> Result<kit::Output, i32> {
    let prepared = cmd.prepare().expect("prepare");
    let mut std_cmd = StdCommand::new("/nonexistent/never-run");
    std_cmd.current_dir(check.dir());
    // SAFETY: the closure only calls the lab's exec, which must itself be
    // async-signal-safe (it is the point of the task).
    unsafe {
        std_cmd.pre_exec(move || {
            Err(std::io::Error::from_raw_os_error(
                process::child::exec(&prepared) as i32,
            ))
        });
    }
    match std_cmd.stdout(std::process::Stdio::piped()).spawn() {
        Ok(child) => {
            let out = child.wait_with_output().expect("wait");
            Ok(kit::Output {
                code: out.status.code(),
                signal: None,
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::new(),
            })
        }
        Err(err) => Err(err.raw_os_error().unwrap_or(0)),
    }
}

#[test]
fn t01_5_exec_searches_path_and_passes_args_and_env() {
    let check = Check::new();
    let bin = check.dir().join("bin");
    fs::create_dir(&bin).unwrap();
    symlink(probe(), bin.join("probe")).unwrap();
    let value = random::token(12);
    let path = format!("{}/empty:{}", check.dir().display(), bin.display());
    let mut cmd = Command::new("probe");
    cmd.arg("report").env("PATH", &path).env("DY_VALUE", &value);
    let out = exec_via_std(&cmd, &check).expect("exec failed");
    let report = kit::Report::parse(&out.stdout);
    assert_eq!(report.at("/argv"), &serde_json::json!(["probe", "report"]));
    assert_eq!(
        report.at("/env"),
        &serde_json::json!({"PATH": path, "DY_VALUE": value}),
        "the program sees exactly the command's environment"
    );
}

#[test]
fn t01_5_exec_reports_missing_and_not_executable() {
    let check = Check::new();
    let missing = check.dir().join(random::token(8));
    assert_eq!(
        exec_via_std(&Command::new(&missing), &check).err(),
        Some(libc::ENOENT),
        "a missing file"
    );

    let text = check.dir().join(random::token(8));
    fs::write(&text, "not a program").unwrap();
    assert_eq!(
        exec_via_std(&Command::new(&text), &check).err(),
        Some(libc::EACCES),
        "a file without x bit"
    );
}

#[test]
fn t01_5_a_denied_candidate_does_not_stop_the_search() {
    let check = Check::new();
    let (first, second) = (check.dir().join("first"), check.dir().join("second"));
    fs::create_dir(&first).unwrap();
    fs::create_dir(&second).unwrap();
    let name = random::token(8);
    fs::write(first.join(&name), "not a program").unwrap();
    symlink(probe(), second.join(&name)).unwrap();
    let mut cmd = Command::new(&name);
    cmd.arg("true")
        .env("PATH", format!("{}:{}", first.display(), second.display()));
    let out = exec_via_std(&cmd, &check).expect("the second candidate should run");
    assert_eq!(out.code, Some(0));

    let mut cmd = Command::new(&name);
    cmd.env(
        "PATH",
        format!(
            "{}:{}",
            first.display(),
            check.dir().join("nothing").display()
        ),
    );
    assert_eq!(
        exec_via_std(&cmd, &check).err(),
        Some(libc::EACCES),
        "EACCES beats a later ENOENT"
    );
}

// ---------------------------------------------------------------- 01.6

#[test]
fn t01_6_the_program_runs_only_after_start() {
    let check = Check::new();
    let marker = check.dir().join("marker");
    let text = random::token(16);
    let mut cmd = Command::new(probe());
    cmd.arg("write").arg(&marker).arg(&text);
    let mut child = spawn(&cmd).expect("spawn");
    thread::sleep(Duration::from_millis(200));
    assert!(
        !marker.exists(),
        "the child ran before start(): it must wait on the sync pipe"
    );
    child.start().expect("start");
    assert_eq!(child.wait().expect("wait"), ExitStatus::Exited(0));
    assert_eq!(fs::read_to_string(&marker).unwrap(), text);
}

#[test]
fn t01_6_the_exit_code_reaches_the_parent() {
    let _check = Check::new();
    let code = random::int(1..=120) as i32;
    let mut cmd = Command::new(probe());
    cmd.args(["exit", &code.to_string()]);
    let mut child = spawn(&cmd).expect("spawn");
    child.start().expect("start");
    assert_eq!(child.wait().expect("wait"), ExitStatus::Exited(code));
}

#[test]
fn t01_6_an_exec_error_comes_back_from_start() {
    let check = Check::new();
    let missing = check.dir().join(random::token(8));
    let mut child = spawn(&Command::new(&missing)).expect("spawn");
    match child.start() {
        Err(SpawnError::Exec { program, errno }) => {
            assert_eq!(program, missing.display().to_string());
            assert_eq!(errno, Errno::ENOENT);
        }
        other => panic!("expected an exec error from start(), got {other:?}"),
    }
    // The leak guard (when `check` drops) asserts the failed child was reaped.
}

#[test]
fn t01_6_an_unstarted_child_is_cleaned_up() {
    let check = Check::new();
    let marker = check.dir().join("marker");
    let mut cmd = Command::new(probe());
    cmd.arg("write").arg(&marker).arg("x");
    let child = spawn(&cmd).expect("spawn");
    drop(child);
    thread::sleep(Duration::from_millis(50));
    assert!(
        !marker.exists(),
        "a child that was never started must not run"
    );
}

// ---------------------------------------------------------------- 01.7

fn dockyard(args: &[&str]) -> std::process::Command {
    let mut cmd = StdCommand::new(DOCKYARD);
    cmd.args(args);
    cmd
}

#[test]
fn t01_7_sigint_and_sigterm_are_forwarded() {
    let _check = Check::new();
    let probe = probe().to_str().unwrap();
    let mut run = Running::start(&mut dockyard(&["run", "--", probe, "signals"]));
    assert_eq!(run.next_json(DEADLINE)["ready"], true);
    let parent = Pid::from_raw(run.pid());
    for (signal, name) in [(Signal::SIGINT, "SIGINT"), (Signal::SIGTERM, "SIGTERM")] {
        kill(parent, signal).expect("kill");
        let got = run.next_json(DEADLINE);
        assert_eq!(got["signal"], name, "the container should receive {name}");
        assert_eq!(
            got["from_pid"],
            parent.as_raw(),
            "{name} should come from dockyard, which forwarded it"
        );
    }
    let out = run.finish(DEADLINE);
    assert_eq!(
        out.code,
        Some(0),
        "the probe exits 0 after SIGTERM, and so must dockyard"
    );
}

#[test]
fn t01_7_dockyard_exits_with_the_container_code() {
    let _check = Check::new();
    let code = random::int(1..=120);
    let probe = probe().to_str().unwrap();
    let out = kit::run(
        &mut dockyard(&["run", "--", probe, "exit", &code.to_string()]),
        DEADLINE,
    );
    assert_eq!(out.code, Some(code as i32), "{}", out.describe());
    let out = kit::run(
        &mut dockyard(&["run", "--", "/bin/sh", "-c", "kill -KILL $$"]),
        DEADLINE,
    );
    assert_eq!(
        out.code,
        Some(137),
        "killed by SIGKILL: 128 + 9\n{}",
        out.describe()
    );
}

#[test]
fn t01_7_the_program_starts_with_no_signal_blocked_or_ignored() {
    let _check = Check::new();
    // `cat` is a C program: it shows what it inherited. (The probe, a Rust
    // program, ignores SIGPIPE itself, as every Rust program does.)
    let out = kit::run(
        &mut dockyard(&["run", "--", "cat", "/proc/self/status"]),
        DEADLINE,
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let field = |name: &str| {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(name))
            .expect(name);
        u64::from_str_radix(line[name.len()..].trim(), 16).unwrap()
    };
    assert_eq!(
        field("SigBlk:"),
        0,
        "the signals dockyard blocks to forward them must be unblocked before exec"
    );
    assert_eq!(
        field("SigIgn:") & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE must not stay ignored"
    );
}

// ---------------------------------------------------------------- 01.8

#[test]
fn t01_8_docker_exit_codes_for_a_container_that_never_ran() {
    let check = Check::new();
    let dir = check.dir().display().to_string();
    let token = random::token(8);
    let missing = check.dir().join(format!("missing-{token}"));
    let text = check.dir().join(format!("text-{token}"));
    fs::write(&text, "not a program").unwrap();
    fs::set_permissions(&text, fs::Permissions::from_mode(0o644)).unwrap();
    let mut lines = String::new();
    for args in [
        vec!["run"],
        vec!["run", "--", missing.to_str().unwrap()],
        vec!["run", "--", text.to_str().unwrap()],
        vec!["run", "--", &format!("no-such-program-{token}")],
    ] {
        let out = kit::run(&mut dockyard(&args), DEADLINE);
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "expected a one-line error\n{}",
            out.describe()
        );
        let volatile = [(dir.as_str(), "[dir]"), (token.as_str(), "[token]")];
        let shown = kit::redact::redact_text(&args.join(" "), &volatile);
        let said = kit::redact::redact_text(out.stderr.trim(), &volatile);
        lines += &format!(
            "$ dockyard {shown}\n{said}\nexit code {}\n\n",
            out.code.unwrap_or(-1)
        );
    }
    insta::assert_snapshot!(lines);
}

#[test]
fn t01_8_exit_codes_follow_docker() {
    use process::cli::exit_code;
    let exec = |errno| SpawnError::Exec {
        program: "x".into(),
        errno,
    };
    assert_eq!(exit_code(&exec(Errno::ENOENT)), 127);
    assert_eq!(exit_code(&exec(Errno::EACCES)), 126);
    assert_eq!(exit_code(&exec(Errno::ENOEXEC)), 126);
    assert_eq!(exit_code(&SpawnError::NoCommand), 125);
    assert_eq!(
        exit_code(&SpawnError::Setup {
            step: "set the hostname",
            errno: Errno::EPERM
        }),
        125
    );
    assert_eq!(
        exit_code(&SpawnError::Sys {
            what: "fork",
            errno: Errno::EAGAIN
        }),
        125
    );
}
