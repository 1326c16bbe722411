//! The checks of lab 03. Each is named `t03_K_…` after the task it checks.
//!
//! Tasks 03.2–03.7 are checked one step at a time: a child forked by std
//! enters a new mount (and UTS) namespace with `unshare`, runs the lab's
//! steps up to the one checked (never a later task's: a check of task K
//! passes as soon as tasks 1..=K are right), then execs the probe, which
//! reports what it sees. Task 03.8 runs the whole container with
//! `dockyard-03`.

use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use kit::rootfs::Rootfs;
use kit::{Check, DEADLINE, Output, Report, insta, probe, random, require_root};
use namespaces::Config;
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::fstat;
use nix::unistd::{Pid, getpid, pipe2};
use process::{Command, SpawnError};
use rootfs::layout::Layout;
use rootfs::resolve::resolve_in_root;
use rootfs::spawn::STEPS;
use rootfs::{dev, mask, mounts, pivot};
use serde_json::{Value, json};

const LAB: &str = "03";

/// A check with a fresh minimal rootfs in its temp dir.
fn with_rootfs() -> (Check, Rootfs) {
    let check = Check::new();
    let rootfs = Rootfs::create(&check.dir().join("rootfs"), probe()).expect("make the rootfs");
    (check, rootfs)
}

/// The rootfs checked by `Layout::new` (given code), or a one-line failure.
fn layout_of(rootfs: &Rootfs) -> Layout {
    Layout::new(rootfs.path()).unwrap_or_else(|e| panic!("Layout::new refused the rootfs: {e}"))
}

/// A random file on the host, outside the rootfs: it must stay unreachable.
fn host_marker(check: &Check) -> PathBuf {
    let marker = check.dir().join(format!("marker-{}", random::token(8)));
    fs::write(&marker, random::token(16)).unwrap();
    marker
}

// ------------------------------------------------------- the step harness

type Action = Box<dyn Fn(&Layout) -> Result<(), Errno> + Send + Sync>;

/// One thing the check's child does before it execs the probe: one of the
/// lab's steps, or a preparation of the check's own.
struct Step {
    /// The function's name, or what the check does.
    name: &'static str,
    /// "task 03.5, src/dev.rs", or "the check itself".
    whose: &'static str,
    run: Action,
}

/// The shape of every step of the lab.
type StepFn = fn(&Layout) -> Result<(), Errno>;

/// The lab's steps, in the order `spawn` runs them, each with its task.
const LAB_STEPS: [(&str, &str, StepFn); 6] = [
    (
        "make_private",
        "task 03.2, src/mounts.rs",
        mounts::make_private,
    ),
    ("bind_root", "task 03.3, src/mounts.rs", mounts::bind_root),
    (
        "mount_proc_sys",
        "task 03.4, src/mounts.rs",
        mounts::mount_proc_sys,
    ),
    ("mount_dev", "task 03.5, src/dev.rs", dev::mount_dev),
    ("pivot", "task 03.6, src/pivot.rs", pivot::pivot),
    ("mask_paths", "task 03.7, src/mask.rs", mask::mask_paths),
];

/// The lab's steps of tasks 03.2 up to `last` (e.g. "03.4"), in order.
fn lab_steps(last: &str) -> Vec<Step> {
    let upto = LAB_STEPS
        .iter()
        .position(|(_, whose, _)| whose.contains(last))
        .expect("a task of lab 03 with a step");
    LAB_STEPS[..=upto]
        .iter()
        .map(|&(name, whose, run)| Step {
            name,
            whose,
            run: Box::new(run),
        })
        .collect()
}

/// A step of the check's own.
fn check_step(
    name: &'static str,
    run: impl Fn(&Layout) -> Result<(), Errno> + Send + Sync + 'static,
) -> Step {
    Step {
        name,
        whose: "the check itself",
        run: Box::new(run),
    }
}

/// How a run of the steps went wrong before the probe could start.
#[derive(Debug)]
struct StepFailure {
    step: &'static str,
    whose: &'static str,
    what: String,
    errno: Option<Errno>,
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (step, whose, what) = (self.step, self.whose, &self.what);
        write!(f, "step {step} ({whose}) {what}; the probe never ran")
    }
}

// The child tells the parent what it is doing through a pipe, in records
// of 8 bytes: a tag, the step's index, two unused bytes, an i32.
const TAG_PID: u8 = b'p';
const TAG_START: u8 = b's';
const TAG_ERRNO: u8 = b'e';
const TAG_DONE: u8 = b'd';
const UNSHARE: u8 = u8::MAX; // the index of the check's `unshare`

/// Write a record (in the forked child: one `write`, no allocation).
fn send(fd: RawFd, tag: u8, index: u8, value: i32) {
    let mut record = [0u8; 8];
    record[0] = tag;
    record[1] = index;
    record[4..8].copy_from_slice(&value.to_le_bytes());
    // SAFETY: writing our own buffer to a pipe we own; a pipe write of
    // this size is atomic.
    unsafe { libc::write(fd, record.as_ptr().cast(), record.len()) };
}

/// The panic message in a child's stderr: std's forked child aborts on a
/// panic (a `todo!()`), after printing "aborting due to panic at FILE:…"
/// and the message.
fn panic_message(stderr: &str) -> String {
    let mut lines = stderr.lines().skip_while(|l| !l.contains("panic"));
    let at = lines
        .next()
        .unwrap_or("")
        .trim_start_matches("aborting due to ");
    let message = lines.next().unwrap_or("");
    format!("{message} ({at})")
}

