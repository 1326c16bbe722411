//! The checks of lab 05. Each is named `t05_K_…` after the task it checks.
//!
//! Task 05.1 is checked as a unit (the status a state file gives, against
//! live, dead and *reused* pids). Tasks 05.2 and 05.3 drive the binary
//! the way containerd's shim does — `create`, `start`, `state`, `kill`,
//! `delete`, each a process of its own with the same `--root` — and judge
//! the container from inside with the probe. The container's stdout is
//! `create`'s: a file in the check's temp dir, read as the probe writes it.
//!
//! The bundles of 05.2 have no mounts, no masked paths and no
//! capabilities object, so they run whatever task 05.3's code does; the
//! checks of 05.3 use a config shaped like `runc spec`'s, with random
//! values where a learner could hard-code one.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kit::rootfs::Rootfs;
use kit::{Check, DEADLINE, probe, random, require_root};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use runtime::state::{State, Status, process_start_time};
use serde_json::{Value, json};

const LAB: &str = "05";
const RUNTIME: &str = env!("CARGO_BIN_EXE_dockyard-runtime");
const RUNC_SPEC: &str = include_str!("runc-spec.json");

// ------------------------------------------------------------- helpers

/// A check, its runtime root and a bundle whose rootfs holds the probe.
struct Setup {
    check: Check,
    root: PathBuf,
    bundle: PathBuf,
    runs: std::cell::Cell<u32>,
}

/// What one runtime command did.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// The command failed — `what` is what should not have worked — and
    /// its error says each of `needles` (the field, the step, the id…).
    fn refused(&self, what: &str, needles: &[&str]) -> &Ran {
        assert_ne!(self.code, Some(0), "{what} succeeded");
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "{what}: the error should say {needle:?}: {:?}",
                self.stderr
            );
        }
        self
    }

    fn ok(&self, what: &str) -> &Ran {
        assert_eq!(
            self.code,
            Some(0),
            "`dockyard-runtime {what}` failed: {}",
            self.stderr.trim()
        );
        self
    }
}

impl Setup {
    /// A bundle with `config` as config.json.
    fn new(config: &Value) -> Setup {
        let check = Check::new();
        let bundle = check.dir().join("bundle");
        Rootfs::create(&bundle.join("rootfs"), probe()).expect("make the rootfs");
        fs::write(bundle.join("config.json"), config.to_string()).expect("write config.json");
        Setup {
            root: check.dir().join("state"),
            check,
            bundle,
            runs: std::cell::Cell::new(0),
        }
    }

    /// No directory of `id` is left under the root `after` a refused
    /// create (the leak guard, when the setup drops, looks for processes,
    /// cgroups and mounts).
    fn left_nothing(&self, id: &str, after: &str) {
        let dir = self.root.join(id);
        assert!(!dir.exists(), "{after} leaves {}", dir.display());
    }

    /// `exec DETACH --pid-file F ID /probe sleep 60` (`DETACH`: `-d` or
    /// `--detach`): the pid it wrote.
    fn exec_sleeping(&self, id: &str, detach: &str) -> i32 {
        let pid_file = self
            .check
            .dir()
            .join(format!("exec-{}.pid", random::token(6)));
        let pid_arg = pid_file.display().to_string();
        let args = [
            "exec",
            detach,
            "--pid-file",
            &pid_arg,
            id,
            "/probe",
            "sleep",
            "60",
        ];
        self.rt(&args).ok(&format!("exec {detach} --pid-file"));
        fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .expect("exec --pid-file wrote no pid")
    }

    /// The pid in `state ID`.
    fn pid(&self, id: &str) -> i32 {
        let state = self.state(id);
        let pid = state["pid"].as_i64();
        pid.unwrap_or_else(|| panic!("state {id} has no pid: {state}")) as i32
    }

    /// `dockyard-runtime --root R ARGS…`, its output to files (a
    /// container started by it holds them), within the kit's deadline.
    fn rt(&self, args: &[&str]) -> Ran {
        let n = self.runs.get() + 1;
        self.runs.set(n);
        let out = self.check.dir().join(format!("out-{n}"));
        let err = self.check.dir().join(format!("err-{n}"));
        let mut cmd = Command::new(RUNTIME);
        cmd.arg("--root").arg(&self.root).args(args);
        cmd.stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap());
        let hint = format!(
            "`dockyard-runtime {}` did not return: does create return once the \
             container is created, and start once it has opened the FIFO?",
            args.join(" ")
        );
        let status = self.check.within(DEADLINE, &hint, || {
            cmd.status().expect("run dockyard-runtime")
        });
        Ran {
            code: status.code(),
            stdout: fs::read_to_string(&out).unwrap_or_default(),
            stderr: fs::read_to_string(&err).unwrap_or_default(),
        }
    }

    fn create(&self, id: &str) -> Ran {
        let bundle = self.bundle.display().to_string();
        self.rt(&["create", "--bundle", &bundle, id])
    }

    /// The output the container wrote (create's stdout is the first run's).
    fn container_output(&self, create_run: u32) -> String {
        fs::read_to_string(self.check.dir().join(format!("out-{create_run}"))).unwrap_or_default()
    }

    fn state(&self, id: &str) -> Value {
        let ran = self.rt(&["state", id]);
        ran.ok(&format!("state {id}"));
        serde_json::from_str(&ran.stdout)
            .unwrap_or_else(|e| panic!("`state {id}` printed no JSON ({e}): {:?}", ran.stdout))
    }

    /// Wait until `state ID` says `status`.
    fn await_status(&self, id: &str, status: &str, hint: &str) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let state = self.state(id);
            if state["status"] == status {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "{hint}: `state {id}` still says {} after {DEADLINE:?}",
                state["status"]
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until the container wrote a line containing `text`.
    fn await_output(&self, create_run: u32, text: &str, hint: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let out = self.container_output(create_run);
            if out.contains(text) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "{hint}; the container printed {out:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The container has exited: reap it (the check is its subreaper
    /// once `create` has gone) so that nothing is left behind.
    fn reap(&self, pid: i32) {
        let _ = self
            .check
            .within(DEADLINE, "the container did not exit", || {
                waitpid(Pid::from_raw(pid), None)
            });
    }
}

/// A bundle's config without mounts, masks or capabilities: what 05.2
/// needs, and nothing of 05.3.
fn minimal_config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "root": { "path": "rootfs" },
        "process": {
            "user": { "uid": 0, "gid": 0 },
            "args": args,
            "env": ["PATH=/bin"],
            "cwd": "/"
        },
        "hostname": random::hostname(),
        "linux": {
            "namespaces": [
                { "type": "pid" }, { "type": "ipc" }, { "type": "uts" },
                { "type": "mount" }, { "type": "network" }
            ]
        }
    })
}

fn random_id() -> String {
    format!("c-{}", random::token(10))
}

fn cgroup_dirs_of(root: &Path, id: &str) -> Vec<PathBuf> {
    let text = fs::read_to_string(root.join(id).join("state.json")).unwrap_or_default();
    let state: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    state["cgroupDirs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(PathBuf::from))
        .collect()
}

// ---------------------------------------------------------------- 05.1

/// A sleeping child of the test (the check owns it: the leak guard knows it).
fn sleeper() -> std::process::Child {
    Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("start sleep")
}

#[test]
fn t05_1_the_status_is_derived_from_the_process_and_its_start_time() {
    require_root(LAB);
    let check = Check::new();
    let mut child = sleeper();
    let pid = child.id() as i32;
    let started = process_start_time(pid).expect("the sleeper's start time");
    let fifo = check.dir().join("exec.fifo");
    fs::write(&fifo, "").unwrap();
    let mut state = State::new(&random_id(), check.dir(), Default::default());
    state.pid = Some(pid);
    state.start_time = Some(started);
    state.status = Status::Created;
    assert_eq!(
        state.current_status(&fifo),
        Status::Created,
        "a live process whose exec FIFO is still there is created"
    );
    fs::remove_file(&fifo).unwrap();
    assert_eq!(
        state.current_status(&fifo),
        Status::Running,
        "a live process whose FIFO was opened and removed (by start) is running"
    );
    let other = started + u64::from(random::int(1..=1000));
    state.start_time = Some(other);
    assert_eq!(
        state.current_status(&fifo),
        Status::Stopped,
        "pid {pid} started at tick {started}, not at {other} as recorded: it is another \
         process that got the container's pid after it exited — compare the start time \
         (field 22 of /proc/PID/stat), not only the pid"
    );
    state.start_time = Some(started);
    child.kill().unwrap();
    // Not reaped yet: a zombie has exited.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        state.current_status(&fifo),
        Status::Stopped,
        "an exited process (a zombie, not yet reaped by its parent) is stopped"
    );
    child.wait().unwrap();
    assert_eq!(state.current_status(&fifo), Status::Stopped);
}

#[test]
fn t05_1_the_state_file_round_trips_with_the_spec_fields() {
    let dir = tempfile::tempdir().unwrap();
    let id = random_id();
    let key = format!("org.example.{}", random::token(6));
    let annotations = [(key.clone(), random::token(8))].into_iter().collect();
    let mut state = State::new(&id, Path::new("/some/bundle"), annotations);
    assert_eq!(
        state.current_status(&dir.path().join("exec.fifo")),
        Status::Creating,
        "a container without a pid yet is being created"
    );
    state.pid = Some(random::int(2..=30000) as i32);
    state.save(dir.path()).unwrap();
    let names: BTreeSet<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["state.json".to_string()]),
        "save leaves state.json and nothing else (its temporary file is renamed into place)"
    );
    let text = fs::read_to_string(dir.path().join("state.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    for field in ["ociVersion", "id", "status", "bundle", "annotations"] {
        assert!(
            !json[field].is_null(),
            "state.json has no {field:?}: {text}"
        );
    }
    assert_eq!(json["id"], id);
    assert_eq!(json["annotations"][&key], state.annotations[&key]);
    assert_eq!(State::load(dir.path()).unwrap(), state);
    let public = state.public(Status::Running);
    assert_eq!(public["status"], "running");
    assert_eq!(public["pid"], state.pid.unwrap());
}

// ---------------------------------------------------------------- 05.2

#[test]
fn t05_2_create_start_kill_delete_is_the_lifecycle() {
    require_root(LAB);
    let setup = Setup::new(&minimal_config(&["/probe", "signals"]));
    let id = random_id();
    setup.create(&id).ok("create");
    let create_run = setup.runs.get();
    let state = setup.state(&id);
    assert_eq!(state["status"], "created", "after create: {state}");
    assert_eq!(state["id"], id.as_str());
    let pid = state["pid"]
        .as_i64()
        .expect("a created container's state has a pid") as i32;
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_ne!(
        comm.trim(),
        "probe",
        "the program ran before start: create must hold it at the exec FIFO"
    );
    assert!(
        setup.container_output(create_run).is_empty(),
        "the program printed before start"
    );
    setup.rt(&["start", &id]).ok("start");
    setup.await_output(create_run, "ready", "the probe never started after start");
    assert_eq!(setup.state(&id)["status"], "running");
    let signal = [Signal::SIGUSR1, Signal::SIGUSR2, Signal::SIGHUP][fastrand::usize(0..3)];
    setup.rt(&["kill", &id, signal.as_str()]).ok("kill");
    setup.await_output(
        create_run,
        signal.as_str(),
        &format!("kill {id} {signal} did not reach the container's process"),
    );
    setup.rt(&["kill", &id, "TERM"]).ok("kill TERM");
    setup.await_status(&id, "stopped", "the container exited on SIGTERM");
    setup.reap(pid);
    let cgroups = cgroup_dirs_of(&setup.root, &id);
    setup.rt(&["delete", &id]).ok("delete");
    assert!(
        !setup.root.join(&id).exists(),
        "delete leaves {}",
        setup.root.join(&id).display()
    );
    for dir in cgroups {
        assert!(!dir.exists(), "delete leaves the cgroup {}", dir.display());
    }
    let after = setup.rt(&["state", &id]);
    assert_ne!(
        after.code,
        Some(0),
        "state of a deleted container succeeded"
    );
}

