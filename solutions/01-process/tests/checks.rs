//! The checks of lab 01. Each is named `t01_K_…` after the task it checks;
//! `cargo xtask check 01` runs them and shows which task to do next.

use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::process::Command as StdCommand;
use std::thread;
use std::time::Duration;

use kit::{Check, DEADLINE, Running, insta, probe, random};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use process::child::ChildSide;
use process::exec_report::{ChildFailure, Report};
use process::gate::Gate;
use process::{Child, Command, ExitStatus, SpawnError, exec_report, spawn, sync_pipe, wait_pid};

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
    let done = wait_for(
        &waiter,
        "SyncWait::wait() did not return after release(): does it read the byte?",
    );
    assert!(done, "SyncWait::wait() did not return after release()");
    assert_eq!(waiter.join().expect("waiter"), Ok(()));
}

#[test]
fn t01_3_a_parent_that_gives_up_ends_the_wait() {
    let (wait, release) = sync_pipe::channel().expect("channel");
    drop(release);
    let waiter = thread::spawn(move || wait.wait());
    wait_for(
        &waiter,
        "SyncWait::wait() still blocks after the parent closed its end: a read of 0 bytes is end-of-file",
    );
    assert!(
        waiter.join().expect("waiter").is_err(),
        "end-of-file means the parent gave up: wait() must fail, not succeed"
    );
}

/// Wait up to the kit's deadline for `thread` to finish; fail with `hint`.
#[track_caller]
fn wait_for<T>(thread: &thread::JoinHandle<T>, hint: &str) -> bool {
    let deadline = std::time::Instant::now() + DEADLINE;
    while !thread.is_finished() {
        assert!(std::time::Instant::now() < deadline, "{hint}");
        thread::sleep(Duration::from_millis(5));
    }
    true
}

#[test]
fn t01_3_the_gate_holds_the_child_until_someone_opens_it() {
    let check = Check::new();
    let gate = Gate::create(check.dir()).expect("make the gate");
    let waiter = gate.waiter().expect("waiter");
    let held = thread::spawn(move || waiter.wait());
    thread::sleep(Duration::from_millis(150));
    assert!(
        !held.is_finished(),
        "GateWait::wait() returned before anyone opened the FIFO: open it for writing, \
         without O_NONBLOCK, so that open(2) waits for a reader"
    );
    // Any process may start it: here, a plain read of the FIFO's path (on
    // a thread: it blocks until the writer opens, and reads until it closes).
    let path = gate.path();
    let reader = thread::spawn(move || {
        let mut fifo = fs::File::open(path).expect("open the FIFO for reading");
        let mut byte = Vec::new();
        fifo.read_to_end(&mut byte).expect("read the FIFO");
        byte
    });
    wait_for(
        &reader,
        "the FIFO's reader never saw the end: does GateWait::wait open the FIFO for \
         writing, write its byte, and close it (drop the fd) before it returns?",
    );
    let byte = reader.join().expect("the reader");
    wait_for(
        &held,
        "GateWait::wait() did not return once the FIFO was opened",
    );
    assert_eq!(held.join().expect("waiter"), Ok(()));
    assert_eq!(
        byte.len(),
        1,
        "the container writes exactly one byte into the FIFO, so that `start` knows it passed"
    );
}

// ---------------------------------------------------------------- 01.4

#[test]
fn t01_4_a_failure_reaches_the_parent() {
    let errno =
        [Errno::ENOENT, Errno::EACCES, Errno::ENOEXEC, Errno::E2BIG][random::int(0..=3) as usize];
    let step = random::int(0..=20);
    let (writer, mut reader) = exec_report::channel().expect("channel");
    writer.send(step, errno);
    drop(writer);
    assert_eq!(
        reader.next(),
        Ok(Report::Failed(ChildFailure {
            step,
            errno,
            message: String::new()
        })),
        "one record: the step, then the errno"
    );
    assert_eq!(
        reader.next(),
        Ok(Report::Closed),
        "after the last record, end-of-file"
    );
}