/// Run `steps` in a child that std forks into new mount and UTS
/// namespaces, then exec `program args` there. Every failure names the
/// step, the task it belongs to, and the errno or panic; a step that hangs
/// is killed after the usual deadline.
fn try_after_steps(
    layout: &Layout,
    steps: Vec<Step>,
    program: &Path,
    args: &[&str],
) -> Result<Output, StepFailure> {
    let (read, write): (OwnedFd, OwnedFd) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let fd = write.as_raw_fd();
    let layout_in_child = layout.clone();
    let names: Vec<(&str, &str)> = steps.iter().map(|s| (s.name, s.whose)).collect();
    let mut cmd = StdCommand::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: std's fork runs this in the child, which only makes system
    // calls. A step that panics (a `todo!()`) aborts the child: its records
    // say which step was running.
    unsafe {
        cmd.pre_exec(move || {
            send(fd, TAG_PID, 0, getpid().as_raw());
            // UTS too: a write to /proc/sys/kernel/hostname that should have
            // been refused must not rename the host.
            if let Err(errno) = unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS) {
                send(fd, TAG_ERRNO, UNSHARE, errno as i32);
                return Err(errno.into());
            }
            for (index, step) in steps.iter().enumerate() {
                let index = index as u8;
                send(fd, TAG_START, index, 0);
                if let Err(errno) = (step.run)(&layout_in_child) {
                    send(fd, TAG_ERRNO, index, errno as i32);
                    return Err(errno.into());
                }
            }
            send(fd, TAG_DONE, 0, 0);
            Ok(())
        });
    }
    // The child's records, as they come: the parent needs its pid and step
    // if the child hangs.
    let log = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let log = Arc::clone(&log);
        let mut pipe = fs::File::from(read);
        thread::spawn(move || {
            let mut chunk = [0u8; 512];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                log.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        })
    };
    // `spawn` returns only once the child has exec'd or failed: on a
    // thread of its own, so that a hung step can be killed.
    let (done, spawned) = mpsc::channel();
    let spawner = thread::spawn(move || {
        let child = cmd.spawn();
        drop(write); // now only the child holds it, until exec or exit
        let _ = done.send(());
        child
    });
    let hung = spawned.recv_timeout(DEADLINE).is_err();
    if hung && let Some(pid) = records(&log.lock().unwrap()).pid {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let child = spawner.join().expect("the spawning thread");
    reader.join().expect("the pipe's reader");
    let seen = records(&log.lock().unwrap());
    let name = |index: u8| match index {
        UNSHARE => ("unshare", "the check itself"),
        i => names[usize::from(i)],
    };
    let fail = |index: u8, what: String, errno| {
        let (step, whose) = name(index);
        Err(StepFailure {
            step,
            whose,
            what,
            errno,
        })
    };
    if let Some((index, errno)) = seen.failed {
        return fail(
            index,
            format!("failed: {errno:?} ({})", errno.desc()),
            Some(errno),
        );
    }
    let index = seen.started.unwrap_or(UNSHARE);
    if hung {
        if let Ok(child) = child {
            let _ = kit::run::wait(child, "the killed child", DEADLINE);
        }
        return fail(index, format!("did not return within {DEADLINE:?}"), None);
    }
    let child = child
        .unwrap_or_else(|err| panic!("cannot start {} after the steps: {err}", program.display()));
    let out = kit::run::wait(child, &program.display().to_string(), DEADLINE);
    if !seen.done {
        return fail(
            index,
            format!("panicked: {}", panic_message(&out.stderr)),
            None,
        );
    }
    Ok(out)
}

/// [`try_after_steps`], failing the check with the step's failure.
#[track_caller]
fn after_steps(layout: &Layout, steps: Vec<Step>, program: &Path, args: &[&str]) -> Output {
    try_after_steps(layout, steps, program, args).unwrap_or_else(|failure| panic!("{failure}"))
}

/// What the child's records said.
#[derive(Default)]
struct Records {
    pid: Option<i32>,
    started: Option<u8>,
    failed: Option<(u8, Errno)>,
    done: bool,
}

fn records(bytes: &[u8]) -> Records {
    let mut seen = Records::default();
    let mut rest = bytes;
    while rest.len() >= 8 {
        let (tag, index) = (rest[0], rest[1]);
        let value = i32::from_le_bytes(rest[4..8].try_into().unwrap());
        rest = &rest[8..];
        match tag {
            TAG_PID => seen.pid = Some(value),
            TAG_START => seen.started = Some(index),
            TAG_ERRNO => seen.failed = Some((index, Errno::from_raw(value))),
            TAG_DONE => seen.done = true,
            _ => break,
        }
    }
    seen
}

// ------------------------------------------------- reading what the probe saw

/// The probe's report: the JSON line of `probe report`, or a one-line failure.
#[track_caller]
fn report_of(out: &Output) -> Report {
    match out
        .json_lines()
        .into_iter()
        .find(|v| v.get("pid").is_some())
    {
        Some(report) => Report(report),
        _ => panic!(
            "the probe did not report (exit code {:?}, signal {:?}); what it printed:\n{}",
            out.code,
            out.signal,
            out.describe()
        ),
    }
}

/// The result of the probe action that printed `key`, e.g. "entries" for `ls`.
#[track_caller]
fn result_with(out: &Output, key: &str) -> Value {
    out.json_lines()
        .into_iter()
        .find(|v| v.get(key).is_some())
        .unwrap_or_else(|| {
            panic!(
                "the probe printed no result with \"{key}\"; what it printed:\n{}",
                out.describe()
            )
        })
}

fn mounts_of(report: &Report) -> Vec<Value> {
    report
        .at("/mounts")
        .as_array()
        .unwrap_or_else(|| panic!("the probe could not read /proc/self/mountinfo"))
        .clone()
}

/// The mount on top at `point` (the last one listed there).
fn mount_at<'a>(mounts: &'a [Value], point: &Path) -> Option<&'a Value> {
    mounts
        .iter()
        .rev()
        .find(|m| Path::new(text(m, "mount_point")) == point)
}

