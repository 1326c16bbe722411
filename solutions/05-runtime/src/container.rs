//! The operations: create, start, state, kill, delete (and run = create +
//! start + wait + delete).
//!
//! Each is a separate process of the runtime, so the container must
//! outlive the `create` that made it, and be found again by `start`:
//!
//! - `create` clones the container's first process (labs 01–04's
//!   `Startup`, with [`Lifetime::Detached`]), lets it set itself up, and
//!   returns when it reports "created". The process then waits at the exec
//!   FIFO `<root>/<id>/exec.fifo` — `open(2)` of a FIFO for writing blocks
//!   until someone opens it for reading — with nothing of the program run.
//!   `create`'s own process exits; the container is re-parented to the
//!   nearest subreaper (containerd's shim is one) or to init.
//! - `start` (any process, any time later) opens the FIFO for reading:
//!   the container's open returns, it writes one byte and execs. `start`
//!   then removes the FIFO, which is how `state` tells created from running.
//!
//! That is runc's design: no daemon of the runtime's own stays behind.

use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use cgroups::CgroupManager;
use nix::fcntl::{OFlag, open};
use nix::sched::setns;
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::unistd::{Pid, chown};
use process::gate::{self, Gate};
use process::{Lifetime, Startup, Steps};
use rootfs::Layout;

use crate::birth::Birth;
use crate::bundle::Bundle;
use crate::console::{self, ConsoleSocket};
use crate::error::Error;
use crate::netns::Early;
use crate::plan::Plan;
use crate::state::{self, State, Status};
use crate::{devices, hooks, identity, mounts, seccomp};

/// The runtime's directory of containers (`--root`).
pub const DEFAULT_ROOT: &str = "/run/dockyard";

pub const STEP_JOIN: &str = "join the namespaces given by path";
pub const STEP_PRIVATE: &str = "make the mounts private";
pub const STEP_BIND: &str = "bind-mount the rootfs onto itself";
pub const STEP_MOUNTS: &str = "mount config.json's mounts";
pub const STEP_DEVICES: &str = "make the default devices";
pub const STEP_NODES: &str = "make config.json's devices";
pub const STEP_PIVOT: &str = "change the root";
pub const STEP_ROOT: &str = "set the root's propagation and read-only flag";
pub const STEP_SYSCTL: &str = "write the sysctls";
pub const STEP_MASK: &str = "mask and protect paths";
pub const STEP_CONSOLE: &str = "make the terminal and send it to the console socket";
pub const STEP_LIMITS: &str = "set the rlimits";
pub const STEP_SECCOMP: &str = "load the seccomp filter";
pub const STEP_USER: &str = "become the user, with its capabilities";
pub const STEP_CWD: &str = "enter the working directory";

/// The directory of container `id` under `root`.
pub fn dir_of(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// The exec FIFO of the container whose directory is `dir`.
pub fn fifo_of(dir: &Path) -> PathBuf {
    dir.join("exec.fifo")
}

/// An id is one path component of letters, digits and `_.-+` (as runc),
/// that does not start with a dot: hidden names under the root are the
/// runtime's own (`.exe-layer`, the sealed re-execution's empty layer), and
/// `.` and `..` are no names at all.
pub fn check_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && !id.starts_with('.')
        && id.len() <= 1024
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-+".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Id {
            id: id.to_string(),
            reason: "an id is letters, digits and _ . - + only, and does not start with a dot"
                .into(),
        })
    }
}

/// A container found under `root`, with its status now.
pub fn load(root: &Path, id: &str) -> Result<(State, Status), Error> {
    check_id(id)?;
    let dir = dir_of(root, id);
    if !dir.join(state::STATE_FILE).exists() {
        return Err(Error::Id {
            id: id.to_string(),
            reason: format!("no such container under {}", root.display()),
        });
    }
    let state = State::load(&dir)?;
    let status = match state.current_status(&fifo_of(&dir)) {
        Status::Running if frozen(&state) => Status::Paused,
        status => status,
    };
    Ok((state, status))
}