#[test]
fn t01_4_created_then_silence_means_exec_happened() {
    let (writer, mut reader) = exec_report::channel().expect("channel");
    writer.send_created();
    drop(writer); // what exec does to the write end
    assert_eq!(reader.next(), Ok(Report::Created));
    assert_eq!(
        reader.next(),
        Ok(Report::Closed),
        "end-of-file (a read of 0 bytes) means every copy of the write end is closed: exec worked"
    );
}

#[test]
fn t01_4_records_are_read_one_at_a_time() {
    let (writer, mut reader) = exec_report::channel().expect("channel");
    let step = random::int(1..=30);
    writer.send_created();
    writer.send(step, Errno::EPERM);
    drop(writer);
    assert_eq!(
        reader.next(),
        Ok(Report::Created),
        "read exactly 8 bytes per record, not everything at once"
    );
    assert!(
        matches!(reader.next(), Ok(Report::Failed(f)) if f.step == step && f.errno == Errno::EPERM),
        "the second record was lost"
    );
}

#[test]
fn t01_4_a_panic_message_reaches_the_parent() {
    let message = format!("not yet implemented: {}", random::token(10));
    let (writer, mut reader) = exec_report::channel().expect("channel");
    writer.send_created();
    writer.send_panic(&message);
    drop(writer);
    assert_eq!(reader.next(), Ok(Report::Created));
    match reader.next() {
        Ok(Report::Failed(failure)) => assert_eq!(
            (failure.step, failure.message),
            (exec_report::STEP_PANIC, message)
        ),
        other => panic!("expected the panic record, got {other:?}"),
    }
}

#[test]
fn t01_4_a_truncated_record_is_an_error() {
    let (writer, mut reader) = exec_report::channel().expect("channel");
    nix::unistd::write(&writer, &[1, 2, 3]).expect("write 3 bytes");
    drop(writer);
    assert_eq!(
        reader.next(),
        Err(Errno::EIO),
        "3 bytes then end-of-file: the child died mid-record; say so (EIO) rather than guess"
    );
}

// ---------------------------------------------------------------- 01.5

/// Run `cmd` through the lab's `child::exec_program`, inside a child that
/// std forks; `before` runs first in that child (to leave it a mess to
/// clean up). Returns what the program printed, or the exec report.
fn exec_via_std(
    cmd: &Command,
    check: &Check,
    before: fn() -> std::io::Result<()>,
) -> Result<kit::Output, Report> {
    let prepared = cmd.prepare().expect("prepare");
    let (report_writer, mut report_reader) = exec_report::channel().expect("report pipe");
    let (sync, _release) = sync_pipe::channel().expect("sync pipe");
    let gate = Gate::temporary().expect("gate");
    let gate_wait = gate.waiter().expect("gate waiter");
    let mut std_cmd = StdCommand::new("/nonexistent/never-run");
    std_cmd.current_dir(check.dir());
    // SAFETY: the closure calls `before` (plain system calls) and the lab's
    // exec_program, which must itself be async-signal-safe (that is the task).
    unsafe {
        std_cmd.pre_exec(move || {
            before()?;
            let side = ChildSide {
                prepared: &prepared,
                sync: &sync,
                report: &report_writer,
                gate: &gate_wait,
                attached: false,
            };
            let code = process::child::exec_program(side);
            process::child::exit(code)
        });
    }
    std_cmd.stdin(std::process::Stdio::null());
    std_cmd.stdout(std::process::Stdio::piped());
    std_cmd.stderr(std::process::Stdio::piped());
    let child = std_cmd.spawn().expect("fork");
    // The pre_exec closure holds our copy of the report pipe's write end:
    // drop it, or end-of-file never comes.
    drop(std_cmd);
    let out = kit::run::wait(child, "the program exec_program runs", DEADLINE);
    match report_reader.next() {
        Ok(Report::Closed) => Ok(out),
        Ok(report) => Err(report),
        Err(errno) => panic!("reading the report pipe: {errno}"),
    }
}

fn nothing() -> std::io::Result<()> {
    Ok(())
}