fn text<'a>(mount: &'a Value, field: &str) -> &'a str {
    mount[field].as_str().unwrap_or("")
}

fn has_option(mount: &Value, option: &str) -> bool {
    text(mount, "options").split(',').any(|o| o == option)
}

fn has_super_option(mount: &Value, option: &str) -> bool {
    text(mount, "super_options").split(',').any(|o| o == option)
}

/// A mount as one short line for messages.
fn show(mount: &Value) -> String {
    format!(
        "{} {} (root {}, {} {}, {})",
        text(mount, "mount_point"),
        text(mount, "fs_type"),
        text(mount, "root"),
        text(mount, "options"),
        text(mount, "super_options"),
        text(mount, "major_minor"),
    )
}

// ---------------------------------------------------------------- 03.1

/// What the kernel makes of `path` inside `root` with `RESOLVE_IN_ROOT`:
/// the device and inode of the file it names, or `None`.
fn kernel_resolves(root: &fs::File, path: &str) -> Option<(u64, u64)> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT);
    // EAGAIN: a rename or mount elsewhere on the host raced the lookup of
    // `..`; the kernel asks to try again.
    for _ in 0..100 {
        match openat2(root.as_fd(), path, how) {
            Ok(fd) => {
                let stat = fstat(&fd).expect("fstat");
                return Some((stat.st_dev, stat.st_ino));
            }
            Err(Errno::EAGAIN) => continue,
            Err(Errno::ENOSYS) => panic!(
                "this kernel has no openat2(2) (Linux 5.6 or later): the check compares your resolver with it"
            ),
            Err(_) => return None,
        }
    }
    panic!("openat2 kept failing with EAGAIN on {path}")
}

/// What `resolve_in_root` makes of `path`: the device and inode of the
/// host file it names, or `None`; and the path it gave, for messages.
fn yours_resolves(root: &Path, path: &str) -> (Option<(u64, u64)>, String) {
    match resolve_in_root(root, Path::new(path)) {
        None => (None, "None".into()),
        Some(host) => {
            let shown = match host.strip_prefix(root) {
                Ok(inside) => format!("R/{}", inside.display()),
                Err(_) => format!("{} (outside R!)", host.display()),
            };
            let id = fs::symlink_metadata(&host)
                .ok()
                .map(|meta| (meta.dev(), meta.ino()));
            (id, shown)
        }
    }
}

/// What the kernel's answer is, as a path under R, for messages.
fn kernel_shows(root: &fs::File, root_path: &Path, path: &str) -> String {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT);
    match openat2(root.as_fd(), path, how) {
        Ok(fd) => {
            let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
            match fs::read_link(link) {
                Ok(host) => match host.strip_prefix(root_path) {
                    Ok(inside) => format!("R/{}", inside.display()),
                    Err(_) => host.display().to_string(),
                },
                Err(_) => "a file".into(),
            }
        }
        Err(errno) => format!("None ({errno:?})"),
    }
}

/// Assert that `resolve_in_root` and the kernel agree on every path.
#[track_caller]
fn assert_agrees(root_path: &Path, paths: &[String], tree: &str) {
    let root = fs::File::open(root_path).expect("open the tree");
    for path in paths {
        let kernel = kernel_resolves(&root, path);
        let (yours, shown) = yours_resolves(root_path, path);
        if yours != kernel {
            panic!(
                "resolve_in_root(R, \"{path}\") gave {shown}, the kernel gives {} \
                 (openat2 with RESOLVE_IN_ROOT)\nthe tree R:\n{tree}",
                kernel_shows(&root, root_path, path)
            );
        }
    }
}

#[test]
fn t03_1_paths_resolve_inside_the_rootfs() {
    let check = Check::new();
    let root = check.dir().join("root");
    let [usr, bin, tool, other] = [4, 5, 6, 7].map(random::token);
    fs::create_dir_all(root.join(&usr).join(&bin)).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join(&usr).join(&bin).join(&tool), "").unwrap();
    // The same name at two places: `..` taken as text finds the wrong one.
    fs::write(root.join(&usr).join(&other), "").unwrap();
    fs::write(root.join(&other), "").unwrap();
    let link = |target: String, name: &str| symlink(&target, root.join(name)).unwrap();
    link(format!("/{usr}/{bin}"), "bin"); // absolute: means the rootfs's own
    link("bin".into(), "chain"); // chain → bin → /usr/bin
    link(format!("../{usr}/./{bin}"), "rel"); // relative, with `..`
    link("../../../../../etc".into(), "up"); // climbs past the top
    link("loop-b".into(), "loop-a");
    link("loop-a".into(), "loop-b");
    let inside = root.join(&usr).join(&bin).join(&tool);
    let cases: [(String, Option<PathBuf>, &str); 9] = [
        (
            format!("/bin/{tool}"),
            Some(inside.clone()),
            "an absolute link restarts at the rootfs",
        ),
        (
            format!("/chain/{tool}"),
            Some(inside.clone()),
            "a chain of links",
        ),
        (
            format!("/rel/{tool}"),
            Some(inside.clone()),
            "a relative link",
        ),
        (
            format!("/../../bin/{tool}"),
            Some(inside.clone()),
            "'..' stops at the rootfs's top",
        ),
        (
            format!("/bin/../{other}"),
            Some(root.join(&usr).join(&other)),
            "'..' after a link goes up from where the link led, not back to /",
        ),
        (
            format!("/chain/../{other}"),
            Some(root.join(&usr).join(&other)),
            "'..' after a chain of links",
        ),
        (
            "/up".into(),
            Some(root.join("etc")),
            "a relative link cannot climb out either",
        ),
        ("/loop-a".into(), None, "a symlink loop resolves to nothing"),
        (format!("/bin/{}", random::token(6)), None, "a missing file"),
    ];
    for (path, expected, why) in cases {
        let got = check.within(
            DEADLINE,
            &format!("resolve_in_root(R, \"{path}\") never returned: does it count the links it follows, and stop past MAX_LINKS?"),
            || resolve_in_root(&root, Path::new(&path)),
        );
        assert_eq!(got, expected, "resolve_in_root(R, \"{path}\"): {why}");
    }
}