/// The cgroup directory that freezes the container: v1's `freezer`
/// hierarchy where the host has one (lab 04's v1 driver freezes there),
/// else its v2 directory.
fn freezer_of(state: &State) -> Option<(&Path, bool)> {
    let dirs = &state.cgroup_dirs;
    let v1 = dirs.iter().find(|d| d.join("freezer.state").exists());
    let v2 = || dirs.iter().find(|d| d.join("cgroup.freeze").exists());
    match v1 {
        Some(dir) => Some((dir.as_path(), true)),
        None => v2().map(|dir| (dir.as_path(), false)),
    }
}

/// Whether the container's cgroup is frozen (or freezing).
fn frozen(state: &State) -> bool {
    match freezer_of(state) {
        Some((dir, true)) => {
            fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() != "THAWED")
        }
        Some((dir, false)) => {
            fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
        }
        None => false,
    }
}

/// Freeze or thaw the container's cgroup, and wait until the kernel is done.
fn set_frozen(id: &str, state: &State, frozen: bool) -> Result<(), Error> {
    let Some((dir, v1)) = freezer_of(state) else {
        return Err(Error::Unsupported {
            field: "pause",
            why: format!("container {id:?} has no cgroup with a freezer"),
        });
    };
    let done = if v1 {
        cgroups::v1::freeze_v1(dir, frozen)
    } else {
        cgroups::v2::freeze(dir, frozen)
    };
    Ok(done?)
}

/// `pause ID`: freeze every process of a running container (its cgroup's
/// freezer: they stop where they are, and cannot be woken by a signal —
/// not even SIGKILL on cgroup v1 — until `resume`).
pub fn pause(root: &Path, id: &str) -> Result<(), Error> {
    let (state, status) = load(root, id)?;
    require(
        id,
        status,
        &[Status::Running],
        "only a running container can be paused",
    )?;
    set_frozen(id, &state, true)
}

/// `resume ID`: thaw a paused container.
pub fn resume(root: &Path, id: &str) -> Result<(), Error> {
    let (state, status) = load(root, id)?;
    require(
        id,
        status,
        &[Status::Paused],
        "only a paused container can be resumed",
    )?;
    set_frozen(id, &state, false)
}

/// `Error::WrongState` with `reason`, unless `status` is one of `allowed`.
pub(crate) fn require(
    id: &str,
    status: Status,
    allowed: &[Status],
    reason: &'static str,
) -> Result<(), Error> {
    if allowed.contains(&status) {
        return Ok(());
    }
    Err(Error::WrongState {
        id: id.to_string(),
        status,
        reason,
    })
}

/// Options of `create`.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub pid_file: Option<PathBuf>,
    /// For the checks: fail this setup step on purpose.
    pub fail_at: Option<String>,
    /// Where to send the pty's master (`process.terminal`).
    pub console_socket: Option<PathBuf>,
}

/// The cgroup of a plan on a host of `layout`, through lab 04's drivers.
pub(crate) fn cgroup_of(
    plan: &Plan,
    layout: &cgroups::layout::Layout,
) -> Result<Box<dyn CgroupManager>, Error> {
    let name = plan
        .cgroup_path
        .as_deref()
        .expect("always set by Plan::new");
    let cgroup = cgroups::manager::for_layout(layout, name);
    // linux.resources.devices: the device cgroup comes with it (devices.rs).
    Ok(match &plan.device_rules {
        Some(rules) => Box::new(devices::WithDevices::new(
            layout,
            name,
            cgroup,
            rules.clone(),
        )?),
        None => cgroup,
    })
}

/// Make the parents of a nested cgroup path; returns those made, deepest last.
fn make_cgroup_parents(cgroup: &dyn CgroupManager) -> Result<Vec<PathBuf>, Error> {
    let mut made = Vec::new();
    for dir in cgroup.dirs() {
        let mut missing = Vec::new();
        let mut at = dir.parent();
        while let Some(parent) = at.filter(|p| !p.exists()) {
            missing.push(parent.to_path_buf());
            at = parent.parent();
        }
        for parent in missing.into_iter().rev() {
            fs::create_dir(&parent).map_err(Error::io("create the cgroup", &parent))?;
            made.push(parent);
        }
    }
    Ok(made)
}

