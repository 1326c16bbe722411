//! The container's network namespace, made on another CPU meanwhile.
//!
//! Making a network namespace is the dearest single step of a start: the
//! kernel runs every subsystem's per-namespace setup (loopback device,
//! sysctl tables, the protocols' tables) — about 0.6 ms on this project's
//! machines, a fifth of a whole `unshare --pid --net … /probe true`. With
//! `CLONE_NEWNET` in its flags, `clone` pays it while everything else
//! waits. Yet nothing about the new namespace depends on the cgroups, the
//! state file or the FIFO that `create` makes before the `clone`. So a
//! helper thread makes it at the start of `create` — `unshare(CLONE_NEWNET)`
//! moves only the calling *thread* into a new namespace — brings its
//! loopback up (as lab 02's child would), and hands back an fd of it; by
//! the time the cgroups are made, it is ready — if it ran on another CPU
//! meanwhile, which `run_elsewhere` sees to.
//!
//! The child must be *born* in it, not join it later: the create hooks run
//! before the child's setup and find the container's network namespace as
//! `/proc/PID/ns/net` (Docker's own prestart hook, `libnetwork-setkey`,
//! wires the container's network up that way). So the cloning thread does
//! what `birth.rs` does for v1 cgroups: it steps into the namespace
//! (`setns`, which for a network namespace may be done by one thread of a
//! process), clones without `CLONE_NEWNET` — a child starts in its parent
//! thread's namespaces — and steps back at the start of the parent's
//! part, before the hooks run.
//!
//! Only without a new user namespace: a network namespace is owned by the
//! user namespace of whoever made it, and the container's root may manage
//! its network only if that is the container's user namespace — made by
//! the `clone` itself. When anything fails (the thread, `unshare`, `setns`
//! in), the `clone` makes the namespace the plain way.

use std::os::fd::OwnedFd;
use std::thread::JoinHandle;

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::stat::Mode;

use crate::error::Error;

/// A network namespace being made by a helper thread.
#[derive(Debug)]
pub struct Early(Option<JoinHandle<Result<OwnedFd, Errno>>>);

impl Early {
    /// Start making the new network namespace `config` asks for, unless it
    /// asks for none or for a new user namespace too.
    pub fn start(config: &namespaces::Config) -> Option<Early> {
        if !config.namespaces.net || config.namespaces.user {
            return None;
        }
        let thread = std::thread::Builder::new()
            .name("netns".into())
            .spawn(|| {
                unshare(CloneFlags::CLONE_NEWNET)?;
                namespaces::loopback::up()?;
                open_net()
            })
            .ok()?;
        run_elsewhere(&thread);
        Some(Early(Some(thread)))
    }

    // ANCHOR: enter
    /// Wait for the namespace and step this thread into it. On success the
    /// `clone` must not make one (`config.namespaces.net` is cleared) and
    /// [`Inside::leave`] must be called once the child exists; on failure
    /// nothing changed and the `clone` makes it.
    pub fn enter(mut self, config: &mut namespaces::Config) -> Option<Inside> {
        let made = self.0.take()?.join().ok()?.ok()?;
        let home = open_net().ok()?;
        setns(&made, CloneFlags::CLONE_NEWNET).ok()?;
        config.namespaces.net = false;
        Some(Inside { home: Some(home) })
    }
    // ANCHOR_END: enter
}

impl Drop for Early {
    /// Never leave the thread behind (a check's leak guard could see its
    /// namespace): wait for it; the namespace goes with its fd.
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

/// This thread is in the container's network namespace until
/// [`Inside::leave`].
#[derive(Debug)]
pub struct Inside {
    /// This thread's own namespace, to go back to; `None` once back.
    home: Option<OwnedFd>,
}

impl Inside {
    /// Step back into this thread's own namespace (again: a no-op).
    pub fn leave(&mut self) -> Result<(), Error> {
        if let Some(home) = self.home.take() {
            setns(&home, CloneFlags::CLONE_NEWNET)
                .map_err(Error::sys("return to the runtime's network namespace"))?;
        }
        Ok(())
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        // Only reached without `leave` on a path that already failed.
        let _ = self.leave();
    }
}

/// This thread's network namespace.
/// Keep the helper off the CPU this thread runs on, when another is
/// allowed. The scheduler often queues a new thread on the CPU of the
/// thread that made it; then the helper waits behind this thread, which
/// goes on working until it needs the namespace and blocks in `join` —
/// and the namespace is made only then, after all, with nothing beside
/// it. On this project's 2-CPU machines that happened to half the starts,
/// and the median start was 0.4 ms slower for it. Allowed every CPU but
/// this one, the helper is moved at once (`pthread_setaffinity_np`, that
/// is `sched_setaffinity`, migrates a queued thread and wakes an idle
/// CPU). With one CPU allowed nothing changes: the mask would be empty.
fn run_elsewhere<T>(thread: &JoinHandle<T>) {
    use std::os::unix::thread::JoinHandleExt;
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: cpu_set_t is plain data; the calls fill it and read it.
    unsafe {
        let here = libc::sched_getcpu();
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if here < 0 || libc::sched_getaffinity(0, size, &mut set) != 0 {
            return;
        }
        libc::CPU_CLR(here as usize, &mut set);
        if libc::CPU_COUNT(&set) > 0 {
            // Best effort: where it runs changes how soon, not what.
            libc::pthread_setaffinity_np(thread.as_pthread_t(), size, &set);
        }
    }
}

fn open_net() -> Result<OwnedFd, Errno> {
    open(
        "/proc/thread-self/ns/net",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}