/// A random index below `n`.
fn pick(n: usize) -> usize {
    random::int(0..=(n as u32 - 1)) as usize
}

/// A random tree of directories, files and symlinks under `root`; returns
/// the paths worth asking about and a listing for messages.
fn random_tree(root: &Path) -> (Vec<String>, String) {
    fs::create_dir(root).unwrap();
    // Paths relative to root, without a leading `/`.
    let mut dirs: Vec<String> = vec![String::new()];
    let mut entries: Vec<String> = Vec::new();
    let mut listing = String::new();
    // Random names, made unique by a number: two entries of one directory
    // must not collide.
    let count = std::cell::Cell::new(0);
    let fresh = || {
        count.set(count.get() + 1);
        format!("{}{}", random::token(2), count.get())
    };
    let under = |dir: &str, name: &str| {
        if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    };
    for _ in 0..8 {
        let dir = under(&dirs[pick(dirs.len())], &fresh());
        fs::create_dir(root.join(&dir)).unwrap();
        listing += &format!("  {dir}/\n");
        dirs.push(dir.clone());
        entries.push(dir);
    }
    for _ in 0..5 {
        let file = under(&dirs[pick(dirs.len())], &fresh());
        fs::write(root.join(&file), "").unwrap();
        listing += &format!("  {file}\n");
        entries.push(file);
    }
    // A path made of a few random hops: an entry's full path, `..`, a bare
    // name, `.`.
    let hops = |entries: &[String]| -> String {
        (0..1 + pick(3))
            .map(|_| match pick(10) {
                0..=5 => entries[pick(entries.len())].clone(),
                6..=7 => "..".to_owned(),
                _ => {
                    let full = &entries[pick(entries.len())];
                    full.rsplit('/').next().unwrap().to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    for _ in 0..12 {
        let dir = dirs[pick(dirs.len())].clone();
        let name = under(&dir, &fresh());
        let target = if pick(2) == 0 {
            format!("/{}", hops(&entries))
        } else {
            hops(&entries)
        };
        symlink(&target, root.join(&name)).unwrap();
        listing += &format!("  {name} -> {target}\n");
        entries.push(name);
    }
    let mut paths: Vec<String> = (0..300).map(|_| format!("/{}", hops(&entries))).collect();
    paths.extend(entries.iter().map(|e| format!("/{e}")));
    paths.extend(entries.iter().map(|e| format!("/{e}/..")));
    (paths, listing)
}

#[test]
fn t03_1_the_resolver_agrees_with_the_kernel_on_random_trees() {
    let check = Check::new();
    for n in 0..5 {
        let root = check.dir().join(format!("tree-{n}"));
        let (paths, listing) = random_tree(&root);
        assert_agrees(&root, &paths, &listing);
    }
}

#[test]
fn t03_1_the_resolver_follows_as_many_links_as_the_kernel() {
    let check = Check::new();
    // Chains of links around the kernel's limit (40 in a lookup): the
    // kernel follows 40 and refuses the 41st (ELOOP). An off-by-one
    // either way resolves a path the container cannot, or refuses one it can.
    let root = check.dir().join("chains");
    fs::create_dir(&root).unwrap();
    let target = random::token(6);
    fs::write(root.join(&target), "").unwrap();
    let mut paths = Vec::new();
    let mut listing = format!("  {target} (a file)\n");
    for length in [39, 40, 41] {
        let prefix = format!("c{length}-{}", random::token(4));
        let mut next = target.clone();
        for i in 0..length {
            let name = format!("{prefix}-{i}");
            symlink(&next, root.join(&name)).unwrap();
            next = name;
        }
        listing += &format!("  {next} -> … ({length} links) … -> {target}\n");
        paths.push(format!("/{next}"));
    }
    assert_agrees(&root, &paths, &listing);
}

#[test]
fn t03_1_a_bad_rootfs_or_a_missing_program_fails_before_anything_starts() {
    let (check, rootfs) = with_rootfs();
    let dir = check.dir();
    let text_file = dir.join("a-file");
    fs::write(&text_file, "").unwrap();
    let odd = dir.join("odd-rootfs");
    fs::create_dir(&odd).unwrap();
    fs::write(odd.join("proc"), "").unwrap();
    let missing = random::token(8);
    let cases: [(&Path, &str); 4] = [
        (&dir.join("no-such-dir"), "/probe"),
        (&text_file, "/probe"),
        (&odd, "/probe"),
        (rootfs.path(), &missing),
    ];
    let mut lines = String::new();
    for (root, program) in cases {
        let args = ["run", "--rootfs", root.to_str().unwrap(), "--", program];
        let out = kit::run(
            StdCommand::new(env!("CARGO_BIN_EXE_dockyard-03")).args(args),
            DEADLINE,
        );
        // The rootfs is named by its canonical path: redact both forms.
        let canonical = dir.canonicalize().unwrap();
        let said = kit::redact::redact_text(
            out.stderr.trim(),
            &[
                (canonical.to_str().unwrap(), "[dir]"),
                (dir.to_str().unwrap(), "[dir]"),
                (&missing, "[program]"),
            ],
        );
        lines += &format!("{said}\nexit code {}\n\n", out.code.unwrap_or(-1));
    }
    insta::assert_snapshot!(lines);
}

// ---------------------------------------------------------------- 03.2

#[test]
fn t03_2_every_mount_is_private() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let layout = layout_of(&rootfs);
    // Start from the systemd situation — `/` shared — in this namespace
    // only, so the check means the same on every host.
    let mut steps = vec![check_step("make / shared, as systemd does", |_| {
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_SHARED,
            None::<&str>,
        )
    })];
    steps.extend(lab_steps("03.2"));
    let out = after_steps(&layout, steps, probe(), &["report"]);
    let mounts = mounts_of(&report_of(&out));
    let propagating: Vec<String> = mounts
        .iter()
        .filter(|m| !text(m, "optional").is_empty())
        .map(|m| format!("{} {}", text(m, "mount_point"), text(m, "optional")))
        .collect();
    assert!(
        propagating.is_empty(),
        "{} mounts still propagate (shared: or master:), e.g. {}: make_private must change every mount, recursively (MS_REC)",
        propagating.len(),
        propagating[0]
    );
}

// ---------------------------------------------------------------- 03.3

#[test]
fn t03_3_the_rootfs_is_bound_onto_itself_recursively() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let layout = layout_of(&rootfs);
    let root = layout.root.clone();
    // A mount inside the rootfs, made (after make_private: it stays in the
    // child's namespace) before the bind: a recursive bind brings it along.
    let size = format!("size={}k", random::int(100..=900) * 4);
    let below = root.join("tmp");
    let data = size.clone();
    let mut steps = lab_steps("03.2");
    steps.push(check_step(
        "mount a tmpfs on the rootfs's /tmp",
        move |_| {
            mount(
                Some("tmpfs"),
                &below,
                Some("tmpfs"),
                MsFlags::empty(),
                Some(data.as_str()),
            )
        },
    ));
    steps.extend(lab_steps("03.3").into_iter().skip(1));
    let out = after_steps(&layout, steps, probe(), &["report"]);
    let mounts = mounts_of(&report_of(&out));
    let Some(bind) = mount_at(&mounts, &root) else {
        panic!(
            "no mount at the rootfs {}: pivot_root would fail with EINVAL",
            root.display()
        )
    };
    // The mount that held the rootfs's directory before: the deepest one
    // above it.
    let host = mounts
        .iter()
        .filter(|m| {
            let point = Path::new(text(m, "mount_point"));
            point != root && root.starts_with(point)
        })
        .max_by_key(|m| text(m, "mount_point").len())
        .expect("a mount above the rootfs");
    let relative = root
        .strip_prefix(text(host, "mount_point"))
        .expect("below its mount point");
    let expected_root = Path::new(text(host, "root")).join(relative);
    let same_files = text(bind, "major_minor") == text(host, "major_minor")
        && Path::new(text(bind, "root")) == expected_root;
    assert!(
        same_files,
        "the mount at the rootfs is not a bind of the rootfs itself: it is {}; expected {} (the rootfs's directory, on the filesystem that holds it): MS_BIND with the rootfs as source and target",
        show(bind),
        expected_root.display(),
    );
    let brought_along = mounts.iter().any(|m| {
        m["parent"] == bind["id"]
            && Path::new(text(m, "mount_point")) == root.join("tmp")
            && has_super_option(m, &size)
    });
    assert!(
        brought_along,
        "the tmpfs the check mounted on the rootfs's /tmp is missing from the bind: the bind must be recursive (MS_REC)"
    );
}

// ---------------------------------------------------------------- 03.4

#[test]
fn t03_4_proc_and_sys_are_mounted_in_the_rootfs() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let layout = layout_of(&rootfs);
    let out = after_steps(&layout, lab_steps("03.4"), probe(), &["report"]);
    let mounts = mounts_of(&report_of(&out));
    let (proc_, sys) = (layout.root.join("proc"), layout.root.join("sys"));
    let bind = mount_at(&mounts, &layout.root).expect("the rootfs's bind (03.3)");
    let proc_mount = mount_at(&mounts, &proc_).expect("no mount on the rootfs's /proc");
    assert_eq!(
        text(proc_mount, "fs_type"),
        "proc",
        "the mount on /proc: {}",
        show(proc_mount)
    );
    let sys_mount = mount_at(&mounts, &sys).expect("no mount on the rootfs's /sys");
    assert_eq!(
        text(sys_mount, "fs_type"),
        "sysfs",
        "the mount on /sys: {}",
        show(sys_mount)
    );
    assert!(
        has_option(sys_mount, "ro"),
        "/sys must be read-only: {}",
        show(sys_mount)
    );
    for (m, name) in [(proc_mount, "/proc"), (sys_mount, "/sys")] {
        for option in ["nosuid", "nodev", "noexec"] {
            assert!(has_option(m, option), "{name} needs {option}: {}", show(m));
        }
        assert_eq!(
            m["parent"],
            bind["id"],
            "{name} must be mounted in the rootfs's bind (open the rootfs after bind_root): {}",
            show(m)
        );
    }
}