fn exec_errno(result: Result<kit::Output, Report>) -> Option<Errno> {
    match result {
        Err(Report::Failed(f)) if f.step == exec_report::STEP_EXEC => Some(f.errno),
        Err(other) => panic!("expected an exec failure report, got {other:?}"),
        Ok(out) => panic!(
            "expected exec to fail, but a program ran:\n{}",
            out.describe()
        ),
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
    let out = exec_via_std(&cmd, &check, nothing).expect("exec failed");
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
        exec_errno(exec_via_std(&Command::new(&missing), &check, nothing)),
        Some(Errno::ENOENT),
        "a missing file"
    );

    let text = check.dir().join(random::token(8));
    fs::write(&text, "not a program").unwrap();
    assert_eq!(
        exec_errno(exec_via_std(&Command::new(&text), &check, nothing)),
        Some(Errno::EACCES),
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
    let out = exec_via_std(&cmd, &check, nothing).expect("the second candidate should run");
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
        exec_errno(exec_via_std(&cmd, &check, nothing)),
        Some(Errno::EACCES),
        "EACCES beats a later ENOENT"
    );
}

/// Leave the child a mess, as a careless caller would: signals blocked,
/// SIGPIPE ignored, and fds open without close-on-exec — one of them a
/// directory fd of the host's `/`.
fn a_messy_caller() -> std::io::Result<()> {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    nix::sys::signal::pthread_sigmask(nix::sys::signal::SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    // SAFETY: ignoring a signal installs no handler; open/dup are plain calls.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        let root = libc::open(c"/".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
        libc::dup2(root, 9);
        libc::dup2(root, 200);
    }
    Ok(())
}

#[test]
fn t01_5_the_program_starts_with_no_signal_blocked_or_ignored() {
    let check = Check::new();
    // `cat` is a C program: it shows what it inherited. (The probe, a Rust
    // program, ignores SIGPIPE itself, as every Rust program does.)
    let mut cmd = Command::new("cat");
    cmd.arg("/proc/self/status")
        .env("PATH", process::DEFAULT_PATH);
    let out = exec_via_std(&cmd, &check, a_messy_caller).expect("exec cat");
    let field = |name: &str| {
        let line = out.stdout.lines().find(|l| l.starts_with(name));
        let line = line.unwrap_or_else(|| panic!("no {name} in:\n{}", out.stdout));
        u64::from_str_radix(line[name.len()..].trim(), 16).expect("a hex mask")
    };
    assert_eq!(
        field("SigBlk:"),
        0,
        "the signal mask survives exec: unblock every signal before exec"
    );
    assert_eq!(
        field("SigIgn:") & (1 << (libc::SIGPIPE - 1)),
        0,
        "an ignored signal stays ignored after exec: set SIGPIPE back to its default"
    );
}