fn remove_cgroup_parents(parents: &[PathBuf]) {
    for parent in parents.iter().rev() {
        let _ = fs::remove_dir(parent);
    }
}

// ANCHOR: create
/// `create ID --bundle DIR`: set the container up, held at its exec FIFO.
/// Returns once it is "created"; the container outlives this process.
pub fn create(root: &Path, id: &str, bundle: &Bundle, opts: &CreateOptions) -> Result<Pid, Error> {
    check_id(id)?;
    let plan = Plan::new(id, bundle)?;
    // The network namespace is made on another CPU meanwhile (netns.rs).
    let net = Early::start(&plan.config);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(root)
        .map_err(Error::io("create the runtime's root", root))?;
    let dir = dir_of(root, id);
    match fs::DirBuilder::new().mode(0o711).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Id {
                id: id.to_string(),
                reason: "a container with this id already exists".into(),
            });
        }
        Err(e) => return Err(Error::io("create the container's directory", &dir)(e)),
    }
    // The mode is the umask's otherwise; the user's process must reach the FIFO.
    let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o711));
    let mut state = State::new(id, &bundle.dir, plan.annotations.clone());
    let made = (|| {
        state.save(&dir)?;
        hooks::save(&dir, &plan.hooks)?;
        create_in(&dir, &plan, bundle, opts, &mut state, net)
    })();
    match made {
        Ok(pid) => Ok(pid),
        Err(err) => {
            for cgroup in &state.cgroup_dirs {
                remove_cgroup(cgroup);
            }
            remove_cgroup_parents(&state.cgroup_parents);
            let _ = fs::remove_dir_all(&dir);
            Err(err)
        }
    }
}
// ANCHOR_END: create