/// Make the rootfs's `name` a symlink to a directory outside the rootfs,
/// after `Layout::new` checked it: what a swap in a shared volume does
/// between the parent's check and the child's mount.
fn swap_in_a_link(check: &Check, rootfs: &Rootfs, name: &str) -> PathBuf {
    let outside = check.dir().join(format!("outside-{}", random::token(6)));
    fs::create_dir(&outside).unwrap();
    let outside = outside.canonicalize().unwrap();
    let point = rootfs.path().join(name);
    fs::remove_dir(&point).unwrap();
    symlink(&outside, &point).unwrap();
    outside
}

/// Assert that after `steps`, nothing is mounted on `outside`: the step
/// either refused the symlinked mount point, or mounted inside the rootfs.
#[track_caller]
fn assert_nothing_mounted_outside(layout: &Layout, steps: Vec<Step>, outside: &Path, step: &str) {
    let out = match try_after_steps(layout, steps, probe(), &["report"]) {
        Err(failure) if failure.step == step && failure.errno.is_some() => return,
        Err(failure) => panic!("{failure}"),
        Ok(out) => out,
    };
    let mounts = mounts_of(&report_of(&out));
    if let Some(m) = mount_at(&mounts, outside) {
        panic!(
            "{step} followed a symlink out of the rootfs and mounted on {}: {}; open the mount point inside the rootfs (target::open_in) and mount through its fd",
            outside.display(),
            show(m)
        );
    }
}