/// The container is in every one of its cgroups when create returns, alone
/// there, and the thread that created it is back in its own cgroups: the
/// runtime is born into its cgroups (clone3 into v2, the creating thread's
/// round trip through v1; see birth.rs) instead of moving the child, and a
/// round trip that forgets to come back, or comes back elsewhere, leaves
/// the caller's thread in the container's cgroups — under its limits,
/// killed with it. Called in-process, from this thread, as labs 07–09 do.
/// With `pids.limit` 1 the round trip has no room (the thread counts):
/// create must still work.
#[test]
fn t05_2_the_container_is_alone_in_its_cgroups_and_create_comes_back() {
    require_root(LAB);
    const OWN: &str = "/proc/thread-self/cgroup";
    for limit in [random::int(2..=64), 1] {
        let mut config = minimal_config(&["/probe", "true"]);
        config["linux"]["resources"] = json!({ "pids": { "limit": limit } });
        let setup = Setup::new(&config);
        let id = random_id();
        let bundle = runtime::bundle::Bundle::load(&setup.bundle).expect("load the bundle");
        // All on one thread: the one that calls create (`within` runs the
        // closure on a thread of its own).
        let observed = setup
            .check
            .within(DEADLINE, "create (in-process) did not return", || {
                let before = fs::read_to_string(OWN).expect("read this thread's cgroups");
                let created =
                    runtime::container::create(&setup.root, &id, &bundle, &Default::default());
                let after = fs::read_to_string(OWN).expect("read this thread's cgroups");
                let dirs = cgroup_dirs_of(&setup.root, &id);
                let listed: Vec<(PathBuf, String)> = dirs
                    .iter()
                    .map(|dir| {
                        let procs =
                            fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                        (dir.clone(), procs.trim().to_owned())
                    })
                    .collect();
                let current = dirs
                    .iter()
                    .find_map(|dir| fs::read_to_string(dir.join("pids.current")).ok());
                (before, created, after, listed, current)
            });
        let (before, created, after, listed, current) = observed;
        let pid = match created {
            Ok(pid) => pid.as_raw(),
            Err(err) => panic!("create with pids.limit {limit} failed: {err}"),
        };
        setup.rt(&["delete", "--force", &id]).ok("delete --force");
        setup.reap(pid);
        assert_eq!(
            after, before,
            "with pids.limit {limit}: the thread that called create is not back in \
             its own cgroups (a v1 round trip must write 0 to its own `tasks` again)"
        );
        assert!(!listed.is_empty(), "the state names no cgroup directory");
        for (dir, procs) in listed {
            assert_eq!(
                procs,
                pid.to_string(),
                "with pids.limit {limit}: {}/cgroup.procs should list the container's \
                 process, alone",
                dir.display()
            );
        }
        if let Some(current) = current {
            assert_eq!(
                current.trim(),
                "1",
                "with pids.limit {limit}: pids.current counts a task besides the container's"
            );
        }
    }
}

/// CPU time the process `pid` has used, in clock ticks (utime + stime).
fn cpu_ticks(pid: i32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's name in parentheses, fields 3…: utime is 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |k: usize| {
        fields
            .get(k)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// Thaws the cgroups it holds when dropped (also when a check panics).
struct Thaw(Vec<PathBuf>);

impl Drop for Thaw {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = fs::write(dir.join("freezer.state"), "THAWED");
            let _ = fs::write(dir.join("cgroup.freeze"), "0");
        }
    }
}

/// `update` (`docker update`): new limits on a running container's
/// cgroup, read back on the host. The new memory limit is above the old
/// memory+swap total: on cgroup v1 the total must be raised first (an
/// update that writes memory first gets EINVAL). runc's flags (`--memory
/// 200m`, `--pids-limit`, `--cpu-quota`) set the same limits, a period
/// alone keeps the quota, and -1 removes a limit (`docker update
/// --pids-limit -1` sends that). What it cannot do is refused by name: an
/// unknown id, a malformed object (its JSON path), a field it does not
/// set, a stopped container.
#[test]
fn t05_2_update_sets_new_limits_on_a_running_container() {
    require_root(LAB);
    const MIB: u64 = 1 << 20;
    let mut config = minimal_config(&["/probe", "sleep", "30"]);
    config["linux"]["resources"] = json!({
        "memory": { "limit": 64 * MIB, "swap": 128 * MIB },
        "pids": { "limit": 16 }
    });
    let setup = Setup::new(&config);
    let id = random_id();
    setup.create(&id).ok("create");
    setup.rt(&["start", &id]).ok("start");
    let pid = setup.pid(&id);
    let memory = random::int(160..=256) as u64 * MIB;
    let pids = random::int(20..=60) as u64;
    let file = setup.check.dir().join("resources.json");
    let resources = |value: Value| {
        fs::write(&file, value.to_string()).unwrap();
        file.display().to_string()
    };
    // As Docker sends it: zeros for what was not asked to change.
    let new = json!({
        "memory": { "limit": memory, "swap": 2 * memory },
        "pids": { "limit": pids },
        "cpu": { "shares": 0, "quota": 0, "period": 0 }
    });
    setup
        .rt(&["update", "--resources", &resources(new), &id])
        .ok("update --resources FILE ID");
    let dirs = cgroup_dirs_of(&setup.root, &id);
    let read = |name: &str| {
        dirs.iter()
            .map(|d| d.join(name))
            .find(|p| p.exists())
            .map(|p| fs::read_to_string(p).unwrap_or_default().trim().to_string())
    };
    let (memory_file, swap_file, swap) = match read("memory.limit_in_bytes") {
        Some(_) => (
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            2 * memory,
        ),
        None => ("memory.max", "memory.swap.max", memory),
    };
    assert_eq!(
        read(memory_file),
        Some(memory.to_string()),
        "{memory_file} after an update to {memory} (from 64 MiB, with 128 MiB of memory+swap)"
    );
    if let Some(value) = read(swap_file) {
        assert_eq!(value, swap.to_string(), "{swap_file} after the update");
    }
    assert_eq!(
        read("pids.max"),
        Some(pids.to_string()),
        "pids.max after the update"
    );
    // Memory alone: the swap stays what it is (not the 2× memory that
    // `create` gives a new container).
    let lower = random::int(96..=150) as u64 * MIB;
    let alone = json!({ "memory": { "limit": lower } });
    setup
        .rt(&["update", "--resources", &resources(alone), &id])
        .ok("update of the memory limit alone");
    assert_eq!(
        read(memory_file),
        Some(lower.to_string()),
        "{memory_file} after an update to {lower}"
    );
    if let Some(value) = read(swap_file) {
        assert_eq!(
            value,
            swap.to_string(),
            "{swap_file} after an update of the memory limit alone: the swap must stay"
        );
    }
    if memory_file == "memory.limit_in_bytes" && read(swap_file).is_some() {
        // v1: above the memory+swap total it keeps, refused by name.
        let above = json!({ "memory": { "limit": 3 * memory } });
        setup
            .rt(&["update", "--resources", &resources(above), &id])
            .refused(
                "update of the memory limit above the memory+swap total",
                &["memory.limit", "memory+swap"],
            );
    }
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the container's process is gone after the update"
    );
    let unknown = random_id();
    let bad = json!({ "memory": { "limit": "lots" } });
    setup
        .rt(&["update", "--resources", &resources(bad), &id])
        .refused("update with a string as memory.limit", &["memory.limit"]);
    let cpus = json!({ "cpu": { "cpus": "0" } });
    setup
        .rt(&["update", "--resources", &resources(cpus), &id])
        .refused("update of cpu.cpus (cpusets are not set)", &["cpu.cpus"]);
    setup
        .rt(&["update", "--resources", &resources(json!({})), &unknown])
        .refused("update of an unknown id", &[unknown.as_str()]);
    assert_eq!(
        read("pids.max"),
        Some(pids.to_string()),
        "a refused update changed pids.max"
    );
    // runc's flags, with Docker's units.
    let flagged = random::int(61..=90) as u64;
    let mib = random::int(160..=256) as u64;
    let (memory_flag, swap_flag) = (format!("{mib}m"), format!("{}m", 2 * mib));
    let quota = random::int(20..=80) as u64 * 1000;
    setup
        .rt(&[
            "update",
            "--pids-limit",
            &flagged.to_string(),
            "--memory",
            &memory_flag,
            "--memory-swap",
            &swap_flag,
            "--cpu-quota",
            &quota.to_string(),
            "--cpu-period",
            "100000",
            &id,
        ])
        .ok("update --pids-limit N --memory Mm --memory-swap Sm --cpu-quota Q --cpu-period P ID");
    assert_eq!(
        read(memory_file),
        Some((mib * MIB).to_string()),
        "{memory_file} after update --memory {memory_flag}"
    );
    assert_eq!(
        read("pids.max"),
        Some(flagged.to_string()),
        "pids.max after update --pids-limit {flagged}"
    );
    let v2 = memory_file == "memory.max";
    let cpu = || read(if v2 { "cpu.max" } else { "cpu.cfs_quota_us" });
    let quota_set = if v2 {
        format!("{quota} 100000")
    } else {
        quota.to_string()
    };
    assert_eq!(
        cpu(),
        Some(quota_set),
        "the CPU quota after update --cpu-quota {quota}"
    );
    setup
        .rt(&["update", "--memory", "12q", &id])
        .refused("update --memory 12q", &["--memory", "12q"]);
    // A period alone: the quota stays.
    let period = json!({ "cpu": { "period": 50000 } });
    setup
        .rt(&["update", "--resources", &resources(period), &id])
        .ok("update of cpu.period alone");
    let (file, want) = if v2 {
        ("cpu.max", format!("{quota} 50000"))
    } else {
        ("cpu.cfs_period_us", "50000".to_string())
    };
    assert_eq!(
        read(file),
        Some(want),
        "{file} after an update of the period alone to 50000"
    );
    if !v2 {
        assert_eq!(
            cpu(),
            Some(quota.to_string()),
            "cpu.cfs_quota_us after an update of the period alone: the quota must stay"
        );
    }
    // -1 removes a limit: `docker update --pids-limit -1` sends this.
    let none = json!({
        "memory": { "limit": -1, "swap": -1 },
        "pids": { "limit": -1 },
        "cpu": { "quota": -1 }
    });
    setup
        .rt(&["update", "--resources", &resources(none), &id])
        .ok("update with -1 for memory.limit, memory.swap, pids.limit, cpu.quota");
    assert_eq!(
        read("pids.max").as_deref(),
        Some("max"),
        "pids.max after an update of pids.limit to -1 (no limit)"
    );
    let (no_quota, no_memory) = if v2 {
        (
            Some("max 50000".to_string()),
            read(memory_file) == Some("max".into()),
        )
    } else {
        (
            Some("-1".to_string()),
            // v1's "no limit" is PAGE_COUNTER_MAX pages: about 2^63 bytes.
            read(memory_file)
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|v| v >= 1 << 62),
        )
    };
    assert_eq!(
        cpu(),
        no_quota,
        "the CPU quota after an update of cpu.quota to -1"
    );
    assert!(
        no_memory,
        "{memory_file} after an update of memory.limit to -1 (no limit): {:?}",
        read(memory_file)
    );
    setup.rt(&["kill", &id, "KILL"]).ok("kill KILL");
    setup.await_status(&id, "stopped", "the container did not die of SIGKILL");
    setup.reap(pid);
    setup
        .rt(&["update", "--resources", &resources(json!({})), &id])
        .refused("update of a stopped container", &["stopped"]);
    setup.rt(&["delete", &id]).ok("delete");
}

