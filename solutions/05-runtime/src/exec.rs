//! `exec ID`: one more process in a running container (`docker exec`).
//!
//! Not in the runtime spec, but runc's, and what containerd's shim asks
//! for: `exec --process FILE --detach --pid-file FILE ID`, where FILE is
//! an OCI `process` object. The new process must end up exactly where the
//! container's first one is, so it *joins* rather than creates:
//!
//! - the namespaces of the container's first process, through
//!   `/proc/PID/ns/*` opened before anything else (an fd keeps a namespace
//!   alive, whatever the container does meanwhile): the user namespace
//!   first — it owns the others, and joining it gives the capabilities to
//!   join them — then mount (whose root is the container's root: no
//!   `pivot_root` again), UTS, IPC, network, cgroup. Not the pid
//!   namespace: `setns` into one changes only where the caller's
//!   *children* are born, so the runtime joins it itself, before `clone`;
//! - its cgroups, born there as `create`'s process is (`birth.rs`);
//! - then the process's own steps, the same as `create`'s last ones
//!   (terminal, rlimits, the container's seccomp filter, user and
//!   capabilities, working directory), from `--process` or from
//!   config.json's `process` with other arguments.
//!
//! Like `create`, the process is the runtime until it execs, inside the
//! container: the CLI re-executes from a sealed copy first (CVE-2019-5736
//! was an attack through `runc exec`). Nothing is mounted, so nothing has
//! to be undone: a failure before exec leaves only the process, killed and
//! reaped by lab 01's `Child`.

use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::Mode;
use nix::unistd::chown;
use process::gate::Gate;
use process::{Lifetime, Startup, Steps};

use crate::birth::Birth;
use crate::bundle::Bundle;
use crate::console::{self, ConsoleSocket};
use crate::container::{self, STEP_JOIN};
use crate::error::Error;
use crate::plan::Plan;
use crate::state::Status;

/// What to run in the container, and how.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// An OCI `process` object (what containerd's shim writes), instead of
    /// config.json's.
    pub process: Option<PathBuf>,
    /// Without `process`: config.json's process, with these arguments…
    pub args: Vec<String>,
    /// …and a terminal or not.
    pub tty: bool,
    /// Return once the process runs, rather than wait for it.
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    /// Where to send the pty's master when the process has a terminal.
    pub console_socket: Option<PathBuf>,
}

/// The namespaces joined in the child, in this order (`/proc/PID/ns/NAME`).
const JOINED: [(&str, CloneFlags); 6] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
];

/// Run a process in the running container `id`: its exit code, or `None`
/// with `detach` (it runs on; its pid is in `pid_file`).
pub fn exec(root: &Path, id: &str, opts: &ExecOptions) -> Result<Option<i32>, Error> {
    let (state, status) = container::load(root, id)?;
    let reason = "only a running container can run another process";
    container::require(id, status, &[Status::Running], reason)?;
    let init = state.pid.expect("a running container has a pid");
    let mut bundle = Bundle::load(&state.bundle)?;
    let process = process_of(&bundle, opts)?;
    bundle.spec.set_process(Some(process));
    let plan = Plan::new(id, &bundle)?;
    // The container's namespaces that are not ours, opened first.
    let open_ns = |name: &str| -> Result<Option<OwnedFd>, Error> {
        let theirs = PathBuf::from(format!("/proc/{init}/ns/{name}"));
        let ours = PathBuf::from(format!("/proc/self/ns/{name}"));
        let inode = |path: &Path| fs::metadata(path).map(|m| (m.dev(), m.ino()));
        let theirs_id = inode(&theirs).map_err(Error::io("find the namespace", &theirs))?;
        if inode(&ours).is_ok_and(|ours_id| ours_id == theirs_id) {
            return Ok(None);
        }
        let fd = open(&theirs, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty());
        fd.map(Some).map_err(|errno| Error::Io {
            what: "open the namespace",
            path: theirs.clone(),
            source: errno.into(),
        })
    };
    let mut joins = Vec::new();
    for (name, flag) in JOINED {
        if let Some(fd) = open_ns(name)? {
            joins.push((fd, flag));
        }
    }
    if let Some(fd) = open_ns("pid")? {
        // For this process's children from now on: the one cloned below.
        setns(&fd, CloneFlags::CLONE_NEWPID)
            .map_err(Error::sys("join the container's pid namespace"))?;
    }
    let console = if plan.terminal || opts.console_socket.is_some() {
        console::connect(plan.terminal, opts.console_socket.as_deref())?
    } else {
        None
    };
    // The start gate, in the container's directory (mode 0711, as create's):
    // the process waits there as its own user, after the setns calls.
    let gate_dir =
        container::dir_of(root, id).join(format!("exec-{}", namespaces::hostname::random()));
    fs::DirBuilder::new()
        .mode(0o711)
        .create(&gate_dir)
        .map_err(Error::io("create the exec's directory", &gate_dir))?;
    let ran = run_in(&plan, joins, console.as_ref(), &gate_dir, opts);
    let _ = fs::remove_dir_all(&gate_dir);
    ran
}