#[test]
fn t03_4_a_symlink_cannot_send_proc_out_of_the_rootfs() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let layout = layout_of(&rootfs);
    let outside = swap_in_a_link(&check, &rootfs, "proc");
    assert_nothing_mounted_outside(&layout, lab_steps("03.4"), &outside, "mount_proc_sys");
}

// ---------------------------------------------------------------- 03.5

/// `probe ls` entries, without what differs between hosts.
fn listing(ls: &Value) -> String {
    let entries = ls["entries"].as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .map(|e| {
            let mut line = format!(
                "{:<8} {:<8} {:o}",
                e["name"].as_str().unwrap_or("?"),
                e["type"].as_str().unwrap_or("?"),
                e["mode"].as_u64().unwrap_or(0)
            );
            if let (Some(major), Some(minor)) = (e["major"].as_u64(), e["minor"].as_u64()) {
                line += &format!(" {major}:{minor}");
            }
            if let Some(target) = e["target"].as_str() {
                line += &format!(" -> {target}");
            }
            line + "\n"
        })
        .collect()
}

#[test]
fn t03_5_dev_holds_exactly_the_expected_nodes() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let layout = layout_of(&rootfs);
    let dev_dir = layout.root.join("dev");
    let out = after_steps(
        &layout,
        lab_steps("03.5"),
        probe(),
        &["ls", dev_dir.to_str().unwrap()],
    );
    insta::assert_snapshot!(listing(&result_with(&out, "entries")));
}

#[test]
fn t03_5_dev_pts_and_shm_are_filesystems_of_their_own() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let layout = layout_of(&rootfs);
    let dev_dir = layout.root.join("dev");
    let (null, full) = (dev_dir.join("null"), dev_dir.join("full"));
    let token = random::token(12);
    let args = [
        "report",
        "then",
        "write",
        null.to_str().unwrap(),
        &token,
        "then",
        "write",
        full.to_str().unwrap(),
        &token,
    ];
    let out = after_steps(&layout, lab_steps("03.5"), probe(), &args);
    let mounts = mounts_of(&report_of(&out));
    let at = |point: &Path| {
        mount_at(&mounts, point)
            .unwrap_or_else(|| panic!("nothing is mounted on {}", point.display()))
    };
    let dev = at(&dev_dir);
    let bind = mount_at(&mounts, &layout.root).expect("the rootfs's bind (03.3)");
    assert!(
        text(dev, "fs_type") == "tmpfs" && has_super_option(dev, "mode=755"),
        "/dev must be a fresh tmpfs with mode=755: {}",
        show(dev)
    );
    assert!(
        has_option(dev, "nosuid") && !has_option(dev, "nodev"),
        "/dev needs nosuid, and not nodev (its device nodes must open): {}",
        show(dev)
    );
    assert_eq!(
        dev["parent"],
        bind["id"],
        "/dev must be mounted in the rootfs's bind: {}",
        show(dev)
    );
    let pts = at(&dev_dir.join("pts"));
    assert!(
        text(pts, "fs_type") == "devpts"
            && has_super_option(pts, "ptmxmode=666")
            && has_super_option(pts, "mode=620"),
        "/dev/pts must be a devpts instance of its own with ptmxmode=0666 and mode=0620: {}",
        show(pts)
    );
    let shm = at(&dev_dir.join("shm"));
    assert_eq!(
        text(shm, "fs_type"),
        "tmpfs",
        "/dev/shm must be a tmpfs of its own: {}",
        show(shm)
    );
    for option in ["nosuid", "nodev", "noexec"] {
        assert!(
            has_option(shm, option),
            "/dev/shm needs {option}: {}",
            show(shm)
        );
    }
    for m in [pts, shm] {
        assert_eq!(
            m["parent"],
            dev["id"],
            "{} must be mounted in the new /dev, not under it (open /dev again after mounting its tmpfs)",
            text(m, "mount_point")
        );
    }
    let writes: Vec<Value> = out.json_lines().into_iter().skip(1).collect();
    assert_eq!(
        writes.first().map(|w| &w["ok"]),
        Some(&json!(true)),
        "writing to the new /dev/null must work: {writes:?}"
    );
    assert_eq!(
        writes.get(1).map(|w| &w["errno"]),
        Some(&json!(libc::ENOSPC)),
        "writing to the new /dev/full must fail with ENOSPC (is it 1:7?): {writes:?}"
    );
}

#[test]
fn t03_5_a_symlink_cannot_send_dev_out_of_the_rootfs() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let layout = layout_of(&rootfs);
    let outside = swap_in_a_link(&check, &rootfs, "dev");
    assert_nothing_mounted_outside(&layout, lab_steps("03.5"), &outside, "mount_dev");
}

// ---------------------------------------------------------------- 03.6

/// The steps up to `pivot_root` (or chroot), then `/probe args` inside.
fn inside(rootfs: &Rootfs, chroot_only: bool, args: &[&str]) -> Output {
    let layout = layout_of(rootfs);
    let mut steps = lab_steps("03.5");
    steps.push(if chroot_only {
        check_step("chroot_only (given)", pivot::chroot_only)
    } else {
        lab_steps("03.6").pop().unwrap()
    });
    after_steps(&layout, steps, Path::new("/probe"), args)
}