/// `pause` freezes the container (`docker pause`): a process spinning on
/// the CPU makes no progress while paused, and does again after `resume`;
/// state says "paused"; pausing a created container, resuming a running
/// one and deleting a paused one without --force are refused; SIGKILL
/// kills a paused container (on cgroup v1 a frozen task dies only once
/// thawed: `kill` must thaw it).
#[test]
fn t05_2_pause_freezes_and_resume_thaws() {
    require_root(LAB);
    let setup = Setup::new(&minimal_config(&["/probe", "spin", "60"]));
    let id = random_id();
    setup.create(&id).ok("create");
    let pid = setup.pid(&id);
    // Whatever fails below, nothing stays frozen: a frozen process
    // cannot be killed, and would outlive the check.
    let _thaw = Thaw(cgroup_dirs_of(&setup.root, &id));
    setup
        .rt(&["pause", &id])
        .refused("pause of a created container", &["created"]);
    setup.rt(&["start", &id]).ok("start");
    setup
        .rt(&["resume", &id])
        .refused("resume of a running container", &["running"]);
    let progress = |what: &str| {
        let before = cpu_ticks(pid);
        std::thread::sleep(Duration::from_millis(400));
        let used = cpu_ticks(pid).saturating_sub(before);
        eprintln!("{what}: {used} ticks in 400 ms");
        used
    };
    assert!(
        progress("running") > 5,
        "the spinning probe used no CPU before pause"
    );
    setup.rt(&["pause", &id]).ok("pause");
    assert_eq!(setup.state(&id)["status"], "paused", "state after pause");
    assert_eq!(progress("paused"), 0, "the container used CPU while paused");
    setup
        .rt(&["delete", &id])
        .refused("delete of a paused container without --force", &["paused"]);
    setup.rt(&["resume", &id]).ok("resume");
    assert_eq!(setup.state(&id)["status"], "running", "state after resume");
    assert!(
        progress("resumed") > 5,
        "the container made no progress after resume"
    );
    setup.rt(&["pause", &id]).ok("pause again");
    setup
        .rt(&["kill", &id, "KILL"])
        .ok("kill KILL of a paused container");
    setup.await_status(&id, "stopped", "a paused container did not die of SIGKILL");
    setup.reap(pid);
    setup.rt(&["delete", &id]).ok("delete");
}

/// The inode of namespace `name` of process `pid`, as the host sees it.
fn ns_inode(pid: i32, name: &str) -> Option<u64> {
    let link = fs::read_link(format!("/proc/{pid}/ns/{name}")).ok()?;
    let text = link.to_string_lossy().into_owned();
    text.rsplit_once('[')?.1.trim_end_matches(']').parse().ok()
}

/// `exec` (`docker exec`) runs a process in the running container: with
/// its hostname, in every one of its namespaces and its cgroups (read on
/// the host, with `--detach --pid-file`), its exit code coming back;
/// refused for a created container. An exec that forgot the pid namespace
/// (setns affects only children) or the cgroups fails here.
#[test]
fn t05_2_exec_runs_a_process_in_the_running_container() {
    require_root(LAB);
    let config = minimal_config(&["/probe", "sleep", "60"]);
    let hostname = config["hostname"].as_str().unwrap().to_owned();
    let setup = Setup::new(&config);
    let id = random_id();
    setup.create(&id).ok("create");
    let pid = setup.pid(&id);
    setup
        .rt(&["exec", &id, "/probe", "true"])
        .refused("exec in a created container", &["created"]);
    setup.rt(&["start", &id]).ok("start");
    let ran = setup.rt(&["exec", &id, "/probe", "report"]);
    ran.ok("exec ID /probe report");
    let line = ran.stdout.lines().last().unwrap_or_default();
    let report: Value = serde_json::from_str(line)
        .unwrap_or_else(|err| panic!("exec's probe printed no report ({err}): {:?}", ran.stdout));
    assert_eq!(
        report["hostname"],
        hostname.as_str(),
        "hostname seen by exec"
    );
    let code = random::int(3..=120);
    let ran = setup.rt(&["exec", &id, "/probe", "exit", &code.to_string()]);
    assert_eq!(
        ran.code,
        Some(code as i32),
        "exec's exit code: {}",
        ran.stderr
    );
    let exec_pid = setup.exec_sleeping(&id, "--detach");
    // Seen from the host: the same namespaces as the container's first
    // process (this config mounts no /proc inside to look from there).
    for name in ["mnt", "uts", "ipc", "net", "pid", "cgroup"] {
        assert_eq!(
            ns_inode(exec_pid, name),
            ns_inode(pid, name),
            "the exec'd process is not in the container's {name} namespace"
        );
    }
    for dir in cgroup_dirs_of(&setup.root, &id) {
        let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        assert!(
            procs
                .lines()
                .any(|line| line.trim() == exec_pid.to_string()),
            "the exec'd process {exec_pid} is not in the container's cgroup {}: {procs:?}",
            dir.display()
        );
    }
    setup.rt(&["delete", "--force", &id]).ok("delete --force");
    // The exec'd process first: the container's first process, its pid
    // namespace's init, cannot finish exiting until every process of the
    // namespace is reaped — and this one's parent is now the check.
    setup.reap(exec_pid);
    setup.reap(pid);
}

#[test]
fn t05_2_wrong_states_unknown_and_duplicate_ids_are_errors() {
    require_root(LAB);
    let setup = Setup::new(&minimal_config(&["/probe", "sleep", "30"]));
    let id = random_id();
    let unknown = random_id();
    for args in [
        vec!["state", unknown.as_str()],
        vec!["start", unknown.as_str()],
        vec!["kill", unknown.as_str(), "KILL"],
        vec!["delete", unknown.as_str()],
    ] {
        let ran = setup.rt(&args);
        ran.refused(&format!("`{}` of an unknown id", args[0]), &[&unknown]);
    }
    setup.create(&id).ok("create");
    let pid = setup.pid(&id);
    let again = setup.create(&id);
    again.refused("a second create with the same id", &[]);
    let state = setup.state(&id);
    assert_eq!(
        (state["status"].as_str(), state["pid"].as_i64()),
        (Some("created"), Some(i64::from(pid))),
        "a refused duplicate create changed the first container"
    );
    setup.rt(&["start", &id]).ok("start");
    let twice = setup.rt(&["start", &id]);
    twice.refused("start of a running container", &[]);
    let deleted = setup.rt(&["delete", &id]);
    deleted.refused("delete of a running container without --force", &[]);
    assert_eq!(
        setup.state(&id)["status"],
        "running",
        "a refused delete stopped it"
    );
    setup.rt(&["delete", "--force", &id]).ok("delete --force");
    setup.reap(pid);
    assert!(!setup.root.join(&id).exists());
}

#[test]
fn t05_2_a_refused_config_names_the_json_path_and_leaves_nothing() {
    require_root(LAB);
    let mut config = minimal_config(&["/probe", "true"]);
    let uid = random::token(4);
    config["process"]["user"]["uid"] = json!(uid);
    let setup = Setup::new(&config);
    let id = random_id();
    let ran = setup.create(&id);
    ran.refused(&format!("a uid of {uid:?}"), &["process.user.uid"]);
    for (path, value, what) in [
        ("/ociVersion", json!("2.0.0"), "ociVersion"),
        ("/root/path", json!("no-such-rootfs"), "rootfs"),
    ] {
        let mut bad = minimal_config(&["/probe", "true"]);
        *bad.pointer_mut(path).unwrap() = value;
        fs::write(setup.bundle.join("config.json"), bad.to_string()).unwrap();
        let ran = setup.create(&id);
        ran.refused(&format!("a bad {what}"), &[what]);
    }
    // Nothing of the refused creates is left: the same id works now.
    let good = minimal_config(&["/probe", "exit", "7"]);
    fs::write(setup.bundle.join("config.json"), good.to_string()).unwrap();
    let bundle = setup.bundle.display().to_string();
    let ran = setup.rt(&["run", "--bundle", &bundle, &id]);
    assert_eq!(
        ran.code,
        Some(7),
        "run gives the container's exit code: {}",
        ran.stderr
    );
    assert!(
        !setup.root.join(&id).exists(),
        "run leaves its container's state"
    );
}

#[test]
fn t05_2_a_failure_at_every_setup_step_leaves_nothing_behind() {
    require_root(LAB);
    let setup = Setup::new(&minimal_config(&["/probe", "true"]));
    let bundle = setup.bundle.display().to_string();
    for step in runtime::container::step_names() {
        let id = random_id();
        let ran = setup.rt(&["create", "--fail-at", step, "--bundle", &bundle, &id]);
        ran.refused(&format!("create with step {step:?} failing"), &[step]);
        setup.left_nothing(&id, &format!("a failure at {step:?}"));
    }
    // The leak guard (on drop) proves no cgroup, mount or process is left.
}

#[test]
fn t05_2_a_read_only_root_dir_is_a_clear_error() {
    require_root(LAB);
    let setup = Setup::new(&minimal_config(&["/probe", "true"]));
    let ro = setup.check.dir().join("ro");
    fs::create_dir(&ro).unwrap();
    let ro_s = ro.display().to_string();
    // A read-only bind in a mount namespace of its own: nothing on the host.
    let bundle = setup.bundle.display().to_string();
    let script = format!(
        "mount --bind {ro_s} {ro_s} && mount -o remount,bind,ro {ro_s} && \
         exec {RUNTIME} --root {ro_s}/state create --bundle {bundle} x"
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script]);
    let out = kit::run_or(
        &mut cmd,
        DEADLINE,
        "create on a read-only root did not return",
    );
    assert_ne!(
        out.code,
        Some(0),
        "create under a read-only --root succeeded"
    );
    assert!(
        out.stderr.contains("Read-only") || out.stderr.contains("read-only"),
        "the error should say the root is read-only: {:?}",
        out.stderr
    );
    // And the same create works on a writable root.
    setup
        .rt(&["run", "--bundle", &bundle, &random_id()])
        .ok("run");
}

// ---------------------------------------------------------------- 05.3