#[test]
fn t01_5_the_program_gets_only_fds_0_1_2() {
    let check = Check::new();
    let mut cmd = Command::new(probe());
    cmd.arg("report");
    let out = exec_via_std(&cmd, &check, a_messy_caller).expect("exec the probe");
    let report = kit::Report::parse(&out.stdout);
    let fds: Vec<i64> = report
        .at("/fds")
        .as_array()
        .expect("the probe reports its fds")
        .iter()
        .map(|fd| fd["fd"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(
        fds,
        [0, 1, 2],
        "the caller left fds 9 and 200 open (a directory fd of the host's /): the container \
         must hold only 0, 1 and 2 — mark every fd from 3 up close-on-exec before exec"
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
    let status = check.within(DEADLINE, "spawn, start or wait did not return", || {
        let mut child = spawn(&cmd).expect("spawn");
        thread::sleep(Duration::from_millis(200));
        assert!(
            !marker.exists(),
            "the child ran before start(): it must wait at its gate"
        );
        child.start().expect("start");
        child.wait().expect("wait")
    });
    assert_eq!(status, ExitStatus::Exited(0));
    let written = fs::read_to_string(&marker).unwrap_or_else(|e| format!("(no file: {e})"));
    assert_eq!(
        written, text,
        "the program should have written the random text once started"
    );
}

#[test]
fn t01_6_the_exit_code_reaches_the_parent() {
    let check = Check::new();
    let code = random::int(1..=120) as i32;
    let mut cmd = Command::new(probe());
    cmd.args(["exit", &code.to_string()]);
    let status = check.within(DEADLINE, "spawn, start or wait did not return", || {
        let mut child = spawn(&cmd).expect("spawn");
        child.start().expect("start");
        child.wait().expect("wait")
    });
    assert_eq!(status, ExitStatus::Exited(code));
}

#[test]
fn t01_6_an_exec_error_comes_back_from_start() {
    let check = Check::new();
    let missing = check.dir().join(random::token(8));
    let result = check.within(DEADLINE, "spawn or start did not return", || {
        let mut child = spawn(&Command::new(&missing)).expect("spawn");
        child.start()
    });
    match result {
        Err(SpawnError::Exec { program, errno }) => {
            assert_eq!(program, missing.display().to_string());
            assert_eq!(errno, Errno::ENOENT);
        }
        other => panic!("expected an exec error from start(), got {other:?}"),
    }
    // The leak guard (when `check` drops) asserts the failed child was reaped.
}

/// A detached child's gate stays when its `Child` goes: the check removes
/// the gate's directory itself, even when it fails half-way.
struct RemovedAtEnd(std::path::PathBuf);

impl Drop for RemovedAtEnd {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn t01_6_another_process_can_start_a_detached_child() {
    let check = Check::new();
    let marker = check.dir().join("marker");
    let text = random::token(16);
    let mut cmd = Command::new(probe());
    cmd.arg("write").arg(&marker).arg(&text);
    let status = check.within(DEADLINE, "the detached child never ran", || {
        let child = spawn(&cmd).expect("spawn");
        let gate = child.gate();
        let _gone = RemovedAtEnd(gate.parent().expect("the gate's dir").to_path_buf());
        let pid = child.detach();
        thread::sleep(Duration::from_millis(100));
        assert!(!marker.exists(), "a detached child runs only once started");
        // `start` from another process: as `cat exec.fifo` starts a runc container.
        let out = kit::run(StdCommand::new("cat").arg(&gate), DEADLINE);
        assert_eq!(
            out.stdout.len(),
            1,
            "the child writes one byte into its gate"
        );
        wait_pid(pid).expect("wait")
    });
    assert_eq!(status, ExitStatus::Exited(0));
    let written = fs::read_to_string(&marker).unwrap_or_else(|e| format!("(no file: {e})"));
    assert_eq!(
        written, text,
        "the program should have written the random text once started"
    );
}

#[test]
fn t01_6_a_child_found_again_by_pid_can_be_started() {
    let check = Check::new();
    let code = random::int(1..=120) as i32;
    let mut cmd = Command::new(probe());
    cmd.args(["exit", &code.to_string()]);
    let status = check.within(DEADLINE, "the child found again never ran", || {
        let child = spawn(&cmd).expect("spawn");
        let gate = child.gate();
        let dir = gate.parent().expect("the gate's dir").to_path_buf();
        let _gone = RemovedAtEnd(dir.clone());
        let pid = child.detach();
        let mut found = Child::found(pid, &dir).expect("find the child by pid");
        found.start().expect("start the found child");
        wait_pid(pid).expect("wait")
    });
    assert_eq!(status, ExitStatus::Exited(code));
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
    let cases = [
        (exec(Errno::ENOENT), 127, "exec: no such file"),
        (
            exec(Errno::ENOTDIR),
            127,
            "exec: a path through a non-directory",
        ),
        (exec(Errno::EACCES), 126, "exec: permission denied"),
        (exec(Errno::ENOEXEC), 126, "exec: not an executable format"),
        (SpawnError::NoCommand, 125, "no command"),
        (
            SpawnError::Setup {
                step: "set the hostname",
                errno: Errno::EPERM,
            },
            125,
            "a setup step failed",
        ),
        (
            SpawnError::Sys {
                what: "fork",
                errno: Errno::EAGAIN,
            },
            125,
            "fork failed (an engine error)",
        ),
    ];
    for (error, expected, what) in cases {
        assert_eq!(
            exit_code(&error),
            expected,
            "{what} ({error}) should exit {expected}"
        );
    }
}