// ANCHOR: create_in
fn create_in(
    dir: &Path,
    plan: &Plan,
    bundle: &Bundle,
    opts: &CreateOptions,
    state: &mut State,
    net: Option<Early>,
) -> Result<Pid, Error> {
    // TASK 05.2: cgroup, steps, spawn held at <dir>/exec.fifo; save pid and start time
    let layout = Layout::new(&bundle.rootfs)?;
    let path = plan
        .command
        .get_env("PATH")
        .unwrap_or(process::DEFAULT_PATH.as_ref());
    if rootfs::resolve::find_program(&layout.root, plan.command.program(), path).is_none() {
        return Err(rootfs::Error::NotFound {
            program: plan.command.program().to_string_lossy().into_owned(),
            rootfs: layout.root.clone(),
        }
        .into());
    }
    let joins =
        plan.joins
            .iter()
            .map(|(path, flag)| {
                let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(
                    |errno| Error::Io {
                        what: "open the namespace",
                        path: path.clone(),
                        source: errno.into(),
                    },
                )?;
                Ok((fd, *flag))
            })
            .collect::<Result<Vec<(OwnedFd, _)>, Error>>()?;
    let console = if plan.terminal || opts.console_socket.is_some() {
        console::connect(plan.terminal, opts.console_socket.as_deref())?
    } else {
        None
    };
    let detected = cgroups::layout::detect().map_err(cgroups::Error::from)?;
    let cgroup = cgroup_of(plan, &detected)?;
    // Recorded before it is made: a create killed in between leaves a
    // state that names it, so `delete --force` still removes it.
    state.cgroup_dirs = cgroup.dirs();
    state.save(dir)?;
    state.cgroup_parents = make_cgroup_parents(cgroup.as_ref())?;
    cgroup.create()?;
    state.save(dir)?;
    cgroup.apply(&plan.limits)?;
    let mut config = plan.config.clone();
    config.fail_at = opts.fail_at.clone();
    let gate = Gate::create(dir).map_err(Error::sys("make the exec FIFO"))?;
    if let Some(identity) = &plan.identity {
        // The process waits at the FIFO as its own user, without
        // CAP_DAC_OVERRIDE: it must own the FIFO.
        let (uid, gid) = host_ids(&config, identity.uid, identity.gid);
        let fifo = gate.path();
        chown(&fifo, Some(uid.into()), Some(gid.into()))
            .map_err(Error::sys("hand the FIFO over"))?;
    }
    let startup = Startup::new(gate, Lifetime::Detached)?;
    let cgroup_plan = cgroups::namespace::Plan::new(&detected, plan.cgroup_mount, plan.cgroupns);
    let console_fd = console.as_ref().map(ConsoleSocket::raw);
    let steps = steps(&layout, plan, &joins, &cgroup_plan, console_fd);
    // Born in its cgroups, not moved there (birth.rs): clone3 into the v2
    // directory, and this thread round-trips through the v1 ones.
    let room = Birth::room_for_thread(plan.limits.pids);
    let mut birth = Birth::prepare(cgroup.as_ref(), &detected, room);
    config.clone_into_cgroup = birth.clone_into();
    // Born in the network namespace made meanwhile, too, when it was.
    let mut inside = net.and_then(|net| net.enter(&mut config));
    birth.enter();
    let mut parent_part = |pid: Pid| -> Result<(), namespaces::Error> {
        if let Some(inside) = inside.as_mut() {
            inside
                .leave()
                .map_err(|err| namespaces::Error::Parent(Box::new(err)))?;
        }
        birth
            .complete(cgroup.as_ref(), pid)
            .map_err(|err| namespaces::Error::Parent(Box::new(err)))?;
        if let Some(score) = plan.oom_score_adj {
            let path = format!("/proc/{pid}/oom_score_adj");
            fs::write(&path, score.to_string())
                .map_err(|err| namespaces::Error::Parent(Box::new(err)))?;
        }
        // 05.5: prestart, createRuntime, createContainer, before the child's setup.
        hooks::on_create(plan.hooks.as_ref(), state, pid)
            .map_err(|err| namespaces::Error::Parent(Box::new(err)))
    };
    let spawned =
        namespaces::spawn::spawn_with(&plan.command, &config, steps, &mut parent_part, startup);
    // Back already if the parent's part ran; if spawn failed before it, now.
    birth.leave()?;
    if let Some(inside) = inside.as_mut() {
        inside.leave()?;
    }
    let child = spawned?;
    let pid = child.pid();
    state.pid = Some(pid.as_raw());
    state.start_time = state::process_start_time(pid.as_raw());
    state.status = Status::Created;
    state.save(dir)?;
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    child.detach();
    Ok(pid)
    // END TASK 05.2
}
// ANCHOR_END: create_in

/// The host's ids of the container's `uid`/`gid` (through the id maps
/// of a user namespace).
pub(crate) fn host_ids(config: &namespaces::Config, uid: u32, gid: u32) -> (u32, u32) {
    if !config.namespaces.user {
        return (uid, gid);
    }
    let (uid_map, gid_map) = config.id_maps();
    let through = |map: namespaces::idmap::IdMap, id: u32| map.to_host(id).unwrap_or(id);
    (through(uid_map, uid), through(gid_map, gid))
}

/// The pid file, written atomically too (a caller may poll for it).
pub(crate) fn write_pid_file(path: &Path, pid: Pid) -> Result<(), Error> {
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&temporary, pid.to_string()).map_err(Error::io("write", &temporary))?;
    fs::rename(&temporary, path).map_err(Error::io("rename into place", path))
}