/// runc's `spec`, with the probe to run and random values in the fields.
struct Asked {
    hostname: String,
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
    nofile: u64,
    oom: i32,
    env: (String, String),
    cwd: String,
    tmpfs: String,
    bind_dest: String,
    bind_file: String,
    masked: String,
    readonly: String,
    ambient: String,
}

fn runc_config(setup_dir: &Path, args: &[&str]) -> (Value, Asked) {
    let mut config: Value = serde_json::from_str(RUNC_SPEC).unwrap();
    let asked = Asked {
        hostname: random::hostname(),
        uid: random::int(1000..=60000),
        gid: random::int(1000..=60000),
        groups: vec![random::int(100..=900), random::int(60001..=65000)],
        nofile: u64::from(random::int(64..=1000)),
        oom: random::int(1..=900) as i32,
        env: (
            format!("DY_{}", random::token(6).to_uppercase()),
            random::token(12),
        ),
        cwd: format!("/work-{}", random::token(6)),
        tmpfs: format!("/scratch-{}", random::token(6)),
        bind_dest: format!("/mnt/in-{}/data", random::token(6)),
        bind_file: format!("file-{}", random::token(6)),
        masked: format!("/etc/secret-{}", random::token(6)),
        readonly: format!("/ro-{}", random::token(6)),
        ambient: ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"][fastrand::usize(0..3)]
            .to_string(),
    };
    config["process"]["capabilities"]["ambient"] = json!([asked.ambient]);
    config["process"]["args"] = json!(args);
    config["hostname"] = json!(asked.hostname);
    config["root"]["readonly"] = json!(false);
    config["process"]["user"] = json!({
        "uid": asked.uid, "gid": asked.gid, "additionalGids": asked.groups,
    });
    config["process"]["cwd"] = json!(asked.cwd);
    config["process"]["oomScoreAdj"] = json!(asked.oom);
    config["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!(format!("{}={}", asked.env.0, asked.env.1)));
    config["process"]["rlimits"] = json!([
        { "type": "RLIMIT_NOFILE", "hard": asked.nofile, "soft": asked.nofile }
    ]);
    // The sysctl needs the IPC namespace the config has.
    config["linux"]["sysctl"] = json!({ "kernel.shm_rmid_forced": "1" });
    config["linux"]["maskedPaths"]
        .as_array_mut()
        .unwrap()
        .push(json!(asked.masked));
    config["linux"]["readonlyPaths"]
        .as_array_mut()
        .unwrap()
        .push(json!(asked.readonly));
    let host_dir = setup_dir.join("shared");
    fs::create_dir_all(&host_dir).unwrap();
    fs::write(host_dir.join(&asked.bind_file), "from the host").unwrap();
    let mounts = config["mounts"].as_array_mut().unwrap();
    mounts.push(json!({
        "destination": asked.tmpfs, "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "size=1m", "mode=1777"]
    }));
    mounts.push(json!({
        "destination": asked.bind_dest, "type": "bind", "source": host_dir,
        "options": ["rbind", "ro", "rprivate"]
    }));
    (config, asked)
}

/// Run a runc-shaped bundle with `dockyard-runtime run`; the probe's lines.
fn run_runc_shaped(args_of: impl Fn(&Asked) -> Vec<String>) -> (Setup, Asked, Vec<Value>) {
    let setup = Setup::new(&minimal_config(&["/probe", "true"]));
    let (mut config, asked) = runc_config(setup.check.dir(), &[]);
    config["process"]["args"] = json!(args_of(&asked));
    let rootfs = setup.bundle.join("rootfs");
    fs::create_dir_all(rootfs.join(asked.cwd.trim_start_matches('/'))).unwrap();
    fs::write(
        rootfs.join(asked.masked.trim_start_matches('/')),
        "the secret",
    )
    .unwrap();
    fs::create_dir_all(rootfs.join(asked.readonly.trim_start_matches('/'))).unwrap();
    fs::write(setup.bundle.join("config.json"), config.to_string()).unwrap();
    let bundle = setup.bundle.display().to_string();
    let ran = setup.rt(&["run", "--bundle", &bundle, &random_id()]);
    let lines: Vec<Value> = ran
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        !lines.is_empty(),
        "the container printed no JSON (exit {:?}): {}",
        ran.code,
        ran.stderr.trim()
    );
    (setup, asked, lines)
}

fn mount_at<'a>(report: &'a Value, point: &str) -> Option<&'a Value> {
    report["mounts"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["mount_point"] == point)
}

#[test]
fn t05_3_a_runc_spec_config_runs_with_only_the_rootfs_swapped() {
    require_root(LAB);
    let setup = Setup::new(&serde_json::from_str::<Value>(RUNC_SPEC).unwrap());
    let mut config: Value = serde_json::from_str(RUNC_SPEC).unwrap();
    config["process"]["args"] = json!(["/probe", "report"]);
    config["process"]["terminal"] = json!(false);
    fs::write(setup.bundle.join("config.json"), config.to_string()).unwrap();
    let bundle = setup.bundle.display().to_string();
    let ran = setup.rt(&["run", "--bundle", &bundle, &random_id()]);
    ran.ok("run of runc's spec");
    let report: Value = serde_json::from_str(ran.stdout.lines().next().unwrap_or("")).unwrap();
    assert_eq!(report["hostname"], "runc");
    assert_eq!(report["pid"], 1, "the pid namespace of runc's spec");
    assert_eq!(report["no_new_privs"], true);
    let names: BTreeSet<&str> = report["capabilities"]["effective_names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["cap_audit_write", "cap_kill", "cap_net_bind_service"]),
        "runc's spec keeps three capabilities"
    );
    for point in [
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
    ] {
        assert!(mount_at(&report, point).is_some(), "no mount at {point}");
    }
    let root = mount_at(&report, "/").expect("a mount at /");
    assert!(
        root["options"]
            .as_str()
            .unwrap_or("")
            .split(',')
            .any(|o| o == "ro"),
        "runc's spec has root.readonly: / is {root}"
    );
}

#[test]
fn t05_3_every_process_field_is_applied() {
    require_root(LAB);
    let (_setup, asked, lines) = run_runc_shaped(|_| {
        let args = "/probe report then cat /proc/self/oom_score_adj \
                    then cat /proc/sys/kernel/shm_rmid_forced";
        args.split_whitespace().map(String::from).collect()
    });
    let report = &lines[0];
    assert_eq!(report["hostname"], asked.hostname.as_str());
    assert_eq!(
        (report["uid"].as_u64(), report["gid"].as_u64()),
        (Some(u64::from(asked.uid)), Some(u64::from(asked.gid))),
        "process.user's uid and gid"
    );
    let groups: BTreeSet<u64> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    let asked_groups: BTreeSet<u64> = asked.groups.iter().map(|g| u64::from(*g)).collect();
    assert_eq!(groups, asked_groups, "process.user.additionalGids, exactly");
    assert_eq!(report["cwd"], asked.cwd.as_str(), "process.cwd");
    assert_eq!(
        report["env"][&asked.env.0],
        asked.env.1.as_str(),
        "process.env"
    );
    assert_eq!(
        report["rlimits"]["nofile"],
        json!([asked.nofile, asked.nofile]),
        "process.rlimits"
    );
    assert_eq!(report["no_new_privs"], true, "process.noNewPrivileges");
    // A non-root user keeps across exec only its ambient capabilities.
    let names: Vec<&str> = report["capabilities"]["effective_names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        names,
        [asked.ambient.to_lowercase()],
        "process.capabilities.ambient: a non-root user's only capabilities after exec"
    );
    assert_eq!(
        report["capabilities"]["bounding"], "0000000020000420",
        "process.capabilities.bounding: AUDIT_WRITE, KILL, NET_BIND_SERVICE"
    );
    let text = |i: usize| {
        lines
            .get(i)
            .map(|l| l["content"].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        text(1).as_str().map(str::trim),
        Some(asked.oom.to_string().as_str()),
        "process.oomScoreAdj: {:?}",
        lines.get(1)
    );
    assert_eq!(text(2).as_str().map(str::trim), Some("1"), "linux.sysctl");
}

#[test]
fn t05_3_mounts_masks_and_read_only_paths_are_applied() {
    require_root(LAB);
    let (_setup, asked, lines) = run_runc_shaped(|asked| {
        let args = ["/probe", "report", "then", "cat", &asked.masked];
        args.map(String::from).to_vec()
    });
    let report = &lines[0];
    let tmpfs = mount_at(report, &asked.tmpfs)
        .unwrap_or_else(|| panic!("no mount at {} (config.json's tmpfs)", asked.tmpfs));
    assert_eq!(tmpfs["fs_type"], "tmpfs");
    let options = tmpfs["options"].as_str().unwrap_or("");
    assert!(
        options.contains("nosuid") && options.contains("nodev"),
        "the tmpfs's options nosuid,nodev are not applied: {tmpfs}"
    );
    let bind = mount_at(report, &asked.bind_dest)
        .unwrap_or_else(|| panic!("no mount at {} (config.json's bind)", asked.bind_dest));
    assert!(
        bind["options"]
            .as_str()
            .unwrap_or("")
            .split(',')
            .any(|o| o == "ro"),
        "the bind's ro is not applied (a bind needs a remount for it): {bind}"
    );
    let masked = mount_at(report, &asked.masked)
        .unwrap_or_else(|| panic!("{} (maskedPaths) is not masked", asked.masked));
    assert_eq!(
        masked["root"], "/null",
        "a masked file has /dev/null on it: {masked}"
    );
    assert_eq!(
        lines.get(1).map(|l| l["content"].clone()),
        Some(json!("")),
        "reading the masked {} gives nothing",
        asked.masked
    );
    let ro = mount_at(report, &asked.readonly)
        .unwrap_or_else(|| panic!("{} (readonlyPaths) has no mount", asked.readonly));
    assert!(
        ro["options"]
            .as_str()
            .unwrap_or("")
            .split(',')
            .any(|o| o == "ro"),
        "{} is not read-only: {ro}",
        asked.readonly
    );
    let sys_ro = mount_at(report, "/proc/sys").expect("/proc/sys is read-only in runc's spec");
    assert!(sys_ro["options"].as_str().unwrap_or("").contains("ro"));
}

#[test]
fn t05_3_a_failure_at_every_setup_step_of_a_full_config_leaves_nothing() {
    require_root(LAB);
    let setup = Setup::new(&minimal_config(&["/probe", "true"]));
    let (config, asked) = runc_config(setup.check.dir(), &["/probe", "true"]);
    let rootfs = setup.bundle.join("rootfs");
    fs::create_dir_all(rootfs.join(asked.cwd.trim_start_matches('/'))).unwrap();
    fs::write(setup.bundle.join("config.json"), config.to_string()).unwrap();
    let bundle = setup.bundle.display().to_string();
    for step in runtime::container::step_names() {
        let id = random_id();
        let ran = setup.rt(&["create", "--fail-at", step, "--bundle", &bundle, &id]);
        ran.refused(&format!("create with step {step:?} failing"), &[]);
        setup.left_nothing(&id, &format!("a failure at {step:?}"));
    }
    // Then the real thing works, and kill --all + delete --force clean up.
    let id = random_id();
    setup.create(&id).ok("create");
    let pid = setup.pid(&id);
    setup.rt(&["delete", "--force", &id]).ok("delete --force");
    setup.reap(pid);
    assert!(
        kill(Pid::from_raw(pid), None).is_err(),
        "delete --force left the container's process"
    );
}

// ---------------------------------------------------------------- 05.4

/// The capabilities `docker run` gives a container by default.
const DOCKER_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The default seccomp profile, as config.json carries it.
const DEFAULT_SECCOMP: &str = include_str!("default-seccomp.json");

/// runc's spec as Docker would harden it: Docker's capabilities,
/// no_new_privs, the default seccomp profile.
fn docker_config(script: &str) -> Value {
    let mut config: Value = serde_json::from_str(RUNC_SPEC).unwrap();
    config["process"]["args"] = json!(["/bin/sh", "-c", script]);
    config["root"]["readonly"] = json!(false);
    config["hostname"] = json!(random::hostname());
    for set in ["bounding", "effective", "permitted"] {
        config["process"]["capabilities"][set] = json!(DOCKER_CAPS);
    }
    config["process"]["capabilities"]["inheritable"] = json!([]);
    config["process"]["capabilities"]["ambient"] = json!([]);
    config["process"]["noNewPrivileges"] = json!(true);
    config["linux"]["seccomp"] = serde_json::from_str(DEFAULT_SECCOMP).unwrap();
    config
}

/// The same container as lab 03 ran it: every capability this host's root
/// has (a VM's root may lack some), no filter.
fn lab03_config(script: &str) -> Value {
    let mut config = docker_config(script);
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let bounding = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .expect("CapBnd in /proc/self/status");
    let all: Vec<String> = (0..=40u8)
        .filter(|n| bounding & (1 << n) != 0)
        .filter_map(caps_name)
        .collect();
    for set in ["bounding", "effective", "permitted"] {
        config["process"]["capabilities"][set] = json!(all);
    }
    config["process"]["noNewPrivileges"] = json!(false);
    config["linux"].as_object_mut().unwrap().remove("seccomp");
    config
}

fn caps_name(n: u8) -> Option<String> {
    const NAMES: [&str; 41] = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ];
    NAMES.get(usize::from(n)).map(|name| format!("CAP_{name}"))
}

