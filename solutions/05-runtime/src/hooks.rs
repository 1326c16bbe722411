//! config.json's `hooks`: programs the runtime runs at fixed points of a
//! container's life, each given the container's state as JSON on stdin.
//!
//! The runtime spec (config.md, "POSIX-platform Hooks", and runtime.md,
//! "Lifecycle") names six points; this runtime runs them here:
//!
//! | hook              | when                                   | where (namespaces) | a failure            |
//! |-------------------|----------------------------------------|--------------------|----------------------|
//! | `prestart`        | `create`, namespaces made, before `pivot_root` | the runtime's | aborts create |
//! | `createRuntime`   | right after the prestart hooks         | the runtime's      | aborts create        |
//! | `createContainer` | right after the createRuntime hooks    | the container's    | aborts create        |
//! | `startContainer`  | `start`, before the program is exec'd  | the container's    | the container is killed, start fails |
//! | `poststart`       | `start`, after the program was released | the runtime's     | a warning            |
//! | `poststop`        | `delete`, after the container is gone  | the runtime's      | a warning            |
//!
//! The first three run in `create`'s *parent part* (lab 02's
//! `spawn_with`): the child exists in its new namespaces, has its id maps
//! and its cgroup, and still waits on the sync pipe — so its network
//! namespace is there for a hook to configure (`/proc/PID/ns/net`, the
//! classic use), and `pivot_root` has not happened. runc runs them a little
//! later, after the child's mounts; here the child's mounts are not made
//! yet when they run. `prestart` is deprecated by the spec in favour of
//! `createRuntime`, and run just before it, as runc does.
//!
//! "The container's namespaces" are entered by a helper between fork and
//! exec (`setns` on `/proc/PID/ns/*`, the user namespace first so the
//! others are allowed), so a hook's `path` resolves in the container's
//! mount namespace — for `createContainer` that is still a copy of the
//! runtime's (the spec: its path resolves in the runtime namespace), and
//! one whose mounts are not private yet: a mount a createContainer hook
//! makes there propagates to the host's peers. For `startContainer` it is
//! the container's root.
//!
//! Each hook: `path` is exec'd with `args` as its whole argv (`args[0]` is
//! argv[0], not an argument) and `env` as its whole environment; the state
//! is written to its stdin, which is then closed. It runs in a process
//! group of its own, so a hook past its `timeout` (seconds) is killed with
//! everything it started.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks};

use crate::error::Error;
use crate::state::{State, Status};

/// The file in the container's directory that keeps its hooks for
/// `start` and `delete` (the bundle may be gone by then).
pub const HOOKS_FILE: &str = "hooks.json";

/// The six points, with the spec's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Point {
    /// The spec's name (config.json's key).
    pub fn name(self) -> &'static str {
        match self {
            Point::Prestart => "prestart",
            Point::CreateRuntime => "createRuntime",
            Point::CreateContainer => "createContainer",
            Point::StartContainer => "startContainer",
            Point::Poststart => "poststart",
            Point::Poststop => "poststop",
        }
    }

    /// The hooks of this point in config.json's order.
    pub fn of(self, hooks: &Hooks) -> &[Hook] {
        let list = match self {
            Point::Prestart => hooks.prestart(),
            Point::CreateRuntime => hooks.create_runtime(),
            Point::CreateContainer => hooks.create_container(),
            Point::StartContainer => hooks.start_container(),
            Point::Poststart => hooks.poststart(),
            Point::Poststop => hooks.poststop(),
        };
        list.as_deref().unwrap_or_default()
    }

    /// Whether its hooks run in the container's namespaces.
    pub fn in_container(self) -> bool {
        matches!(self, Point::CreateContainer | Point::StartContainer)
    }
}

/// Save the hooks in the container's directory (nothing if there are none).
pub fn save(dir: &Path, hooks: &Option<Hooks>) -> Result<(), Error> {
    let Some(hooks) = hooks else { return Ok(()) };
    let path = dir.join(HOOKS_FILE);
    let text = serde_json::to_vec(hooks).expect("hooks serialize");
    std::fs::write(&path, text).map_err(Error::io("write", &path))
}

