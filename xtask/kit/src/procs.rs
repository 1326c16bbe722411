//! The processes a check started, and how the kit ends them.
//!
//! A container engine under test starts processes that outlive their
//! parent when it fails: a container's init whose `dockyard` was killed, a
//! grandchild that holds stdout open. Two kernel features keep them in
//! view:
//!
//! - a **child subreaper** (`PR_SET_CHILD_SUBREAPER`): an orphan below the
//!   test process is re-parented to it instead of to the host's PID 1, so
//!   it is still a descendant the leak guard sees, and the test process
//!   must reap it (by pid: `waitpid(-1)` would steal the children that
//!   `std::process::Child` handles own);
//! - a **process group** per program a check starts: one `kill(-pgid)`
//!   reaches every process that did not leave the group.
//!
//! A process is known by its pid *and* its start time (field 22 of
//! `/proc/PID/stat`): a pid is reused once its process is reaped, and a
//! process's state or command changes while it lives (a fork that execs
//! the probe), which must not make it look like a new one.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// One process, as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    /// Clock ticks after boot when it started: with the pid, its identity.
    pub start: u64,
    pub ppid: i32,
    /// Its process group.
    pub pgid: i32,
    /// `R`, `S`, `D`, `Z` (a zombie: ended, not yet waited for), `T`, …
    pub state: char,
    /// The command name (at most 15 bytes, the name of the program).
    pub comm: String,
}

impl Proc {
    /// Its identity: the pid and the start time.
    pub fn key(&self) -> (i32, u64) {
        (self.pid, self.start)
    }

    /// Whether it has ended and waits for its parent to reap it.
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }

    /// Whether the process is still there (same pid, same start time).
    pub fn exists(&self) -> bool {
        read(self.pid).is_some_and(|now| now.start == self.start)
    }

    /// Its command line, for messages: `probe signals`, or `[comm]` when
    /// it has none (a zombie, a kernel thread).
    pub fn command(&self) -> String {
        let raw = fs::read(format!("/proc/{}/cmdline", self.pid)).unwrap_or_default();
        let words: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        if words.is_empty() {
            return format!("[{}]", self.comm);
        }
        shorten(&words.join(" "), 100)
    }
}

/// `text` cut to `max` characters, with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Parses one `/proc/PID/stat` line.
pub fn parse_stat(stat: &str) -> Option<Proc> {
    // "pid (comm) state ppid pgrp …": comm may hold spaces and
    // parentheses, so it ends at the *last* ')'.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let pid = stat[..open].trim().parse().ok()?;
    let comm = stat.get(open + 1..close)?.to_owned();
    // Fields from the 3rd (state) on; field N is at index N - 3.
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    Some(Proc {
        pid,
        start: rest.get(22 - 3)?.parse().ok()?,
        ppid: rest.get(4 - 3)?.parse().ok()?,
        pgid: rest.get(5 - 3)?.parse().ok()?,
        state: rest.first()?.chars().next()?,
        comm,
    })
}

/// One process now, or `None` if it is gone.
pub fn read(pid: i32) -> Option<Proc> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process of the host (of this PID namespace) now.
pub fn table() -> Vec<Proc> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read)
        .collect()
}

/// The processes below `root` in `table` (children, their children, …),
/// not `root` itself.
pub fn below(table: &[Proc], root: i32) -> Vec<Proc> {
    below_except(table, root, &BTreeSet::new())
}

/// [`below`], leaving out the processes in `skip` and everything below them.
pub fn below_except(table: &[Proc], root: i32, skip: &BTreeSet<i32>) -> Vec<Proc> {
    let mut children: BTreeMap<i32, Vec<&Proc>> = BTreeMap::new();
    for proc in table {
        children.entry(proc.ppid).or_default().push(proc);
    }
    let mut found = Vec::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        for child in children.get(&pid).into_iter().flatten() {
            // A pid cannot be its own ancestor, but a table read while
            // processes come and go is not a consistent picture.
            if child.pid != root
                && !skip.contains(&child.pid)
                && !found.iter().any(|p: &Proc| p.pid == child.pid)
            {
                found.push((*child).clone());
                todo.push(child.pid);
            }
        }
    }
    found
}

thread_local! {
    /// How many `Check`s this thread holds (a `Check::within` thread
    /// counts as its check's).
    static IN_CHECK: Cell<u32> = const { Cell::new(0) };
}

/// The programs the kit started for a thread that held no `Check`: tests
/// that run at the same time as a check, whose processes the check's leak
/// guard must not take for its own (nor kill).
static OUTSIDE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// The current thread begins (`true`) or ends (`false`) holding a check.
pub(crate) fn in_check(begins: bool) {
    IN_CHECK.with(|n| {
        n.set(if begins {
            n.get() + 1
        } else {
            n.get().saturating_sub(1)
        })
    });
}

/// Whether the current thread holds a check.
pub(crate) fn holds_check() -> bool {
    IN_CHECK.with(Cell::get) > 0
}

/// The processes below this one now, except what the kit started for
/// tests without a check.
pub fn descendants() -> Vec<Proc> {
    below_except(&table(), own_pid(), &outside_checks())
}