/// Run `script` in a container of `config`, after `probe report`; the
/// report and the exit code the script printed as `rc=N`.
fn attempt(config: Value) -> (Value, i32, String) {
    let setup = Setup::new(&config);
    let bundle = setup.bundle.display().to_string();
    let ran = setup.rt(&["run", "--bundle", &bundle, &random_id()]);
    let report = ran
        .stdout
        .lines()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "the container did not run (exit {:?}): {}",
                ran.code,
                ran.stderr.trim()
            )
        });
    let rc = ran
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("rc=")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("the script printed no rc=: {:?}", ran.stdout));
    (report, rc, ran.stderr)
}

/// The host's disk: the block device under `/`, else the first partition,
/// else any block device the kernel has (the cgroup-v2 VM's root is a 9p
/// share and its only block devices are the loop module's).
fn host_disk() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let dev = fs::metadata("/").unwrap().dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    if major != 0 {
        return (major, minor);
    }
    let partitions = fs::read_to_string("/proc/partitions").unwrap_or_default();
    let partition = partitions.lines().skip(2).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        Some((f.first()?.parse().ok()?, f.get(1)?.parse().ok()?))
    });
    partition
        .or(block_devices().first().copied())
        .expect("this host has no block device to try the mknod escape with")
}

/// Every block device of the host (`major:minor` from sysfs), in order.
fn block_devices() -> Vec<(u32, u32)> {
    let mut all: Vec<(u32, u32)> = fs::read_dir("/sys/dev/block")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (major, minor) = name.split_once(':')?;
            Some((major.parse().ok()?, minor.parse().ok()?))
        })
        .collect();
    all.sort();
    all
}

/// An escape of lab 03, tried as Docker would run the container (must
/// fail, from inside, with the filter loaded) and as lab 03 ran it (must
/// work, or the check would prove nothing).
fn escape_fails(name: &str, script: &str) {
    escape_fails_with_control(name, script, script);
}

/// As [`escape_fails`], with another script as lab 03's control (where the
/// kernel refuses the escape itself even to the host's root).
fn escape_fails_with_control(name: &str, script: &str, control: &str) {
    let script = format!("/probe report; {script}; echo rc=$?");
    let control = format!("/probe report; {control}; echo rc=$?");
    let (report, rc, stderr) = attempt(docker_config(&script));
    assert_eq!(
        report["seccomp"], 2,
        "no seccomp filter in the container (mode {}): linux.seccomp was not loaded",
        report["seccomp"]
    );
    assert_eq!(report["no_new_privs"], true);
    assert_ne!(
        rc, 0,
        "{name} worked with Docker's capabilities, no_new_privs and the default seccomp \
         profile: {stderr}"
    );
    let (_, rc, stderr) = attempt(lab03_config(&control));
    assert_eq!(
        rc, 0,
        "{name} failed even with every capability and no filter, so its failure above \
         proves nothing: {stderr}"
    );
}

#[test]
fn t05_4_the_default_profile_compiles_and_loads() {
    require_root(LAB);
    let (report, rc, stderr) = attempt(docker_config(
        "/probe report; busybox unshare -U true; echo rc=$?",
    ));
    assert_eq!(report["seccomp"], 2, "no seccomp filter in the container");
    let names: BTreeSet<&str> = report["capabilities"]["effective_names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let docker: BTreeSet<String> = DOCKER_CAPS.iter().map(|c| c.to_lowercase()).collect();
    assert_eq!(
        names,
        docker.iter().map(String::as_str).collect(),
        "Docker's capabilities"
    );
    // A new user namespace needs no capability: only the filter refuses it.
    assert_ne!(
        rc, 0,
        "unshare(CLONE_NEWUSER) worked: the profile refuses unshare, is it loaded? {stderr}"
    );
}

#[test]
fn t05_4_undoing_a_mask_fails() {
    require_root(LAB);
    // /proc/kcore where the kernel has it, else another masked file.
    let masked = ["/proc/kcore", "/proc/keys", "/proc/timer_list"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("none of /proc/kcore, /proc/keys, /proc/timer_list exists");
    escape_fails(
        &format!("umount {masked}"),
        &format!("busybox umount {masked}"),
    );
}

#[test]
fn t05_4_remounting_proc_sys_read_write_fails() {
    require_root(LAB);
    escape_fails(
        "mount -o remount,rw /proc/sys",
        "busybox mount -o remount,rw /proc/sys",
    );
}

#[test]
fn t05_4_mounting_the_hosts_disk_fails() {
    require_root(LAB);
    let (major, minor) = host_disk();
    // In /dev: config.json's tmpfs there is not nodev, as a bind of the rootfs may be.
    let node = format!("/dev/disk-{}", random::token(6));
    // Some kernels refuse a second mount of a mounted disk even to the
    // host's root: the control proves that mounting works at all there.
    let escape = format!(
        "busybox mknod {node} b {major} {minor} && busybox mkdir -p /mnt && \
         busybox mount -o ro {node} /mnt"
    );
    let control = "busybox mkdir -p /mnt && busybox mount -t tmpfs none /mnt";
    escape_fails_with_control("mknod + mount of the host's disk", &escape, control);
}

#[test]
fn t05_4_open_by_handle_at_fails() {
    require_root(LAB);
    escape_fails("open_by_handle_at", "/probe handle /probe");
}

// ------------------------------------------------------- 05.5 hooks
//
// Each hook is the host's static busybox running a small `sh` script that
// appends one line to a log: its name ($0, from `args`), a token from
// `env`, its argv[0] and the environment it was exec'd with
// (`/proc/$$/cmdline` and `environ`: `args[0]` is argv[0], `env` the whole
// environment), the mount namespace it runs in, then the
// state it read on stdin. The order of
// the lines, the state in each, and the namespace say whether the runtime
// ran it at the right point, in the right place, with the right input.

/// The host's static busybox, or a failure that says what to install.
fn host_busybox() -> PathBuf {
    kit::rootfs::static_busybox().expect(
        "the hooks' checks need a static busybox on the host: apt-get install busybox-static",
    )
}

/// A hook that logs to `log` (a path where the hook runs) with `busybox`.
fn logging_hook(busybox: &str, name: &str, log: &str, token: &str) -> Value {
    let script = format!(
        "{{ printf '%s %s %s %s ' \"$0\" \"$HOOK_TOKEN\" \
         \"$({busybox} tr '\\000' , < /proc/$$/cmdline | {busybox} cut -d, -f1)+$({busybox} tr '\\000' , < /proc/$$/environ)\" \
         \"$({busybox} readlink /proc/self/ns/mnt)\"; {busybox} cat; echo; }} >> {log}"
    );
    json!({
        "path": busybox,
        "args": ["sh", "-c", script, name],
        "env": [format!("HOOK_TOKEN={token}")],
        "timeout": 10
    })
}

/// The log's lines: (name, token, argv[0]+environment, mount namespace, state).
fn hook_lines(log: &Path) -> Vec<(String, String, String, String, Value)> {
    let text = fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut parts = line.splitn(5, ' ');
            let mut next = || parts.next().unwrap_or_default().to_string();
            let (name, token, path, ns) = (next(), next(), next(), next());
            let state = serde_json::from_str(&next()).unwrap_or(Value::Null);
            (name, token, path, ns, state)
        })
        .collect()
}