#[test]
fn t03_6_after_pivot_root_the_host_is_gone() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let marker = host_marker(&check);
    let out = inside(
        &rootfs,
        false,
        &["ls", "/", "then", "cat", marker.to_str().unwrap()],
    );
    let ls = result_with(&out, "entries");
    let names: Vec<&str> = ls["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    let mut expected: Vec<String> = fs::read_dir(rootfs.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(names, expected, "/ inside must be the rootfs");
    let read = out.json_lines().into_iter().nth(1);
    assert_eq!(
        read.as_ref().map(|r| &r["errno"]),
        Some(&json!(libc::ENOENT)),
        "the host's {} must be unreachable after pivot: {read:?}",
        marker.display()
    );
}

#[test]
fn t03_6_pivot_root_defeats_the_chroot_breakout() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let marker = host_marker(&check);
    let breakout = |chroot_only| {
        let out = inside(
            &rootfs,
            chroot_only,
            &["breakout", marker.to_str().unwrap()],
        );
        result_with(&out, "escaped")["escaped"].clone()
    };
    assert_eq!(
        breakout(true),
        true,
        "with chroot alone, the breakout should reach the host (is the probe's breakout broken?)"
    );
    assert_eq!(
        breakout(false),
        false,
        "after pivot_root, there must be no host to break out to: was the old root detached?"
    );
}

// ---------------------------------------------------------------- 03.7

/// The paths of `paths` this host has, by kind (a kernel may lack some).
fn on_host(paths: &[&'static str], dirs: bool) -> Vec<&'static str> {
    paths
        .iter()
        .copied()
        .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() == dirs))
        .collect()
}

/// All the steps, then `/probe args` inside.
fn masked(rootfs: &Rootfs, args: &[&str]) -> Output {
    after_steps(
        &layout_of(rootfs),
        lab_steps("03.7"),
        Path::new("/probe"),
        args,
    )
}

#[test]
fn t03_7_masked_and_read_only_paths_are_mounted_as_docker_mounts_them() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let mut args = vec!["report"];
    for file in on_host(&mask::MASKED, false) {
        args.extend(["then", "cat", file]);
    }
    let out = masked(&rootfs, &args);
    let mounts = mounts_of(&report_of(&out));
    let on = |path: &str| {
        mount_at(&mounts, Path::new(path))
            .unwrap_or_else(|| panic!("nothing is mounted on {path}, which this host has"))
    };
    for dir in on_host(&mask::MASKED, true) {
        let m = on(dir);
        assert!(
            text(m, "fs_type") == "tmpfs" && has_option(m, "ro"),
            "the masked directory {dir} must get an empty read-only tmpfs: {}",
            show(m)
        );
    }
    for file in on_host(&mask::MASKED, false) {
        let m = on(file);
        assert!(
            text(m, "root") == "/null",
            "the masked file {file} must get /dev/null bound on it: {}",
            show(m)
        );
    }
    for path in mask::READ_ONLY.iter().filter(|p| Path::new(p).exists()) {
        let m = on(path);
        assert!(has_option(m, "ro"), "{path} must be read-only: {}", show(m));
        for option in ["nosuid", "nodev", "noexec"] {
            assert!(
                has_option(m, option),
                "{path} must keep /proc's {option} (the remount sets every flag): {}",
                show(m)
            );
        }
    }
    let reads: Vec<Value> = out.json_lines().into_iter().skip(1).collect();
    for (file, read) in on_host(&mask::MASKED, false).iter().zip(&reads) {
        assert_eq!(read["content"], "", "{file} must read empty: {read}");
    }
}

#[test]
fn t03_7_masked_directories_read_empty_and_refuse_writes() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let dirs = on_host(&mask::MASKED, true);
    assert!(
        !dirs.is_empty(),
        "this host has none of the masked directories"
    );
    for dir in dirs {
        let file = format!("{dir}/{}", random::token(8));
        let out = masked(
            &rootfs,
            &["ls", dir, "then", "write", &file, &random::token(8)],
        );
        let ls = result_with(&out, "entries");
        assert_eq!(ls["entries"], json!([]), "{dir} must be hidden: {ls}");
        let write = out.json();
        assert_eq!(
            write["errno"],
            json!(libc::EROFS),
            "creating {file} must fail with EROFS: the tmpfs on {dir} must be read-only: {write}"
        );
    }
}

#[test]
fn t03_7_read_only_paths_refuse_writes() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    // An empty write to /proc/sysrq-trigger: the open fails with EROFS when
    // it is read-only; if it is not, writing nothing does nothing.
    let mut writes = vec![("/proc/sys/kernel/hostname", random::hostname())];
    if Path::new("/proc/sysrq-trigger").exists() {
        writes.push(("/proc/sysrq-trigger", String::new()));
    }
    for (path, content) in writes {
        let write = masked(&rootfs, &["write", path, &content]).json();
        assert_eq!(
            write["errno"],
            json!(libc::EROFS),
            "writing {path} must fail with EROFS: {write}"
        );
    }
}

// ---------------------------------------------------------------- 03.8

/// `dockyard run --rootfs ROOTFS -- ARGS…`, not started yet.
fn dockyard_cmd(rootfs: &Rootfs, args: &[&str]) -> StdCommand {
    let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_dockyard-03"));
    cmd.args(["run", "--rootfs"])
        .arg(rootfs.path())
        .arg("--")
        .args(args);
    cmd
}

/// `dockyard run --rootfs ROOTFS -- ARGS…`, run to its end.
fn dockyard_in(rootfs: &Rootfs, args: &[&str]) -> Output {
    kit::run_or(
        &mut dockyard_cmd(rootfs, args),
        DEADLINE,
        "dockyard run never exited: did the container start (check 03.8's steps) and exit?",
    )
}