/// The hooks `create` saved for container directory `dir` (none if it saved none).
pub fn load(dir: &Path) -> Result<Hooks, Error> {
    let path = dir.join(HOOKS_FILE);
    match std::fs::read(&path) {
        Ok(text) => serde_json::from_slice(&text).map_err(|err| Error::CorruptState {
            path,
            reason: err.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Hooks::default()),
        Err(e) => Err(Error::io("read", &path)(e)),
    }
}

/// The state a hook reads on stdin: the spec's fields, with the pid
/// whenever the process exists (the spec requires it only for created
/// and running; a prestart hook needs it to find the namespaces).
pub fn state_json(state: &State, status: Status, pid: Option<i32>) -> Vec<u8> {
    let mut value = state.public(status);
    if let Some(pid) = pid {
        value["pid"] = pid.into();
    }
    serde_json::to_vec(&value).expect("json")
}

/// Run the hooks of `point` in order; the first that fails stops the rest
/// and is the error. `pid` is the container's process, whose namespaces
/// the container's hooks enter.
pub fn run(point: Point, hooks: &Hooks, state: &[u8], pid: Option<i32>) -> Result<(), Error> {
    become_subreaper(point.of(hooks));
    for hook in point.of(hooks) {
        let enter = match (point.in_container(), pid) {
            (true, Some(pid)) => Namespaces::of(pid)?,
            _ => Namespaces::default(),
        };
        run_hook(hook, state, &enter).map_err(|reason| Error::Hook {
            point: point.name(),
            path: hook.path().clone(),
            reason,
        })?;
    }
    Ok(())
}

/// Run the hooks of `point` whose failure is only a warning (poststart,
/// poststop): every hook runs; each failure is one warning.
pub fn run_warning(point: Point, hooks: &Hooks, state: &[u8]) -> Vec<String> {
    become_subreaper(point.of(hooks));
    let mut warnings = Vec::new();
    for hook in point.of(hooks) {
        if let Err(reason) = run_hook(hook, state, &Namespaces::default()) {
            warnings.push(format!(
                "the {} hook {} failed (going on, as the spec says): {reason}",
                point.name(),
                hook.path().display()
            ));
        }
    }
    warnings
}

/// A hook killed past its timeout takes its group along; the group's
/// other processes (a shell script's `sleep`) are orphaned at that moment
/// and go to the nearest subreaper. Being one, the runtime reaps them
/// itself instead of leaving zombies to whoever started it.
fn become_subreaper(hooks: &[Hook]) {
    if !hooks.is_empty() {
        // SAFETY: prctl with plain integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    }
}

/// The namespaces of a process a hook enters, opened beforehand (the
/// helper between fork and exec may only make system calls). Those the
/// runtime shares with the container are left out: `setns` into one's
/// own user namespace fails with EINVAL.
#[derive(Debug, Default)]
pub struct Namespaces(Vec<OwnedFd>);

impl Namespaces {
    /// The user namespace first: joining it gives the capabilities the
    /// others need when the container has one.
    const KINDS: [&'static str; 7] = ["user", "cgroup", "ipc", "uts", "net", "pid", "mnt"];

    pub fn of(pid: i32) -> Result<Namespaces, Error> {
        let mut fds = Vec::new();
        for kind in Self::KINDS {
            let theirs = PathBuf::from(format!("/proc/{pid}/ns/{kind}"));
            let ours = std::fs::metadata(format!("/proc/self/ns/{kind}"));
            let meta = std::fs::metadata(&theirs).map_err(Error::io("look at", &theirs))?;
            if ours.is_ok_and(|m| m.ino() == meta.ino() && m.dev() == meta.dev()) {
                continue;
            }
            let file = std::fs::File::open(&theirs).map_err(Error::io("open", &theirs))?;
            fds.push(OwnedFd::from(file));
        }
        Ok(Namespaces(fds))
    }
}

/// What a hook's output pipe held, read on a thread of its own (a hook
/// that fills a pipe nobody reads would never exit).
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
        });
    }
    rx
}