#[test]
fn t05_5_hooks_run_in_order_with_the_state_on_stdin() {
    require_root(LAB);
    let busybox = host_busybox().display().to_string();
    let token = random::token(10);
    let mut config = minimal_config(&["/probe", "sleep", "30"]);
    let setup_dir = tempfile::tempdir().unwrap();
    let log = setup_dir.path().join("hooks.log");
    let log_s = log.display().to_string();
    let host_hook = |name: &str| logging_hook(&busybox, name, &log_s, &token);
    // startContainer runs after pivot_root: its path and log are the container's.
    let start_hook = logging_hook("/bin/busybox", "startContainer", "/hooks.log", &token);
    config["hooks"] = json!({
        "prestart": [host_hook("prestart")],
        "createRuntime": [host_hook("createRuntime1"), host_hook("createRuntime2")],
        "createContainer": [host_hook("createContainer")],
        "startContainer": [start_hook],
        "poststart": [host_hook("poststart")],
        "poststop": [host_hook("poststop")],
    });
    let setup = Setup::new(&config);
    let id = random_id();
    let our_ns = fs::read_link("/proc/self/ns/mnt")
        .unwrap()
        .display()
        .to_string();
    setup.create(&id).ok("create");
    let pid = setup.pid(&id);
    let their_ns = fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .unwrap()
        .display()
        .to_string();
    let lines = hook_lines(&log);
    let names: Vec<&str> = lines.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "prestart",
            "createRuntime1",
            "createRuntime2",
            "createContainer"
        ],
        "after create, the hooks that ran (in this order) should be prestart, then createRuntime's in config order, then createContainer; the log is {:?}",
        fs::read_to_string(&log).unwrap_or_default()
    );
    for (name, got_token, environ, ns, state) in &lines {
        assert_eq!(got_token, &token, "{name}: `env` was not its environment");
        assert_eq!(
            environ,
            &format!("sh+HOOK_TOKEN={token},"),
            "{name} got argv[0]+environment {environ:?}: `args[0]` (sh) must be argv[0], and `env` the hook's whole environment"
        );
        assert_eq!(state["status"], "creating", "{name} read the state {state}");
        assert_eq!(state["id"], id.as_str(), "{name} read the state {state}");
        assert_eq!(
            state["pid"], pid,
            "{name} read the state {state}: the pid is the container's"
        );
        assert_eq!(
            state["bundle"],
            setup.bundle.display().to_string(),
            "{name} read the state {state}"
        );
        let expected = if name == "createContainer" {
            &their_ns
        } else {
            &our_ns
        };
        assert_eq!(
            ns, expected,
            "{name} ran in the mount namespace {ns}; the runtime's is {our_ns}, the container's {their_ns}"
        );
    }
    let inside = setup.bundle.join("rootfs/hooks.log");
    assert!(!inside.exists(), "startContainer ran before start");
    setup.rt(&["start", &id]).ok("start");
    let start = hook_lines(&inside);
    assert_eq!(
        start.len(),
        1,
        "startContainer did not run (once) in the container on start: {start:?}"
    );
    assert_eq!(
        start[0].4["status"], "created",
        "startContainer read {}",
        start[0].4
    );
    // Its log is the container's /hooks.log: it ran in the container's mount namespace.
    assert_eq!(start[0].4["pid"], pid, "startContainer read {}", start[0].4);
    let lines = hook_lines(&log);
    assert_eq!(
        lines.len(),
        5,
        "poststart did not run (once) on start: {lines:?}"
    );
    assert_eq!(lines[4].0, "poststart");
    assert_eq!(
        lines[4].4["status"], "running",
        "poststart read {}",
        lines[4].4
    );
    setup.rt(&["kill", &id, "KILL"]).ok("kill");
    setup.await_status(&id, "stopped", "the container did not die of SIGKILL");
    setup.reap(pid);
    setup.rt(&["delete", &id]).ok("delete");
    let lines = hook_lines(&log);
    assert_eq!(
        lines.len(),
        6,
        "poststop did not run (once) on delete: {lines:?}"
    );
    assert_eq!(lines[5].0, "poststop");
    assert_eq!(
        lines[5].4["status"], "stopped",
        "poststop read {}",
        lines[5].4
    );
    assert_eq!(lines[5].4["id"], id.as_str());
}

/// The create hooks find the container's network namespace at
/// `/proc/PID/ns/net` — Docker's `libnetwork-setkey` prestart hook wires
/// the container's network up through it — and prestart and createRuntime run in the
/// runtime's own. (The runtime makes that namespace beside the cgroups and
/// the child is born in it: a child that joined it later, in its setup,
/// would still be in the host's when the hooks ran; a runtime thread that
/// did not step back out would start the hooks in the container's.)
#[test]
fn t05_5_create_hooks_see_the_containers_network_namespace() {
    require_root(LAB);
    let busybox = host_busybox().display().to_string();
    let setup_dir = tempfile::tempdir().unwrap();
    let log = setup_dir.path().join("net.log");
    // name, its own network namespace, the one of the state's pid.
    let hook = |name: &str| {
        let script = format!(
            "s=$({busybox} cat); p=$(echo \"$s\" | {busybox} sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p'); \
             echo \"$0 $({busybox} readlink /proc/self/ns/net) $({busybox} readlink /proc/$p/ns/net)\" >> {}",
            log.display()
        );
        json!({ "path": busybox, "args": ["sh", "-c", script, name], "timeout": 10 })
    };
    let mut config = minimal_config(&["/probe", "sleep", "30"]);
    config["hooks"] = json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "createContainer": [hook("createContainer")],
    });
    let setup = Setup::new(&config);
    let id = random_id();
    setup.create(&id).ok("create");
    let pid = setup.pid(&id);
    let ours = fs::read_link("/proc/self/ns/net")
        .unwrap()
        .display()
        .to_string();
    let theirs = fs::read_link(format!("/proc/{pid}/ns/net"))
        .unwrap()
        .display()
        .to_string();
    assert_ne!(
        ours, theirs,
        "the container has no network namespace of its own"
    );
    let text = fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    let names: Vec<&str> = lines.iter().map(|l| l[0]).collect();
    assert_eq!(
        names,
        ["prestart", "createRuntime", "createContainer"],
        "the create hooks did not all run: {text:?}"
    );
    for line in &lines {
        let (name, own, seen) = (line[0], line.get(1), line.get(2));
        assert_eq!(
            seen.copied(),
            Some(theirs.as_str()),
            "{name} found {seen:?} at /proc/{pid}/ns/net, the container's is {theirs} (the host's {ours}): \
             the child must be in its network namespace before the create hooks run"
        );
        if name != "createContainer" {
            assert_eq!(
                own.copied(),
                Some(ours.as_str()),
                "{name} ran in the network namespace {own:?}, the runtime's is {ours}: it must run \
                 in the runtime's (did the thread that cloned step back before the hooks?)"
            );
        }
    }
    setup.rt(&["delete", "--force", &id]).ok("delete --force");
    setup.reap(pid);
}

#[test]
fn t05_5_a_failing_create_hook_stops_create_and_leaves_nothing() {
    require_root(LAB);
    let busybox = host_busybox().display().to_string();
    let point = ["prestart", "createRuntime", "createContainer"][fastrand::usize(0..3)];
    let word = random::token(8);
    let code = random::int(2..=90);
    let mut config = minimal_config(&["/probe", "true"]);
    config["hooks"] = json!({
        point: [{
            "path": busybox,
            "args": ["sh", "-c", format!("echo {word} >&2; exit {code}")]
        }]
    });
    let setup = Setup::new(&config);
    let id = random_id();
    let ran = setup.create(&id);
    // The error names the hook's point, what it said and its exit code.
    let what = format!("create with a {point} hook that exits {code}");
    ran.refused(&what, &[point, &word, &code.to_string()]);
    setup.left_nothing(&id, "a failed create");
    // The leak guard (when `setup` drops) proves no process, cgroup or mount is left.
}

#[test]
fn t05_5_a_hook_past_its_timeout_is_killed_with_a_clear_error() {
    require_root(LAB);
    let busybox = host_busybox().display().to_string();
    let mut config = minimal_config(&["/probe", "true"]);
    // `sleep` is a child of the hook's shell: killing the shell alone
    // would leave it behind, and the leak guard would see it.
    config["hooks"] = json!({
        "createRuntime": [{
            "path": busybox,
            "args": ["sh", "-c", format!("{busybox} sleep 60; echo done")],
            "timeout": 1
        }]
    });
    let setup = Setup::new(&config);
    let id = random_id();
    let started = Instant::now();
    let ran = setup.create(&id);
    ran.refused("create with a hook past its timeout", &["timeout"]);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "create took {:?}: a hook's timeout of 1s was not enforced",
        started.elapsed()
    );
    setup.left_nothing(&id, "a failed create");
}

#[test]
fn t05_5_poststart_and_poststop_failures_are_warnings() {
    require_root(LAB);
    let busybox = host_busybox().display().to_string();
    let mut config = minimal_config(&["/probe", "exit", "0"]);
    let word = random::token(8);
    let failing = json!([{
        "path": busybox,
        "args": ["sh", "-c", format!("echo {word} >&2; exit 1")]
    }]);
    config["hooks"] = json!({ "poststart": failing, "poststop": failing });
    let setup = Setup::new(&config);
    let id = random_id();
    setup.create(&id).ok("create");
    let pid = setup.pid(&id);
    let ran = setup.rt(&["start", &id]);
    ran.ok("start (a failing poststart hook is only a warning)");
    assert!(
        ran.stderr.contains("poststart") && ran.stderr.contains(&word),
        "start should warn that the poststart hook failed: {:?}",
        ran.stderr
    );
    setup.await_status(&id, "stopped", "the container did not exit");
    setup.reap(pid);
    let ran = setup.rt(&["delete", &id]);
    ran.ok("delete (a failing poststop hook is only a warning)");
    assert!(
        ran.stderr.contains("poststop") && ran.stderr.contains(&word),
        "delete should warn that the poststop hook failed: {:?}",
        ran.stderr
    );
    assert!(
        !setup.root.join(&id).exists(),
        "delete leaves the container's directory"
    );
}

// ------------------------------------------------- 05.6 the terminal

/// A config whose process has a terminal, with the container's own devpts.
fn terminal_config(args: &[&str]) -> Value {
    let mut config = minimal_config(args);
    config["process"]["terminal"] = json!(true);
    config["mounts"] = json!([{
        "destination": "/dev/pts",
        "type": "devpts",
        "source": "devpts",
        "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]
    }]);
    config
}

/// Receive one fd sent with SCM_RIGHTS on a connection to `listener`.
fn receive_fd(listener: &std::os::unix::net::UnixListener) -> Option<std::os::fd::OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::{AsRawFd, FromRawFd};
    listener.set_nonblocking(true).ok()?;
    let deadline = Instant::now() + DEADLINE;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return None,
        }
    };
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(DEADLINE)).ok()?;
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .ok()?;
    for cmsg in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: the kernel just installed this fd in our table.
            return fds
                .first()
                .map(|fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(*fd) });
        }
    }
    None
}

#[test]
fn t05_6_the_pty_master_comes_over_the_console_socket() {
    require_root(LAB);
    let setup = Setup::new(&terminal_config(&["/probe", "report"]));
    let socket = setup.check.dir().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let id = random_id();
    let socket_s = socket.display().to_string();
    let bundle = setup.bundle.display().to_string();
    setup
        .rt(&[
            "create",
            "--bundle",
            &bundle,
            "--console-socket",
            &socket_s,
            &id,
        ])
        .ok("create --console-socket");
    let master = receive_fd(&listener)
        .expect("create returned but no fd came over the console socket (SCM_RIGHTS)");
    let pid = setup.pid(&id);
    setup.rt(&["start", &id]).ok("start");
    // Read the probe's report through the master: its output goes to the slave.
    let mut text = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    let report = loop {
        let mut fds = [nix::poll::PollFd::new(
            std::os::fd::AsFd::as_fd(&master),
            nix::poll::PollFlags::POLLIN,
        )];
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16));
        let mut buf = [0u8; 8192];
        // EIO once the slave's last holder is gone.
        match nix::unistd::read(&master, &mut buf) {
            Ok(n) if n > 0 => text.extend_from_slice(&buf[..n]),
            _ => {}
        }
        let seen = String::from_utf8_lossy(&text).into_owned();
        if let Some(report) = seen
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .next()
        {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "no report came through the pty's master within {DEADLINE:?}; it read {seen:?}"
        );
    };
    let tty = &report["terminal"];
    assert_eq!(
        tty["stdin"], true,
        "the probe's stdin is not the pty: {tty}"
    );
    assert_eq!(
        tty["stdout"], true,
        "the probe's stdout is not the pty: {tty}"
    );
    assert_eq!(
        tty["controlling"], true,
        "the pty is not the probe's controlling terminal (setsid, then TIOCSCTTY): {tty}"
    );
    assert_eq!(
        tty["session_leader"], true,
        "the probe does not lead its session: {tty}"
    );
    drop(master);
    setup.await_status(&id, "stopped", "the probe did not exit");
    setup.reap(pid);
    setup.rt(&["delete", &id]).ok("delete");
}