/// The setup steps of config.json, after lab 02's (id maps, hostname, lo).
fn steps<'a>(
    layout: &'a Layout,
    plan: &'a Plan,
    joins: &'a [(OwnedFd, nix::sched::CloneFlags)],
    cgroup_plan: &'a cgroups::namespace::Plan,
    console: Option<std::os::fd::RawFd>,
) -> Steps<'a> {
    let mut steps = Steps::new();
    steps
        .add(STEP_JOIN, move || {
            for (fd, flag) in joins {
                setns(fd, *flag)?;
            }
            Ok(())
        })
        .add(STEP_PRIVATE, || rootfs::mounts::make_private(layout))
        .add(STEP_BIND, || rootfs::mounts::bind_root(layout))
        .add(STEP_MOUNTS, || {
            if plan.mounts.is_empty() {
                Ok(())
            } else {
                mounts::mount_all(layout, plan)
            }
        })
        .add(STEP_DEVICES, || {
            if plan.dev_tmpfs {
                mounts::make_devices(layout)
            } else {
                Ok(())
            }
        })
        .add(STEP_NODES, || {
            devices::make_nodes(layout, &plan.devices, plan.config.namespaces.user)
        })
        .add(STEP_PIVOT, || rootfs::pivot::pivot(layout))
        .add(STEP_ROOT, || mounts::finish_root(plan));
    // Lab 04: a cgroup namespace rooted at the container's own cgroup,
    // entered after the parent placed the child, and /sys/fs/cgroup.
    steps.append(cgroups::namespace::steps(cgroup_plan, plan.cgroupns));
    steps
        .add(STEP_SYSCTL, || mounts::write_sysctls(plan))
        .add(STEP_MASK, || {
            if plan.masked.is_empty() && plan.readonly.is_empty() {
                Ok(())
            } else {
                mounts::mask_and_protect(plan)
            }
        });
    process_steps(&mut steps, plan, console);
    steps
}

/// The last steps, the process's own: its terminal, rlimits, seccomp,
/// user and capabilities, working directory — `create`'s, and `exec`'s
/// once it has joined the container's namespaces.
pub(crate) fn process_steps<'a>(
    steps: &mut Steps<'a>,
    plan: &'a Plan,
    console: Option<std::os::fd::RawFd>,
) {
    steps
        // After the mounts (the container's devpts) and before the user
        // and capabilities change (TIOCSCTTY, the pty's owner).
        .add(STEP_CONSOLE, move || match console {
            Some(socket) => console::setup(socket),
            None => Ok(()),
        })
        .add(STEP_LIMITS, || match &plan.identity {
            Some(identity) => identity::set_limits(identity),
            None => Ok(()),
        })
        // Before the capabilities go: loading a filter needs CAP_SYS_ADMIN
        // or no_new_privs; the filter then judges the setup's last calls too.
        .add(STEP_SECCOMP, || match &plan.seccomp {
            Some(filters) => seccomp::load(filters),
            None => Ok(()),
        })
        .add(STEP_USER, || match &plan.identity {
            Some(identity) if identity.changes_privileges() => identity::become_user(identity),
            _ => Ok(()),
        })
        .add(STEP_CWD, || match &plan.identity {
            Some(identity) => identity::enter_cwd(identity),
            None => Ok(()),
        });
}

/// Every setup step's name, in order (for the checks' fault injection).
pub fn step_names() -> Vec<&'static str> {
    let mut names = vec![
        namespaces::child::STEP_IDS,
        namespaces::child::STEP_HOSTNAME,
        namespaces::child::STEP_LOOPBACK,
        STEP_JOIN,
        STEP_PRIVATE,
        STEP_BIND,
        STEP_MOUNTS,
        STEP_DEVICES,
        STEP_NODES,
        STEP_PIVOT,
        STEP_ROOT,
    ];
    names.extend(cgroups::namespace::STEPS);
    names.extend([
        STEP_SYSCTL,
        STEP_MASK,
        STEP_CONSOLE,
        STEP_LIMITS,
        STEP_SECCOMP,
        STEP_USER,
        STEP_CWD,
    ]);
    names
}

// ANCHOR: start
/// `start ID`: open the exec FIFO; the container execs its program.
pub fn start(root: &Path, id: &str) -> Result<(), Error> {
    let (state, status) = load(root, id)?;
    // TASK 05.2: only a created container starts: open its FIFO, then remove it
    if status != Status::Created {
        return Err(Error::WrongState {
            id: id.to_string(),
            status,
            reason: "only a created container can be started",
        });
    }
    let dir = dir_of(root, id);
    let fifo = fifo_of(&dir);
    let pid = Pid::from_raw(state.pid.expect("a created container has a pid"));
    gate::start(&fifo, pid).map_err(Error::sys("open the exec FIFO"))?;
    let _ = fs::remove_file(&fifo);
    let mut state = state;
    state.status = Status::Running;
    state.save(&dir)
    // END TASK 05.2
}
// ANCHOR_END: start

