//! A running container and its cgroup: start, wait, and what killed it.
//!
//! **OOM.** When a cgroup's memory use reaches `memory.max` and the kernel
//! cannot reclaim enough (no page cache to drop, no swap), the OOM killer
//! picks a process *of that cgroup* and sends it SIGKILL. From outside,
//! that is only "killed by signal 9", exit code 137 — the same as a
//! `docker kill`. The cgroup tells the two apart: its `oom_kill` counter
//! (v2 `memory.events`; v1 `memory.oom_control`) went up. Docker reports
//! it as `OOMKilled: true`; `dockyard run` says it on stderr.
//!
//! **Cleanup.** The cgroup is removed when the container is waited for,
//! and when the handle is dropped on an error path (the child is killed
//! first: a cgroup with processes cannot be removed).

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use process::signals::Forwarding;
use process::{Child, ExitStatus};

use crate::error::Error;
use crate::limits::Limits;
use crate::manager::CgroupManager;

/// How a container ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: ExitStatus,
    /// The OOM killer killed it (or one of its processes, then it).
    pub oom_killed: bool,
}

impl Outcome {
    /// The exit code `dockyard run` exits with: 137 after an OOM kill.
    pub fn code(&self) -> i32 {
        self.status.code()
    }
}

/// A container: its first process, held at its gate until
/// [`Container::start`], and its cgroup.
#[derive(Debug)]
pub struct Container {
    child: Option<Child>,
    cgroup: Box<dyn CgroupManager>,
    limits: Limits,
    removed: bool,
}

impl Container {
    /// A container made of `child`, already in `cgroup`.
    pub fn new(child: Child, cgroup: Box<dyn CgroupManager>, limits: Limits) -> Container {
        Container {
            child: Some(child),
            cgroup,
            limits,
            removed: false,
        }
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("the child is there until drop")
    }

    /// Its first process's pid.
    pub fn pid(&self) -> Pid {
        self.child.as_ref().expect("the child").pid()
    }

    /// Its cgroup: stats, freeze, thaw, kill every process.
    pub fn cgroup(&self) -> &dyn CgroupManager {
        self.cgroup.as_ref()
    }

    /// Its limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Open the gate: the program runs.
    pub fn start(&mut self) -> Result<(), Error> {
        Ok(self.child().start()?)
    }

    /// Wait for it to end; then remove its cgroup.
    pub fn wait(&mut self) -> Result<Outcome, Error> {
        let status = self.child().wait()?;
        self.finish(status)
    }

    /// [`Container::wait`], forwarding signals as `docker run` does.
    pub fn wait_forwarding(&mut self, forwarding: &Forwarding) -> Result<Outcome, Error> {
        let status = self.child().wait_forwarding(forwarding)?;
        self.finish(status)
    }

    /// Ask the cgroup whether the OOM killer did it — only for a death by
    /// SIGKILL (137, also as reported by an init): a container that exited
    /// on its own was not killed — then remove the cgroup.
    fn finish(&mut self, status: ExitStatus) -> Result<Outcome, Error> {
        let killed = status == ExitStatus::Signaled(Signal::SIGKILL)
            || status == ExitStatus::Exited(128 + Signal::SIGKILL as i32);
        let oom_killed = killed && self.cgroup.oom_killed()?;
        self.removed = true;
        self.cgroup.remove()?;
        Ok(Outcome { status, oom_killed })
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // Killed and reaped first (lab 01's `Child` does it on drop): a
        // cgroup that still has processes cannot be removed.
        drop(self.child.take());
        if !self.removed {
            let _ = self.cgroup.remove();
        }
    }
}