#[test]
fn t05_6_a_terminal_without_a_console_socket_is_a_clear_error() {
    require_root(LAB);
    let setup = Setup::new(&terminal_config(&["/probe", "true"]));
    let id = random_id();
    let ran = setup.create(&id);
    ran.refused(
        "process.terminal without --console-socket",
        &["--console-socket"],
    );
    setup.left_nothing(&id, "a refused create");
}

// ------------------------------------------- devices, CVE-2019-5736, joins
// (issue 8: the gaps of lab 05; checks named after the task whose code
// they need: 05.2 for a minimal config, 05.3 for a runc-shaped one)

/// runc's spec with Docker's capabilities (CAP_MKNOD among them) and no
/// seccomp filter: only the device cgroup stands between the container's
/// root and the host's disk.
fn devices_config(args: &[String], rules: Option<Value>, nodes: Value) -> Value {
    let mut config: Value = serde_json::from_str(RUNC_SPEC).unwrap();
    config["process"]["args"] = json!(args);
    config["root"]["readonly"] = json!(false);
    config["hostname"] = json!(random::hostname());
    for set in ["bounding", "effective", "permitted"] {
        config["process"]["capabilities"][set] = json!(DOCKER_CAPS);
    }
    config["linux"]["devices"] = nodes;
    match rules {
        Some(rules) => config["linux"]["resources"]["devices"] = rules,
        None => {
            config["linux"]["resources"]
                .as_object_mut()
                .unwrap()
                .remove("devices");
        }
    }
    config
}

/// Run `config`; the probe's JSON lines.
fn run_lines(config: &Value) -> (Setup, Vec<Value>, Ran) {
    let setup = Setup::new(config);
    let bundle = setup.bundle.display().to_string();
    let ran = setup.rt(&["run", "--bundle", &bundle, &random_id()]);
    let lines = ran
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (setup, lines, ran)
}

/// A block device of the host that the host's root can open: its disk,
/// else the first other one (some kernels — this project's VMs' — refuse
/// to open the disk under `/` even to the host's root; the cgroup-v2 VM
/// has only loop devices). The check's control opens it from a container
/// without a device cgroup, so it must open.
fn openable_block_device() -> (u32, u32) {
    let mut candidates = vec![host_disk()];
    candidates.extend(block_devices());
    // Its node in the host's /dev, named by the kernel in sysfs.
    let node_of = |(major, minor): (u32, u32)| {
        let uevent = fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent")).ok()?;
        let name = uevent.lines().find_map(|l| l.strip_prefix("DEVNAME="))?;
        Some(PathBuf::from("/dev").join(name))
    };
    candidates
        .into_iter()
        .find(|&device| {
            use std::os::unix::fs::OpenOptionsExt;
            node_of(device).is_some_and(|node| {
                fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(node)
                    .is_ok()
            })
        })
        .expect("this host has no block device its root can open, to try the mknod escape with")
}

#[test]
fn t05_3_linux_devices_are_made_and_the_device_cgroup_guards_the_hosts_disk() {
    require_root(LAB);
    let (major, minor) = openable_block_device();
    let dir = format!("/dev/dy-{}", random::token(6));
    let node = format!("{dir}/{}", random::token(5));
    let mode = 0o600 | (random::int(0..=7) << 3) | random::int(0..=7);
    let (uid, gid) = (random::int(1..=60000), random::int(1..=60000));
    // /dev/kmsg (1:11): it exists on every kernel, and opening it for
    // writing needs no capability.
    let nodes = json!([{
        "path": node, "type": "c", "major": 1, "minor": 11,
        "fileMode": mode, "uid": uid, "gid": gid
    }]);
    // Docker's shape: deny everything, then allow what is listed.
    let rules = json!([
        { "allow": false, "access": "rwm" },
        { "allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwm" }
    ]);
    let disk = format!("/dev/disk-{}", random::token(6));
    let script = |d: &str| -> Vec<String> {
        format!(
            "/probe ls {dir} then open {node} w then mknod {d} b {major} {minor} then open {d} r"
        )
        .split_whitespace()
        .map(String::from)
        .collect()
    };
    let (setup, lines, ran) =
        run_lines(&devices_config(&script(&disk), Some(rules), nodes.clone()));
    // One check at a time: this one ends before the control's begins.
    drop(setup);
    let listed = lines.first().unwrap_or_else(|| {
        panic!(
            "the container printed nothing (exit {:?}): {}",
            ran.code,
            ran.stderr.trim()
        )
    });
    let entry = listed["entries"]
        .as_array()
        .and_then(|e| e.first())
        .unwrap_or_else(|| panic!("linux.devices' {node} was not made: {listed}"));
    assert_eq!(
        (
            entry["type"].as_str(),
            entry["major"].as_u64(),
            entry["minor"].as_u64()
        ),
        (Some("char"), Some(1), Some(11)),
        "{node}: type and numbers of linux.devices: {entry}"
    );
    assert_eq!(
        (
            entry["mode"].as_u64(),
            entry["uid"].as_u64(),
            entry["gid"].as_u64()
        ),
        (
            Some(u64::from(mode)),
            Some(u64::from(uid)),
            Some(u64::from(gid))
        ),
        "{node}: fileMode {mode:o}, uid {uid}, gid {gid} of linux.devices: {entry}"
    );
    assert_eq!(
        lines.get(1).map(|l| l["ok"].clone()),
        Some(json!(true)),
        "opening {node} (c 1:11, allowed by linux.resources.devices) failed: {:?}",
        lines.get(1)
    );
    assert_eq!(
        lines.get(2).map(|l| l["ok"].clone()),
        Some(json!(true)),
        "mknod of a block node failed, though \"b *:* m\" is allowed by default: {:?}",
        lines.get(2)
    );
    assert_eq!(
        lines.get(3).map(|l| l["errno"].clone()),
        Some(json!(libc::EPERM)),
        "opening a node of the host's disk ({major}:{minor}) made with CAP_MKNOD must fail \
         with EPERM (the device cgroup: deny all, then the allowed list): {:?}",
        lines.get(3)
    );
    // The control: without linux.resources.devices the same open works,
    // so the EPERM above is the device cgroup's.
    let (_setup, lines, ran) = run_lines(&devices_config(&script(&disk), None, nodes));
    assert_eq!(
        lines.get(3).map(|l| l["ok"].clone()),
        Some(json!(true)),
        "without a device cgroup the host's disk could not be opened either, so the \
         refusal above proves nothing: {lines:?} {}",
        ran.stderr.trim()
    );
}

/// The (device, inode) of a file.
fn dev_ino(path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    (meta.dev(), meta.ino())
}

/// The probe's `exe` line is a binary no write can reach: a read-only
/// overlay (EROFS) or a memfd sealed against writes. ETXTBSY does not
/// count: it lasts only while the runtime runs, and the 2019 exploit
/// simply waited for it to exit.
fn assert_sealed(exe: &Value, whose: &str) {
    let erofs = exe["open_write"]["errno"] == json!(libc::EROFS);
    let sealed = exe["seals"]
        .as_i64()
        .is_some_and(|s| s >= 0 && s & i64::from(libc::F_SEAL_WRITE) != 0);
    assert!(
        erofs || sealed,
        "{whose}: /proc/PID/exe of the runtime, reached from inside the container, can be \
         written once the runtime exits (CVE-2019-5736): re-execute the runtime from a \
         read-only overlay or a sealed memfd before it makes the container: {exe}"
    );
}

#[test]
fn t05_3_the_runtimes_binary_cannot_be_overwritten_from_the_container() {
    require_root(LAB);
    // No pid namespace, and a /proc: the container sees the runtime's
    // processes, as it would through `runc exec` or a shared pid namespace.
    let mut config = minimal_config(&["/probe", "exe", "parent"]);
    config["linux"]["namespaces"] = json!([
        { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }, { "type": "network" }
    ]);
    config["mounts"] = json!([{ "destination": "/proc", "type": "proc", "source": "proc" }]);
    let host = dev_ino(Path::new(RUNTIME));
    // `create`: the held process is the runtime until exec.
    let setup = Setup::new(&config);
    let id = random_id();
    setup.create(&id).ok("create");
    let pid = setup.state(&id)["pid"].as_i64().unwrap();
    let held = dev_ino(Path::new(&format!("/proc/{pid}/exe")));
    assert_ne!(
        held, host,
        "the created container's process runs the host's {RUNTIME} itself (same device and \
         inode): a process in the container can reach it through /proc/{pid}/exe"
    );
    setup.rt(&["delete", "--force", &id]).ok("delete --force");
    setup.reap(pid as i32);
    drop(setup);
    // `run`: its process waits for the container, which reaches it as its parent.
    let (_setup, lines, ran) = run_lines(&config);
    let exe = lines.first().unwrap_or_else(|| {
        panic!(
            "the container printed nothing (exit {:?}): {}",
            ran.code,
            ran.stderr.trim()
        )
    });
    assert_eq!(
        exe["ok"], true,
        "the probe could not open /proc/PPID/exe: {exe}"
    );
    let reached = (
        exe["dev"].as_u64().unwrap_or(0),
        exe["ino"].as_u64().unwrap_or(0),
    );
    assert_ne!(
        reached, host,
        "the container reached the host's {RUNTIME} through /proc/PPID/exe of `run`: {exe}"
    );
    assert_sealed(exe, "`run`");
}

#[test]
fn t05_2_namespaces_given_by_path_are_joined() {
    require_root(LAB);
    let hostname = random::hostname();
    let link = format!("dy{}", random::token(6));
    // A process of the check's in a new UTS and network namespace, with a
    // random hostname and a veth pair: the namespaces to join.
    let script = format!(
        "hostname {hostname} && ip link add {link} type veth peer name {link}p && echo ready && exec sleep 60"
    );
    let mut config = minimal_config(&["/probe", "report"]);
    config.as_object_mut().unwrap().remove("hostname");
    let setup = Setup::new(&config);
    let mut holder = Command::new("unshare")
        .args(["--uts", "--net", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start unshare");
    let mut line = String::new();
    let ready = {
        use std::io::BufRead;
        let stdout = holder.stdout.take().unwrap();
        setup
            .check
            .within(DEADLINE, "the namespace holder did not start", move || {
                std::io::BufReader::new(stdout).read_line(&mut line).ok();
                line
            })
    };
    assert_eq!(
        ready.trim(),
        "ready",
        "unshare --uts --net could not set up the namespaces"
    );
    let pid = holder.id();
    config["linux"]["namespaces"] = json!([
        { "type": "pid" }, { "type": "ipc" }, { "type": "mount" },
        { "type": "network", "path": format!("/proc/{pid}/ns/net") },
        { "type": "uts", "path": format!("/proc/{pid}/ns/uts") }
    ]);
    fs::write(setup.bundle.join("config.json"), config.to_string()).unwrap();
    let bundle = setup.bundle.display().to_string();
    let ran = setup.rt(&["run", "--bundle", &bundle, &random_id()]);
    let _ = holder.kill();
    let _ = holder.wait();
    let report: Value = ran
        .stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "the container printed nothing (exit {:?}): {}",
                ran.code,
                ran.stderr.trim()
            )
        });
    assert_eq!(
        report["hostname"],
        hostname.as_str(),
        "linux.namespaces' uts path: the container is not in the joined UTS namespace"
    );
    let names: Vec<&str> = report["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert!(
        names.contains(&link.as_str()),
        "linux.namespaces' network path: {link} of the joined namespace is not seen: {names:?}"
    );
}