/// `kill ID SIGNAL`: created, running or paused only. A paused container
/// gets its signals when it is resumed — except SIGKILL, after which it is
/// thawed so that it dies (a frozen v1 task cannot).
pub fn kill_container(root: &Path, id: &str, signal: Signal, all: bool) -> Result<(), Error> {
    let (state, status) = load(root, id)?;
    let signalled = [Status::Created, Status::Running, Status::Paused];
    let reason = "only a created, running or paused container can be signalled";
    require(id, status, &signalled, reason)?;
    let sent = signal_container(&state, signal, all);
    if status == Status::Paused && signal == Signal::SIGKILL {
        set_frozen(id, &state, false)?;
    }
    sent
}

fn signal_container(state: &State, signal: Signal, all: bool) -> Result<(), Error> {
    let pid = Pid::from_raw(state.pid.expect("a created container has a pid"));
    if all {
        // Every process of the cgroup (exec'd helpers, children).
        for dir in &state.cgroup_dirs {
            let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            for p in procs.lines().filter_map(|l| l.parse().ok()) {
                let _ = kill(Pid::from_raw(p), signal);
            }
        }
    }
    kill(pid, signal).map_err(Error::sys("signal the container"))
}

/// `delete ID [--force]`: remove the container's state and cgroup. A
/// created or running container needs `--force` (then it is killed first).
pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), Error> {
    check_id(id)?;
    let dir = dir_of(root, id);
    let loaded = load(root, id);
    let (state, status) = match loaded {
        Ok(found) => found,
        // A corrupt state file: only --force removes the directory.
        Err(Error::CorruptState { .. }) if force => {
            return fs::remove_dir_all(&dir).map_err(Error::io("remove", &dir));
        }
        Err(err) => return Err(err),
    };
    if status != Status::Stopped {
        if !force {
            return Err(Error::WrongState {
                id: id.to_string(),
                status,
                reason: "delete --force kills it first",
            });
        }
        if let Some(pid) = state.pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            if status == Status::Paused {
                // Frozen tasks die only once thawed (v1).
                let _ = set_frozen(id, &state, false);
            }
            wait_gone(&state);
        }
    }
    for cgroup in &state.cgroup_dirs {
        remove_cgroup(cgroup);
    }
    remove_cgroup_parents(&state.cgroup_parents);
    fs::remove_dir_all(&dir).map_err(Error::io("remove", &dir))
}

/// Wait (up to 5 s) until the container's process is gone or a zombie.
fn wait_gone(state: &State) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        let alive = state
            .pid
            .and_then(state::process_start_time)
            .is_some_and(|t| Some(t) == state.start_time);
        if !alive {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Kill what is left in a cgroup, and remove it (a few tries: the
/// kernel frees a cgroup a moment after its last process).
fn remove_cgroup(dir: &Path) {
    for _ in 0..200 {
        match fs::remove_dir(dir) {
            // Processes left in it (or dying): kill them, give them a moment.
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                for p in procs.lines().filter_map(|l| l.parse().ok()) {
                    let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            _ => return,
        }
    }
}

/// `list`: (id, status, pid, bundle) of every container under `root`.
pub fn list(root: &Path) -> Result<Vec<(State, Status)>, Error> {
    let mut found = Vec::new();
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(Error::io("list", root)(e)),
    };
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        if let Ok(pair) = load(root, &id) {
            found.push(pair);
        }
    }
    found.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::check_id;

    #[test]
    fn an_id_is_one_name_and_never_a_hidden_one() {
        for good in ["a", "web-1", "x.y", "a_b+c", "abc."] {
            assert!(check_id(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", ".exe-layer", ".x", "a/b", "a b", "../x"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_id(&"a".repeat(1025)).is_err());
    }
}