/// The kit started `pid` for the current thread: remember it if no check
/// owns it.
pub(crate) fn started(pid: i32) {
    if IN_CHECK.with(Cell::get) == 0 {
        outside().insert(pid);
    }
}

/// `pid` was reaped: forget it.
pub(crate) fn ended(pid: i32) {
    outside().remove(&pid);
}

/// The programs started outside any check and not reaped yet.
pub fn outside_checks() -> BTreeSet<i32> {
    outside().clone()
}

fn outside() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    OUTSIDE.lock().unwrap_or_else(|e| e.into_inner())
}

/// This process's id.
pub fn own_pid() -> i32 {
    std::process::id() as i32
}

/// Make this process the reaper of orphans below it (idempotent).
pub fn become_subreaper() {
    // SAFETY: a plain prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Kill `root` and everything below it: its process group (when it leads
/// one of its own) and every descendant, including those that left the
/// group. Returns the processes it killed, `root` included.
///
/// Every process is stopped first (SIGSTOP cannot be caught): a stopped
/// process cannot fork, so the walk ends with the whole tree, which a
/// kill-as-you-go walk would miss when a process forks in between.
pub fn kill_tree(root: i32) -> Vec<Proc> {
    let mut stopped: BTreeMap<i32, Proc> = BTreeMap::new();
    // A process in the middle of fork shows its child only once the fork
    // is done: look again, a little later, until three looks find nothing
    // new (on a loaded machine a child can be a few ms late).
    let mut quiet = 0;
    for _ in 0..50 {
        let table = table();
        let mut tree = below(&table, root);
        tree.extend(table.iter().find(|p| p.pid == root).cloned());
        let new: Vec<Proc> = tree
            .into_iter()
            .filter(|p| !stopped.contains_key(&p.pid))
            .collect();
        if new.is_empty() {
            quiet += 1;
            if quiet == 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
            continue;
        }
        quiet = 0;
        for proc in new {
            // SAFETY: a plain system call on a pid below us.
            unsafe { libc::kill(proc.pid, libc::SIGSTOP) };
            stopped.insert(proc.pid, proc);
        }
    }
    // SAFETY: getpgid/getpgrp only read.
    let (group, own_group) = unsafe { (libc::getpgid(root), libc::getpgrp()) };
    if group == root && group != own_group {
        // SAFETY: a plain system call on a group the check started.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
    for proc in stopped.values() {
        // SAFETY: a plain system call on a pid below us.
        unsafe { libc::kill(proc.pid, libc::SIGKILL) };
    }
    stopped.into_values().collect()
}

/// Kill each process (SIGKILL), without waiting.
pub fn kill_all(procs: &[Proc]) {
    for proc in procs {
        if proc.exists() {
            // SAFETY: a plain system call on a process the check started.
            unsafe { libc::kill(proc.pid, libc::SIGKILL) };
        }
    }
}

/// Wait up to `limit` for the given processes to be gone, reaping (by
/// pid) each that ends as a zombie child of this process. `skip` names a
/// pid a `std::process::Child` owns, which its own `wait` reaps.
pub fn reap(procs: &[Proc], skip: Option<i32>, limit: Duration) {
    let own = own_pid();
    let deadline = Instant::now() + limit;
    let mut left: BTreeSet<(i32, u64)> = procs
        .iter()
        .filter(|p| Some(p.pid) != skip)
        .map(Proc::key)
        .collect();
    while !left.is_empty() {
        left.retain(|&(pid, start)| match read(pid) {
            Some(now) if now.start == start => {
                if now.ppid == own && now.is_zombie() {
                    let mut status = 0;
                    // SAFETY: waits for this one pid only, never -1.
                    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
                }
                true
            }
            _ => false,
        });
        if left.is_empty() || Instant::now() > deadline {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    #[test]
    fn parses_stat_with_an_odd_command_name() {
        let stat =
            "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10";
        let proc = parse_stat(stat).expect("a valid line");
        assert_eq!(
            proc,
            Proc {
                pid: 4242,
                start: 987654,
                ppid: 1,
                pgid: 4242,
                state: 'S',
                comm: "a) b (c".into(),
            }
        );
        assert!(parse_stat("4242 (x) S 1").is_none());
    }

    #[test]
    fn this_process_is_in_the_table() {
        let own = read(own_pid()).expect("our own stat");
        assert!(own.exists());
        assert!(table().iter().any(|p| p.key() == own.key()));
    }

    #[test]
    fn shortens_long_text() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }

    /// A shell in its own group whose background child holds a sleep: the
    /// whole tree goes, and the children re-parented to us are reaped.
    #[test]
    fn kill_tree_ends_a_group_and_what_left_it() {
        let _alone = crate::check::alone();
        become_subreaper();
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & setsid sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let root = child.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(5);
        while below(&table(), root).len() < 2 {
            assert!(
                Instant::now() < deadline,
                "the shell did not start two sleeps"
            );
            thread::sleep(Duration::from_millis(10));
        }
        let killed = kill_tree(root);
        assert_eq!(killed.len(), 3, "{killed:?}");
        child.wait().unwrap();
        reap(&killed, Some(root), Duration::from_secs(5));
        for proc in &killed {
            assert!(!proc.exists(), "{proc:?} is still there");
        }
    }
}