#[test]
fn t05_2_a_corrupt_state_file_is_named_and_delete_force_removes_it() {
    require_root(LAB);
    let setup = Setup::new(&minimal_config(&["/probe", "true"]));
    let id = random_id();
    let dir = setup.root.join(&id);
    fs::create_dir_all(&dir).unwrap();
    // Half a state file, as a crash in the middle of a non-atomic write leaves.
    let state = dir.join("state.json");
    fs::write(
        &state,
        format!("{{\"ociVersion\": \"1.0.2\", \"id\": \"{id}\", \"sta"),
    )
    .unwrap();
    let ran = setup.rt(&["state", &id]);
    ran.refused("state of a corrupt state file", &["state.json", "corrupt"]);
    let ran = setup.rt(&["delete", &id]);
    ran.refused("delete without --force of a corrupt state", &[]);
    setup.rt(&["delete", "--force", &id]).ok("delete --force");
    assert!(!dir.exists(), "delete --force left {}", dir.display());
    // The id is free again: a container of that name runs.
    let bundle = setup.bundle.display().to_string();
    let ran = setup.rt(&["run", "--bundle", &bundle, &id]);
    assert_eq!(
        ran.code,
        Some(0),
        "run after delete --force: {}",
        ran.stderr.trim()
    );
}

#[test]
fn t05_2_delete_force_cleans_up_after_create_is_killed_mid_setup() {
    require_root(LAB);
    let mut config = minimal_config(&["/probe", "true"]);
    let setup = Setup::new(&config);
    // A namespace "file" that is a FIFO: create's open(2) of it blocks
    // until a writer comes — create is stopped half-way, its state written.
    let fifo = setup.check.dir().join(format!("ns-{}", random::token(6)));
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    config["linux"]["namespaces"] = json!([
        { "type": "pid" }, { "type": "ipc" }, { "type": "mount" }, { "type": "uts" },
        { "type": "network", "path": fifo }
    ]);
    fs::write(setup.bundle.join("config.json"), config.to_string()).unwrap();
    let id = random_id();
    let mut create = Command::new(RUNTIME)
        .arg("--root")
        .arg(&setup.root)
        .args(["create", "--bundle"])
        .arg(&setup.bundle)
        .arg(&id)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start create");
    let state = setup.root.join(&id).join("state.json");
    // Wait until create is blocked in open(2) of the FIFO, its state
    // written: /proc/PID/syscall starts with the number of openat, and
    // still does 200 ms later (not a passing open of another file).
    let syscall = format!("/proc/{}/syscall", create.id());
    let in_open = || {
        let now = fs::read_to_string(&syscall).unwrap_or_default();
        now.starts_with(&format!("{} ", libc::SYS_openat))
    };
    let deadline = Instant::now() + DEADLINE;
    let blocked = loop {
        if state.exists() && in_open() {
            std::thread::sleep(Duration::from_millis(200));
            if in_open() && create.try_wait().ok().flatten().is_none() {
                break true;
            }
        }
        if Instant::now() > deadline || create.try_wait().ok().flatten().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        blocked,
        "create never got to open the namespace path {} with its state written (did it \
         exit? {:?})",
        fifo.display(),
        create.try_wait()
    );
    let _ = create.kill();
    let _ = create.wait();
    let shown = setup.state(&id);
    assert_eq!(
        shown["status"], "creating",
        "a create killed half-way: {shown}"
    );
    setup.rt(&["delete", "--force", &id]).ok("delete --force");
    assert!(
        !setup.root.join(&id).exists(),
        "delete --force after a create killed with SIGKILL left its directory"
    );
}

// ------------------------------------------------- several id-map ranges

/// A config with a user namespace whose uid and gid maps are `maps`
/// (`[uid ranges, gid ranges]`, each `[inside, outside, count]`), and
/// /proc mounted so that the probe can read its maps.
fn userns_config(args: &[&str], maps: [&[[u32; 3]]; 2]) -> Value {
    let mut config = minimal_config(args);
    let as_json = |ranges: &[[u32; 3]]| {
        ranges
            .iter()
            .map(|[i, o, n]| json!({ "containerID": i, "hostID": o, "size": n }))
            .collect::<Vec<_>>()
    };
    config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "type": "user" }));
    config["linux"]["uidMappings"] = json!(as_json(maps[0]));
    config["linux"]["gidMappings"] = json!(as_json(maps[1]));
    config["mounts"] = json!([{ "destination": "/proc", "type": "proc", "source": "proc" }]);
    config
}

/// The ids of process `pid` on the host: the four of `Uid:` and `Gid:`.
fn host_ids_of(pid: i32) -> (String, String) {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|rest| rest.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    (line("Uid:"), line("Gid:"))
}

/// `exec` in a container with a user namespace: the process joins it and
/// becomes *its* root — on the host, the ids the maps give 0. An exec that
/// only joins would keep the host's uid 0: unmapped in there, but still,
/// for the kernel's permission checks, the owner of every file the host's
/// root owns.
#[test]
fn t05_3_exec_in_a_user_namespace_is_its_root_not_the_hosts() {
    require_root(LAB);
    let (uid, gid) = (
        random::int(100_000..=400_000),
        random::int(500_000..=900_000),
    );
    let (uids, gids) = ([[0, uid, 65536]], [[0, gid, 65536]]);
    let setup = Setup::new(&userns_config(&["/probe", "sleep", "60"], [&uids, &gids]));
    let id = random_id();
    setup.create(&id).ok("create");
    let pid = setup.pid(&id);
    setup.rt(&["start", &id]).ok("start");
    let exec_pid = setup.exec_sleeping(&id, "-d");
    let seen = host_ids_of(exec_pid);
    let user_ns = (ns_inode(exec_pid, "user"), ns_inode(pid, "user"));
    setup.rt(&["delete", "--force", &id]).ok("delete --force");
    setup.reap(exec_pid);
    setup.reap(pid);
    assert_eq!(
        user_ns.0, user_ns.1,
        "the exec'd process is not in the container's user namespace"
    );
    assert_eq!(
        seen,
        (
            format!("{uid} {uid} {uid} {uid}"),
            format!("{gid} {gid} {gid} {gid}")
        ),
        "the exec'd process's ids on the host (Uid:, Gid:) should be those the maps give 0"
    );
}

#[test]
fn t05_3_several_id_map_ranges_are_seen_exactly_from_inside() {
    require_root(LAB);
    // Root alone, then a block of ids from 1: as rootless Podman maps
    // (`0 UID 1` + a range of /etc/subuid), with random host ids.
    let count = random::int(1000..=65536);
    let uids = [
        [0, random::int(100_000..=200_000), 1],
        [1, random::int(300_000..=600_000), count],
    ];
    let gids = [
        [0, random::int(100_000..=200_000), 1],
        [1, random::int(700_000..=900_000), count],
    ];
    let setup = Setup::new(&userns_config(&["/probe", "true"], [&uids, &gids]));
    // A file owned by ids of the second ranges: inside, `uid`, `gid`.
    let (uid, gid) = (random::int(1..=count), random::int(1..=count));
    let name = format!("owned-{}", random::token(6));
    let file = setup.bundle.join("rootfs").join(&name);
    fs::write(&file, "").unwrap();
    std::os::unix::fs::chown(
        &file,
        Some(uids[1][1] + uid - 1),
        Some(gids[1][1] + gid - 1),
    )
    .unwrap();
    let config = userns_config(&["/probe", "report", "then", "ls", "/"], [&uids, &gids]);
    fs::write(setup.bundle.join("config.json"), config.to_string()).unwrap();
    let bundle = setup.bundle.display().to_string();
    let ran = setup.rt(&["run", "--bundle", &bundle, &random_id()]);
    let lines: Vec<Value> = ran
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        lines.len() == 2,
        "the container printed {} JSON lines, not 2 (exit {:?}): {}",
        lines.len(),
        ran.code,
        ran.stderr.trim()
    );
    let seen = |field: &str| {
        let text = lines[0][field].as_str().unwrap_or_default();
        let numbers: Vec<u32> = text
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        numbers.chunks(3).map(|c| c.to_vec()).collect::<Vec<_>>()
    };
    let asked = |ranges: &[[u32; 3]]| ranges.iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    assert_eq!(
        seen("uid_map"),
        asked(&uids),
        "linux.uidMappings: every range, in one write of the whole map"
    );
    assert_eq!(
        seen("gid_map"),
        asked(&gids),
        "linux.gidMappings: every range"
    );
    let entry = lines[1]["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == name.as_str())
        .unwrap_or_else(|| panic!("/{name} is not seen: {}", lines[1]));
    assert_eq!(
        (entry["uid"].as_u64(), entry["gid"].as_u64()),
        (Some(u64::from(uid)), Some(u64::from(gid))),
        "a file of host ids in the second ranges shows through the maps as {uid}:{gid}"
    );
}

#[test]
fn t05_2_a_bad_id_map_is_refused_naming_its_json_path() {
    require_root(LAB);
    let setup = Setup::new(&minimal_config(&["/probe", "true"]));
    let id = random_id();
    let host = random::int(100_000..=900_000);
    let count = random::int(2..=65536);
    let good = [[0, host, count]];
    let many: Vec<[u32; 3]> = (0..341).map(|i| [i, host + i, 1]).collect();
    // Second ranges that overlap the first, inside (ids 0.. again) or
    // outside (a host id the first range already maps); a range of 0 ids;
    // more ranges than the kernel takes.
    for (uids, gids, path, word) in [
        (
            vec![[0, host, count], [count - 1, host + count, 1]],
            good.to_vec(),
            "linux.uidMappings[1]",
            "overlap",
        ),
        (
            good.to_vec(),
            vec![[0, host, count], [count, host + count - 1, 1]],
            "linux.gidMappings[1]",
            "overlap",
        ),
        (
            vec![[0, host, count], [count, host + count, 0]],
            good.to_vec(),
            "linux.uidMappings[1]",
            "0 ids",
        ),
        (good.to_vec(), many, "linux.gidMappings", "340"),
    ] {
        let config = userns_config(&["/probe", "true"], [&uids, &gids]);
        fs::write(setup.bundle.join("config.json"), config.to_string()).unwrap();
        let ran = setup.create(&id);
        ran.refused(&format!("a bad {path} ({word})"), &[path, word]);
    }
    // Nothing of the refused creates is left: the same id runs now.
    let good = minimal_config(&["/probe", "exit", "3"]);
    fs::write(setup.bundle.join("config.json"), good.to_string()).unwrap();
    let bundle = setup.bundle.display().to_string();
    let ran = setup.rt(&["run", "--bundle", &bundle, &id]);
    assert_eq!(
        ran.code,
        Some(3),
        "run after refused creates: {}",
        ran.stderr
    );
}