#[test]
fn t03_8_mountinfo_lists_exactly_the_expected_mounts() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let report = report_of(&dockyard_in(&rootfs, &["/probe", "report"]));
    let mounts = mounts_of(&report);
    let mut table = String::new();
    for m in &mounts {
        let point = m["mount_point"].as_str().unwrap();
        let is_extra = mask::MASKED.contains(&point) || mask::READ_ONLY.contains(&point);
        if is_extra {
            continue;
        }
        let fs_type = if point == "/" {
            "[host fs]"
        } else {
            m["fs_type"].as_str().unwrap()
        };
        let ro = if has_option(m, "ro") { "ro" } else { "rw" };
        // Propagation fields (shared:N, master:N) would show after the mode.
        let optional = m["optional"].as_str().unwrap();
        table += format!("{point:<10} {fs_type:<10} {ro} {optional}").trim_end();
        table += "\n";
    }
    insta::assert_snapshot!(table);
    // The masked and read-only paths: exactly those this kernel has.
    let extra: Vec<&str> = mounts
        .iter()
        .map(|m| m["mount_point"].as_str().unwrap())
        .filter(|p| mask::MASKED.contains(p) || mask::READ_ONLY.contains(p))
        .collect();
    let expected: Vec<&str> = mask::MASKED
        .iter()
        .chain(&mask::READ_ONLY)
        .copied()
        .filter(|p| Path::new(p).exists())
        .collect();
    let mut extra_sorted = extra.clone();
    extra_sorted.sort();
    let mut expected_sorted = expected;
    expected_sorted.sort();
    assert_eq!(extra_sorted, expected_sorted, "masked and read-only mounts");
}

#[test]
fn t03_8_the_container_sees_only_itself() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let marker = host_marker(&check);
    let sys_file = format!("/sys/dockyard-{}", random::token(6));
    let report = report_of(&dockyard_in(&rootfs, &["/probe", "report"]));
    assert_eq!(
        report.at("/processes"),
        &json!([1]),
        "/proc must show only the container's processes"
    );
    let write = dockyard_in(&rootfs, &["/probe", "write", &sys_file, "x"]).json();
    assert_eq!(
        write["errno"],
        json!(libc::EROFS),
        "writing under /sys must fail with EROFS: {write}"
    );
    let read = dockyard_in(&rootfs, &["/probe", "cat", marker.to_str().unwrap()]).json();
    assert_eq!(
        read["errno"],
        json!(libc::ENOENT),
        "the host's files must be unreachable: {read}"
    );
}

#[test]
fn t03_8_the_breakout_fails_in_a_container() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let marker = host_marker(&check);
    let out = dockyard_in(&rootfs, &["/probe", "breakout", marker.to_str().unwrap()]);
    assert_eq!(out.json()["escaped"], false, "{}", out.describe());
}

/// Start `/probe true` in the rootfs with the setup step `step` failing.
fn fail_at(step: &str) {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let mut cmd = Command::new("/probe");
    cmd.arg("true");
    let config = Config {
        fail_at: Some(step.to_owned()),
        ..Config::default()
    };
    let result = check.within(DEADLINE, "spawn did not return after a failed step", || {
        rootfs::spawn(&cmd, &config, rootfs.path(), rootfs::RootMode::Pivot).map(|_| ())
    });
    match result {
        Err(rootfs::Error::Namespaces(namespaces::Error::Spawn(SpawnError::Setup {
            step: name,
            errno: Errno::ECANCELED,
        }))) => assert_eq!(name, step, "the error names the step that failed"),
        other => panic!("expected the step {step:?} to fail with ECANCELED, got {other:?}"),
    }
    // The leak guard asserts that nothing stayed mounted and no process is left.
}

#[test]
fn t03_8_a_failure_making_mounts_private_leaves_nothing_behind() {
    fail_at(STEPS[0]);
}

#[test]
fn t03_8_a_failure_binding_the_rootfs_leaves_nothing_behind() {
    fail_at(STEPS[1]);
}

#[test]
fn t03_8_a_failure_mounting_proc_and_sys_leaves_nothing_behind() {
    fail_at(STEPS[2]);
}

#[test]
fn t03_8_a_failure_setting_up_dev_leaves_nothing_behind() {
    fail_at(STEPS[3]);
}

#[test]
fn t03_8_a_failure_changing_the_root_leaves_nothing_behind() {
    fail_at(STEPS[4]);
}

#[test]
fn t03_8_a_failure_masking_paths_leaves_nothing_behind() {
    fail_at(STEPS[5]);
}

#[test]
fn t03_8_the_steps_run_in_order() {
    let (_check, rootfs) = with_rootfs();
    let layout = Layout::new(rootfs.path()).expect("a layout of the rootfs");
    let steps = rootfs::spawn::rootfs_steps(&layout, rootfs::RootMode::Pivot);
    assert_eq!(
        steps.names(),
        STEPS,
        "every rootfs step, once each, in the order they must run"
    );
}

#[test]
fn t03_8_an_inherited_fd_does_not_reach_the_host() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let marker = host_marker(&check);
    // A careless caller: a directory fd of the host's `/`, not close-on-exec,
    // at fd 9. Through /proc/self/fd/9 it would still reach the host after
    // pivot_root: runc's CVE-2024-21626.
    let through_fd = format!("/proc/self/fd/9{}", marker.display());
    let mut cmd = dockyard_cmd(&rootfs, &["/probe", "cat", &through_fd, "then", "report"]);
    // SAFETY: open and dup2 are plain system calls.
    unsafe {
        cmd.pre_exec(|| {
            let root = libc::open(c"/".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            libc::dup2(root, 9);
            Ok(())
        });
    }
    let out = kit::run_or(
        &mut cmd,
        DEADLINE,
        "dockyard run did not finish: does the container start?",
    );
    let lines = out.json_lines();
    assert!(
        lines
            .first()
            .is_some_and(|read| read["errno"] != json!(null)),
        "the container read a host file through an inherited fd: mark every fd above 2 \
         close-on-exec before exec (lab 01, task 01.5)\n{}",
        out.describe()
    );
}