// ANCHOR: run_hook
/// Run one hook with `state` on its stdin, in the namespaces `enter`
/// (none: the runtime's), within its timeout; the error says what happened.
pub fn run_hook(hook: &Hook, state: &[u8], enter: &Namespaces) -> Result<(), String> {
    // TASK 05.5: args as argv, env as the environment, state on stdin, a timeout kills its group
    let mut cmd = Command::new(hook.path());
    if let Some((first, rest)) = hook.args().as_deref().and_then(|a| a.split_first()) {
        cmd.arg0(first).args(rest);
    }
    cmd.env_clear();
    for pair in hook.env().iter().flatten() {
        if let Some((key, value)) = pair.split_once('=') {
            cmd.env(key, value);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let fds: Vec<i32> = enter.0.iter().map(AsRawFd::as_raw_fd).collect();
    if !fds.is_empty() {
        // SAFETY: between fork and exec only setns, a system call.
        unsafe {
            cmd.pre_exec(move || {
                for fd in &fds {
                    if libc::setns(*fd, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot run it: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is allowed (EPIPE).
        let _ = stdin.write_all(state);
    }
    let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let timeout = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
        if let Some(limit) = timeout.filter(|limit| started.elapsed() >= *limit) {
            // Its group: a shell script's `sleep` goes with it.
            let group = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            // Its orphans came to us (a subreaper, see `run`): reap the group.
            let members = nix::unistd::Pid::from_raw(-group.as_raw());
            while nix::sys::wait::waitpid(members, None).is_ok() {}
            return Err(format!(
                "it did not exit within its timeout of {}s and was killed",
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if status.success() {
        return Ok(());
    }
    let said =
        |rx: mpsc::Receiver<String>| rx.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
    let output = format!("{}{}", said(stdout), said(stderr));
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (_, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    };
    let output = output.trim();
    Err(if output.is_empty() {
        how
    } else {
        format!("{how}: {output}")
    })
    // END TASK 05.5
}
// ANCHOR_END: run_hook

/// `create`'s part, in lab 02's parent part: prestart, createRuntime,
/// createContainer, with the state "creating" and the child's pid.
pub fn on_create(hooks: Option<&Hooks>, state: &State, pid: nix::unistd::Pid) -> Result<(), Error> {
    let Some(hooks) = hooks else { return Ok(()) };
    let pid = pid.as_raw();
    let json = state_json(state, Status::Creating, Some(pid));
    for point in [
        Point::Prestart,
        Point::CreateRuntime,
        Point::CreateContainer,
    ] {
        run(point, hooks, &json, Some(pid))?;
    }
    Ok(())
}

/// `start`'s part before the FIFO is opened: the startContainer hooks,
/// in the container's namespaces, with the state "created". If one
/// fails, the container is killed (the spec: "stop the container") and
/// `start` fails; the caller deletes it.
pub fn before_start(root: &Path, id: &str) -> Result<(), Error> {
    let (state, status) = crate::container::load(root, id)?;
    let hooks = load(&crate::container::dir_of(root, id))?;
    let (Status::Created, Some(pid)) = (status, state.pid) else {
        // Not created: container::start says why.
        return Ok(());
    };
    let json = state_json(&state, Status::Created, Some(pid));
    let ran = run(Point::StartContainer, &hooks, &json, Some(pid));
    if ran.is_err() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    ran
}

/// `start`'s part after the FIFO was opened: the poststart hooks, with
/// the state "running"; failures are warnings.
pub fn after_start(root: &Path, id: &str) -> Vec<String> {
    let dir = crate::container::dir_of(root, id);
    let (Ok(hooks), Ok(state)) = (load(&dir), State::load(&dir)) else {
        return Vec::new();
    };
    run_warning(
        Point::Poststart,
        &hooks,
        &state_json(&state, Status::Running, state.pid),
    )
}

/// Read before `delete` what its poststop hooks need (the directory goes).
pub fn before_delete(root: &Path, id: &str) -> Option<(Hooks, State)> {
    let dir = crate::container::dir_of(root, id);
    let hooks = load(&dir).ok()?;
    let state = State::load(&dir).ok()?;
    Some((hooks, state))
}

/// After `delete`: the poststop hooks, with the state "stopped"; failures
/// are warnings.
pub fn after_delete(saved: Option<(Hooks, State)>) -> Vec<String> {
    let Some((hooks, state)) = saved else {
        return Vec::new();
    };
    run_warning(
        Point::Poststop,
        &hooks,
        &state_json(&state, Status::Stopped, None),
    )
}