/// The process to run: `--process`'s, or config.json's with `opts.args`.
fn process_of(bundle: &Bundle, opts: &ExecOptions) -> Result<oci_spec::runtime::Process, Error> {
    if let Some(file) = &opts.process {
        let text = fs::read_to_string(file).map_err(Error::io("read", file))?;
        return serde_json::from_str(&text).map_err(|err| Error::Config {
            file: file.clone(),
            path: "process".into(),
            message: err.to_string(),
        });
    }
    if opts.args.is_empty() {
        return Err(Error::Unsupported {
            field: "exec",
            why: "no command: give one after the id, or --process FILE".into(),
        });
    }
    let mut process = bundle.spec.process().clone().unwrap_or_default();
    process.set_args(Some(opts.args.clone()));
    process.set_terminal(Some(opts.tty));
    Ok(process)
}

fn run_in(
    plan: &Plan,
    joins: Vec<(OwnedFd, CloneFlags)>,
    console: Option<&ConsoleSocket>,
    gate_dir: &Path,
    opts: &ExecOptions,
) -> Result<Option<i32>, Error> {
    let gate = Gate::create(gate_dir).map_err(Error::sys("make the exec's start gate"))?;
    if let Some(identity) = &plan.identity {
        let (uid, gid) = container::host_ids(&plan.config, identity.uid, identity.gid);
        chown(&gate.path(), Some(uid.into()), Some(gid.into()))
            .map_err(Error::sys("hand the start gate over"))?;
    }
    let lifetime = if opts.detach {
        Lifetime::Detached
    } else {
        Lifetime::Attached
    };
    let startup = Startup::new(gate, lifetime)?;
    let layout = cgroups::layout::detect().map_err(cgroups::Error::from)?;
    let cgroup = container::cgroup_of(plan, &layout)?;
    // A running container may be at its pids limit already: with a
    // limit, no room for the round trip's thread.
    let room = plan.limits.pids.is_none();
    let mut birth = Birth::prepare(cgroup.as_ref(), &layout, room);
    let config = namespaces::Config {
        // Nothing new: everything is joined.
        namespaces: namespaces::Namespaces::NONE,
        clone_into_cgroup: birth.clone_into(),
        ..namespaces::Config::default()
    };
    let mut steps = Steps::new();
    let joins = &joins;
    steps.add(STEP_JOIN, move || {
        for (fd, flag) in joins {
            setns(fd, *flag)?;
        }
        // Joined a user namespace: become its root, as create's process
        // did (lab 02's step). Left as it is, the process would keep the
        // host's uid 0 — unmapped in there, but still the owner, for the
        // kernel's permission checks, of every file the host's root owns.
        if joins
            .iter()
            .any(|(_, flag)| *flag == CloneFlags::CLONE_NEWUSER)
        {
            namespaces::idmap::become_root()?;
        }
        Ok(())
    });
    container::process_steps(&mut steps, plan, console.map(ConsoleSocket::raw));
    birth.enter();
    let mut parent_part = |pid| {
        let placed = birth.complete(cgroup.as_ref(), pid);
        placed.map_err(|err| namespaces::Error::Parent(Box::new(err)))
    };
    let spawned =
        namespaces::spawn::spawn_with(&plan.command, &config, steps, &mut parent_part, startup);
    birth.leave()?;
    let mut child = spawned?;
    child.start()?;
    if let Some(pid_file) = &opts.pid_file {
        container::write_pid_file(pid_file, child.pid())?;
    }
    if opts.detach {
        // It runs on, without us; its gate's directory goes with the caller.
        child.detach();
        return Ok(None);
    }
    let status = child.wait()?;
    Ok(Some(status.code()))
}
