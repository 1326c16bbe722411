//! `cargo xtask interop docker`: Docker drives lab 05's reference runtime.
//!
//! `docker run --runtime dockyard` goes dockerd → containerd →
//! `containerd-shim-runc-v2` → `dockyard-runtime create/start/state/kill/
//! delete`, each call a process with runc's flags. Nothing short of the
//! real chain proves those flags, the log format containerd parses, the
//! config.json Docker writes, and the pty `-t` asks for.
//!
//! The host must not change, so the daemon is a private one:
//!
//! - it runs in a network namespace and a mount namespace of its own
//!   (`unshare --net --mount --propagation private --fork`), where tmpfs
//!   mounts hide `/run` (containerd's shim sockets, `/run/docker/plugins`)
//!   and `/etc/docker` (its key file); nothing it mounts reaches the host;
//! - its `--data-root`, `--exec-root`, `--pidfile` and socket are in a
//!   temporary directory; `--iptables=false --ip6tables=false
//!   --bridge=none`: no firewall rule, no bridge;
//! - the image is imported from a tar of the kit's rootfs (static busybox
//!   and the probe): no registry;
//! - at the end dockerd is stopped by its pid, anything still in its
//!   network namespace (ours: we started it) is killed by pid, the cgroups
//!   made under `<hierarchy>/docker` are removed, and the kit's leak guard
//!   compares the host with a snapshot taken before — holding the checks'
//!   host lock, so no check of a test binary changes the host meanwhile.
//!
//! The client is the one packaged with the daemon when there is one
//! (Debian's docker.io: `/usr/bin/docker` beside `/usr/sbin/dockerd`), and
//! the API version is pinned to the daemon's in any case.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The image the runs use, imported from the kit's rootfs.
const IMAGE: &str = "dockyard-interop:busybox";
/// The runtime's name for dockerd (`--add-runtime dockyard=…`).
const RUNTIME: &str = "dockyard";
/// One `docker` command (a run includes the shim's calls of the runtime).
const STEP: Duration = Duration::from_secs(60);
/// dockerd's start (it starts containerd) and stop.
const DAEMON: Duration = Duration::from_secs(60);

pub(crate) const INSTALL: &str = "Docker is not installed: `apt-get install --no-install-recommends docker.io` \
     (Debian/Ubuntu; dockerd, containerd, containerd-shim-runc-v2 and the docker client). \
     No Docker service needs to run: this command starts a dockerd of its own, in namespaces \
     of its own, and stops it";

/// The programs Docker's chain needs.
pub(crate) struct Tools {
    dockerd: PathBuf,
    client: PathBuf,
}

pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

impl Tools {
    pub(crate) fn find() -> Option<Tools> {
        let dockerd = which("dockerd")?;
        which("containerd")?;
        which("containerd-shim-runc-v2")?;
        // The client packaged with this daemon (…/sbin/dockerd → …/bin/docker),
        // else any on the PATH (its API version is pinned to the daemon's).
        let beside = dockerd
            .parent()
            .and_then(Path::parent)
            .map(|prefix| prefix.join("bin/docker"))
            .filter(|p| p.is_file());
        let client = beside.or_else(|| which("docker"))?;
        Some(Tools { dockerd, client })
    }
}

/// What a command did, or that it did not finish in time.
pub(crate) struct Ran {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Run `cmd` in a process group of its own, its output in files of `dir`;
/// after `limit`, kill the group and say what did not happen.
pub(crate) fn run_within(
    cmd: &mut Command,
    dir: &Path,
    limit: Duration,
    what: &str,
) -> Result<Ran> {
    let (out, err) = (dir.join("last.out"), dir.join("last.err"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out)?)
        .stderr(fs::File::create(&err)?)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let status = wait_until(&mut child, Instant::now() + limit);
    let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
    let Some(status) = status else {
        kill_group(&mut child);
        bail!(
            "{what} did not happen within {}s (killed); it printed:\n{}{}",
            limit.as_secs(),
            read(&out),
            read(&err)
        );
    };
    Ok(Ran {
        code: status.code(),
        stdout: read(&out),
        stderr: read(&err),
    })
}

fn wait_until(child: &mut Child, deadline: Instant) -> Option<std::process::ExitStatus> {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill_group(child: &mut Child) {
    // SAFETY: a signal to the process group we made for this child.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
}

/// The daemon of this run, and where its files are.
pub(crate) struct Daemon {
    dir: PathBuf,
    /// `unshare`, whose child is dockerd.
    unshare: Child,
    client: PathBuf,
    api: Option<String>,
    /// dockerd's network namespace (`net:[…]`), to find what is left in it.
    netns: Option<String>,
}

impl Daemon {
    fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    pub(crate) fn start(tools: &Tools, dir: &Path, runtime: &Path) -> Result<Daemon> {
        for sub in ["data", "exec", "client"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let log = fs::File::create(dir.join("dockerd.log"))?;
        // In the new mount namespace (private: nothing propagates back):
        // tmpfs over /run and /etc/docker, then dockerd.
        let script = "set -e; mount -t tmpfs -o mode=755 tmpfs /run; \
                      mount -t tmpfs -o mode=755 tmpfs /etc/docker; exec \"$@\"";
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--net",
            "--mount",
            "--propagation",
            "private",
            "--fork",
            "--",
        ])
        .args(["sh", "-c", script, "sh"])
        .arg(&tools.dockerd)
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join("dockerd.pid"))
        .arg("-H")
        .arg(format!("unix://{}", dir.join("docker.sock").display()))
        .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
        .arg("--add-runtime")
        .arg(format!("{RUNTIME}={}", runtime.display()))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
        let unshare = cmd.spawn().context("cannot run unshare (util-linux)")?;
        let mut daemon = Daemon {
            dir: dir.to_path_buf(),
            unshare,
            client: tools.client.clone(),
            api: None,
            netns: None,
        };
        let deadline = Instant::now() + DAEMON;
        loop {
            if let Ok(Some(status)) = daemon.unshare.try_wait() {
                bail!(
                    "dockerd exited ({status}) before it answered on its socket; its log ends:\n{}",
                    daemon.log_tail()
                );
            }
            if let Some(pid) = daemon.pid() {
                daemon.netns = fs::read_link(format!("/proc/{pid}/ns/net"))
                    .ok()
                    .map(|p| p.display().to_string());
            }
            if let Ok(api) = api_version(&daemon.socket()) {
                daemon.api = Some(api);
                return Ok(daemon);
            }
            if Instant::now() >= deadline {
                bail!(
                    "dockerd did not answer on {} within {}s; its log ends:\n{}",
                    daemon.socket().display(),
                    DAEMON.as_secs(),
                    daemon.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// dockerd's pid, from its pid file, if that process is a dockerd.
    fn pid(&self) -> Option<i32> {
        let pid: i32 = fs::read_to_string(self.dir.join("dockerd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "dockerd").then_some(pid)
    }

    /// `docker ARGS…` against this daemon.
    pub(crate) fn client(&self) -> Command {
        let mut cmd = Command::new(&self.client);
        self.env(&mut cmd);
        cmd
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env("DOCKER_HOST", format!("unix://{}", self.socket().display()))
            .env("DOCKER_CONFIG", self.dir.join("client"))
            .env_remove("DOCKER_CONTEXT");
        if let Some(api) = &self.api {
            cmd.env("DOCKER_API_VERSION", api);
        }
    }

    pub(crate) fn docker(&self, args: &[&str], what: &str) -> Result<Ran> {
        run_within(self.client().args(args), &self.dir, STEP, what)
    }

    /// Stop dockerd by its pid (SIGTERM, then SIGKILL), wait for `unshare`;
    /// kill by pid what is left in its network namespace. Returns the
    /// problems (each a sentence).
    pub(crate) fn stop(mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(pid) = self.pid() {
            // SAFETY: a signal to the dockerd this run started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        if wait_until(&mut self.unshare, Instant::now() + DAEMON).is_none() {
            problems.push(format!(
                "dockerd did not stop within {}s of SIGTERM: killed",
                DAEMON.as_secs()
            ));
            if let Some(pid) = self.pid() {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            kill_group(&mut self.unshare);
        }
        if let Some(netns) = &self.netns {
            // containerd and shims outlive dockerd only by mistake; they
            // are in the namespace this run made, so they are ours.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let left = in_netns(netns);
                if left.is_empty() {
                    break;
                }
                if Instant::now() >= deadline {
                    for (pid, comm) in left {
                        problems.push(format!(
                            "{comm} (pid {pid}) was still running after dockerd stopped: killed"
                        ));
                        // SAFETY: a process in the namespace this run made.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        problems
    }
}

/// The processes whose network namespace is `netns` (`net:[…]`).
fn in_netns(netns: &str) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let ns = fs::read_link(entry.path().join("ns/net")).ok();
        if ns.is_some_and(|ns| ns.display().to_string() == netns) {
            let comm = fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            found.push((pid, comm.trim().to_string()));
        }
    }
    found
}

/// `GET /version` on the daemon's socket: its API version.
fn api_version(socket: &Path) -> Result<String> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let version: Value = serde_json::from_str(body)?;
    version["ApiVersion"]
        .as_str()
        .map(str::to_string)
        .context("no ApiVersion in /version")
}

/// The `docker` hierarchies' directories: `<each cgroup mount>/docker`.
pub(crate) fn docker_cgroups() -> BTreeSet<PathBuf> {
    let mounts = shared::mountinfo::read_self().unwrap_or_default();
    mounts
        .iter()
        .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
        .map(|m| Path::new(&m.mount_point).join("docker"))
        .filter(|p| p.is_dir())
        .collect()
}

/// Remove a cgroup tree this run made, deepest first (rmdir: only empty
/// cgroups go, and a cgroup with processes is reported by the leak guard).
pub(crate) fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

/// The first line of `text` that is a JSON object (a tty adds `\r`).
fn json_line(text: &str) -> Option<Value> {
    text.lines()
        .filter_map(|l| l.find('{').map(|at| l[at..].trim_end()))
        .find_map(|l| serde_json::from_str(l).ok())
}

/// The probe's report from `docker run … /probe report`.
fn report(ran: &Ran, what: &str) -> Result<Value> {
    if ran.code != Some(0) {
        bail!(
            "{what}: docker exited with {:?}: {}{}",
            ran.code,
            ran.stdout,
            ran.stderr
        );
    }
    json_line(&ran.stdout)
        .with_context(|| format!("{what}: the probe printed no report: {:?}", ran.stdout))
}

/// The checks, in order; each says what did not happen.
fn steps(daemon: &Daemon, dir: &Path, probe: &Path) -> Result<()> {
    let rootfs = dir.join("rootfs");
    let made = kit::rootfs::Rootfs::create(&rootfs, probe)?;
    if !made.has_busybox() {
        bail!("no static busybox on this host: apt-get install busybox-static");
    }
    let tar = dir.join("rootfs.tar");
    let ran = run_within(
        Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
        dir,
        STEP,
        "tar of the rootfs",
    )?;
    if ran.code != Some(0) {
        bail!("tar failed: {}", ran.stderr);
    }
    let tar_path = tar.display().to_string();
    let ran = daemon.docker(&["import", &tar_path, IMAGE], "docker import of the rootfs")?;
    if ran.code != Some(0) {
        bail!("docker import failed: {}", ran.stderr);
    }
    let run = |extra: &[&str], what: &str| -> Result<Ran> {
        let mut args = vec!["run", "--runtime", RUNTIME, "--rm"];
        args.extend(extra);
        daemon.docker(&args, what)
    };

    let word = format!("hi-{}", kit::random::token(8));
    let ran = run(
        &[IMAGE, "echo", &word],
        "`docker run --runtime dockyard --rm IMG echo`",
    )?;
    if ran.code != Some(0) || ran.stdout.trim() != word {
        bail!(
            "`docker run … echo {word}` printed {:?} and exited {:?} (expected {word:?}, 0): {}",
            ran.stdout,
            ran.code,
            ran.stderr.trim()
        );
    }
    println!("  ok  docker run --runtime dockyard --rm IMG echo {word}");

    let code = kit::random::int(3..=120);
    let ran = run(
        &[IMAGE, "sh", "-c", &format!("exit {code}")],
        "a run that exits with a code",
    )?;
    if ran.code != Some(code as i32) {
        bail!(
            "`docker run … sh -c 'exit {code}'` exited {:?}: the container's exit code did not reach Docker: {}",
            ran.code,
            ran.stderr.trim()
        );
    }
    println!("  ok  the exit code {code} comes back through the shim");

    let value = kit::random::token(12);
    let env = format!("DOCKYARD_INTEROP={value}");
    let ran = run(&["-e", &env, IMAGE, "/probe", "report"], "a run with -e")?;
    let seen = report(&ran, "-e")?;
    if seen["env"]["DOCKYARD_INTEROP"] != value.as_str() {
        bail!("-e {env}: the probe saw the environment {}", seen["env"]);
    }
    println!("  ok  -e {env}: the probe sees it");

    // Docker's default on a cgroup v1 host is no cgroup namespace: the
    // runtime binds the container's own cgroup directories (as runc).
    let ran = run(
        &["-m", "64m", "--pids-limit", "20", IMAGE, "/probe", "report"],
        "a run with -m 64m --pids-limit 20",
    )?;
    let seen = report(&ran, "-m/--pids-limit")?;
    let limits = &seen["cgroup"]["limits"];
    let memory = limits
        .get("memory.max")
        .or_else(|| limits.get("memory.limit_in_bytes"));
    if memory != Some(&Value::from("67108864")) || limits["pids.max"] != "20" {
        bail!(
            "-m 64m --pids-limit 20: the probe read the limits {limits} (expected memory 67108864, pids.max 20)"
        );
    }
    println!("  ok  -m 64m --pids-limit 20: the probe reads 67108864 and 20");

    // -it: docker must see a terminal, so it runs under `script`'s pty.
    let mut script = Command::new("script");
    daemon.env(&mut script);
    let line = format!(
        "{} run --runtime {RUNTIME} --rm -it {IMAGE} /probe report",
        daemon.client.display()
    );
    script.args(["-qec", &line, "/dev/null"]);
    let ran = run_within(
        &mut script,
        dir,
        STEP,
        "`docker run -it` (under script's pty)",
    )?;
    let seen = report(&ran, "-it")?;
    let tty = &seen["terminal"];
    if tty["stdin"] != true || tty["stdout"] != true || tty["controlling"] != true {
        bail!(
            "-it: the probe's stdin/stdout are not the container's terminal: {tty} \
             (the runtime must make a pty, send its master to --console-socket, and make the slave the process's stdio and controlling terminal)"
        );
    }
    println!("  ok  -it: the probe's stdin and stdout are a tty, its controlling terminal");

    // A detached container, stopped: the shim's `kill` (SIGTERM, which
    // the container's pid 1 ignores, then SIGKILL after the grace time).
    let name = format!("dockyard-{}", kit::random::token(6));
    let ran = daemon.docker(
        &[
            "run",
            "-d",
            "--runtime",
            RUNTIME,
            "--name",
            &name,
            IMAGE,
            "sleep",
            "300",
        ],
        "`docker run -d … sleep 300`",
    )?;
    if ran.code != Some(0) {
        bail!("`docker run -d … sleep 300` failed: {}", ran.stderr.trim());
    }
    // `docker top`: the shim asks the runtime `ps --format json ID`.
    let ran = daemon.docker(&["top", &name], "`docker top`")?;
    if ran.code != Some(0) || !ran.stdout.contains("sleep") {
        bail!(
            "`docker top` did not list the container's sleep (the runtime's `ps --format json`): {}{}",
            ran.stdout,
            ran.stderr.trim()
        );
    }
    // `docker exec`: the shim asks the runtime `exec --process FILE
    // --detach --pid-file FILE ID`; the output and the exit code come back.
    let token = kit::random::token(8);
    let ran = daemon.docker(&["exec", &name, "echo", &token], "`docker exec`")?;
    if ran.code != Some(0) || !ran.stdout.contains(&token) {
        bail!(
            "`docker exec {name} echo {token}` did not print it (the runtime's exec): {}{}",
            ran.stdout,
            ran.stderr.trim()
        );
    }
    let code = kit::random::int(3..=120);
    let ran = daemon.docker(
        &["exec", &name, "/probe", "exit", &code.to_string()],
        "`docker exec … exit`",
    )?;
    if ran.code != Some(code as i32) {
        bail!(
            "`docker exec {name} /probe exit {code}` exited {:?}: {}",
            ran.code,
            ran.stderr.trim()
        );
    }
    // `docker pause`/`unpause`: the shim asks the runtime `pause ID` and
    // `resume ID`; the container's cgroup is frozen, then thawed.
    let ran = daemon.docker(
        &["inspect", "-f", "{{.State.Pid}}", &name],
        "docker inspect",
    )?;
    let pid: u32 = ran.stdout.trim().parse().unwrap_or(0);
    for (verb, status, frozen) in [("pause", "paused", true), ("unpause", "running", false)] {
        let ran = daemon.docker(&[verb, &name], &format!("`docker {verb}`"))?;
        if ran.code != Some(0) {
            bail!(
                "`docker {verb}` failed (the runtime's {}): {}",
                if frozen { "pause" } else { "resume" },
                ran.stderr.trim()
            );
        }
        let ran = daemon.docker(
            &["inspect", "-f", "{{.State.Status}}", &name],
            "docker inspect",
        )?;
        if ran.stdout.trim() != status {
            bail!(
                "after `docker {verb}`, the container is {:?} (expected {status:?})",
                ran.stdout.trim()
            );
        }
        match frozen_on_host(pid) {
            Some(now) if now == frozen => {}
            found => bail!(
                "after `docker {verb}`, the container's cgroup (pid {pid}) is {} (expected {})",
                match found {
                    Some(true) => "frozen",
                    Some(false) => "not frozen",
                    None => "not found",
                },
                if frozen { "frozen" } else { "thawed" }
            ),
        }
    }
    // `docker update`: the shim runs the runtime's `update --resources -
    // ID` with the new resources on stdin; the limit is read on the host.
    let mib = kit::random::int(100..=200);
    let ran = daemon.docker(
        &[
            "update",
            "-m",
            &format!("{mib}m"),
            "--memory-swap",
            &format!("{}m", 2 * mib),
            &name,
        ],
        "`docker update -m`",
    )?;
    if ran.code != Some(0) {
        bail!(
            "`docker update -m {mib}m` failed (the runtime's update): {}",
            ran.stderr.trim()
        );
    }
    let want = (mib as u64) << 20;
    match memory_limit_on_host(pid) {
        Some(limit) if limit == want => {}
        found => bail!(
            "after `docker update -m {mib}m`, the container's memory limit (pid {pid}) is {found:?}, not {want}"
        ),
    }
    // `docker update --pids-limit`: a number, then -1, which Docker sends
    // as pids.limit -1, "no limit" (the kernel's "max").
    let pids = kit::random::int(40..=90);
    for (value, want) in [
        (pids.to_string(), pids.to_string()),
        ("-1".into(), "max".into()),
    ] {
        let ran = daemon.docker(
            &["update", "--pids-limit", &value, &name],
            "`docker update --pids-limit`",
        )?;
        if ran.code != Some(0) {
            bail!(
                "`docker update --pids-limit {value}` failed (the runtime's update): {}",
                ran.stderr.trim()
            );
        }
        let found = pids_max_on_host(pid);
        if found.as_deref() != Some(want.as_str()) {
            bail!(
                "after `docker update --pids-limit {value}`, the container's pids.max (pid {pid}) is {found:?}, not {want:?}"
            );
        }
    }
    let ran = daemon.docker(&["stop", "-t", "1", &name], "`docker stop -t 1`")?;
    if ran.code != Some(0) {
        bail!(
            "`docker stop` failed (the runtime's kill): {}",
            ran.stderr.trim()
        );
    }
    let ran = daemon.docker(
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            &name,
        ],
        "docker inspect",
    )?;
    if ran.stdout.trim() != "exited 137" {
        bail!(
            "after `docker stop`, the container is {:?} (expected \"exited 137\": killed by the runtime's kill)",
            ran.stdout.trim()
        );
    }
    let ran = daemon.docker(&["rm", &name], "`docker rm`")?;
    if ran.code != Some(0) {
        bail!("`docker rm` failed: {}", ran.stderr.trim());
    }
    println!(
        "  ok  docker run -d, docker top, docker exec (output and exit code), docker pause (cgroup frozen) and unpause (thawed), docker update -m and --pids-limit N, then -1 (the limits read on the host), docker stop (SIGTERM ignored by pid 1, then SIGKILL: exited 137), docker rm"
    );

    let ran = daemon.docker(&["ps", "-aq"], "docker ps -aq")?;
    if !ran.stdout.trim().is_empty() {
        bail!("containers left after --rm: {}", ran.stdout.trim());
    }
    Ok(())
}

/// `text` with every run of 64 hex digits (a container id) as `<id>`.
fn hide_ids(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\n')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() == 64 { "<id>" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// The runtime calls the shim made, one line per kind, with `$DIR` for
/// this run's directory and `<id>` for container ids (for the book:
/// "Docker drives your runtime").
fn calls(log: &Path, dir: &Path) -> Vec<String> {
    let text = fs::read_to_string(log).unwrap_or_default();
    let text = text.replace(&dir.display().to_string(), "$DIR");
    let text = hide_ids(&text);
    let mut seen = BTreeSet::new();
    let mut lines = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let command = words
            .iter()
            .find(|w| {
                [
                    "create", "start", "state", "kill", "delete", "features", "ps", "exec",
                    "update", "pause", "resume",
                ]
                .contains(w)
            })
            .copied()
            .unwrap_or("?");
        let shape: Vec<&str> = words
            .iter()
            .filter(|w| w.starts_with('-'))
            .copied()
            .collect();
        if seen.insert((command, shape.join(" "))) {
            lines.push(line.to_string());
        }
    }
    lines
}

pub fn run(root: &Path) -> Result<bool> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let Some(tools) = Tools::find() else {
        if ci {
            bail!("{INSTALL}");
        }
        println!("interop docker: skipped. {INSTALL}.");
        return Ok(true);
    };
    if !crate::check::is_root() {
        bail!(
            "interop docker starts a dockerd and containers: run it as root (sudo -E cargo xtask interop docker)"
        );
    }
    if which("script").is_none() || which("unshare").is_none() {
        bail!("`script` and `unshare` are needed: apt-get install util-linux bsdutils");
    }
    let started = Instant::now();
    let probe = crate::probe::build(root)?;
    let status = Command::new(crate::testrun::cargo())
        .current_dir(root.join("solutions"))
        .args(["build", "--quiet", "--package", "runtime", "--bins"])
        .status()?;
    if !status.success() {
        bail!("the reference of lab 05 does not build");
    }
    let built = crate::target::dir(root).join("debug/dockyard-runtime");

    let dir = std::env::temp_dir().join(format!("dockyard-interop-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    // A copy: target/debug/dockyard-runtime is whichever workspace built
    // it last. The name dockerd runs is a wrapper that logs each call.
    let runtime = dir.join("dockyard-runtime");
    fs::copy(&built, &runtime)?;
    let calls_log = dir.join("runtime-calls.log");
    let wrapper = dir.join("dockyard");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            calls_log.display(),
            runtime.display()
        ),
    )?;
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755))?;

    // Checks of other test binaries change the host too: one at a time,
    // or the leak guard would take their containers for ours.
    let lock = kit::hostlock::path();
    let _lock = kit::hostlock::HostLock::acquire(&lock, || {
        println!(
            "  waiting for running checks to finish ({})",
            lock.display()
        );
    })
    .with_context(|| format!("take the checks' lock {}", lock.display()))?;
    let before = kit::leaks::Snapshot::take();
    let cgroups_before = docker_cgroups();
    // dockerd writes /etc/docker/key.json: the mount namespace hides it
    // under a tmpfs, which needs the directory.
    let made_etc = !Path::new("/etc/docker").exists();
    if made_etc {
        fs::create_dir("/etc/docker").context("create /etc/docker (removed at the end)")?;
    }

    println!(
        "interop docker: {} with {} in namespaces of its own ({})",
        tools.dockerd.display(),
        tools.client.display(),
        dir.display()
    );
    let mut problems = Vec::new();
    match Daemon::start(&tools, &dir, &wrapper) {
        Ok(daemon) => {
            println!(
                "  dockerd is up ({:.1}s), API {}",
                started.elapsed().as_secs_f64(),
                daemon.api.as_deref().unwrap_or("?")
            );
            if let Err(err) = steps(&daemon, &dir, &probe) {
                problems.push(format!("{err:#}"));
                problems.push(format!("dockerd's log ends:\n{}", daemon.log_tail()));
            }
            problems.extend(daemon.stop());
        }
        Err(err) => problems.push(format!("{err:#}")),
    }

    let calls = calls(&calls_log, &dir);
    if !calls.is_empty() {
        println!("  the runtime calls containerd's shim made (one of each kind):");
        for call in &calls {
            println!("    dockyard-runtime {call}");
        }
    }
    for made in docker_cgroups().difference(&cgroups_before) {
        remove_cgroup_tree(made);
    }
    if made_etc {
        let _ = fs::remove_dir("/etc/docker");
    }
    if problems.is_empty() {
        // The data root holds root-owned image layers; all ours.
        let _ = fs::remove_dir_all(&dir);
    } else {
        println!("  (kept for a look: {})", dir.display());
    }
    if let Err(leaks) = before.settles() {
        for leak in leaks {
            problems.push(format!("left on the host: {leak}"));
        }
    }
    if problems.is_empty() {
        println!(
            "interop docker: ok in {:.1}s; the host is as it was",
            started.elapsed().as_secs_f64()
        );
        Ok(true)
    } else {
        for problem in &problems {
            eprintln!("interop docker: {problem}");
        }
        Ok(false)
    }
}

/// The cgroup of the process `pid` in the hierarchy with `controller`
/// (`""`: the v2 tree), relative to its mount point, from /proc/PID/cgroup.
fn cgroup_of_pid(pid: u32, controller: &str) -> Option<String> {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    cgroups.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, list, path) = (fields.next()?, fields.next()?, fields.next()?);
        list.split(',')
            .any(|c| c == controller)
            .then(|| path.trim_start_matches('/').to_owned())
    })
}

/// A file of the cgroup of the process `pid`, read on the host: v1's
/// `v1_file` in the `controller` hierarchy where there is one, else v2's
/// `v2_file`. Returns which of the two it read, and the text trimmed;
/// `None` if it cannot be found.
fn cgroup_file_on_host(
    pid: u32,
    controller: &str,
    v1_file: &str,
    v2_file: &str,
) -> Option<(bool, String)> {
    let v1 = Path::new("/sys/fs/cgroup").join(controller);
    let (is_v1, file) = if v1.is_dir() {
        (true, v1.join(cgroup_of_pid(pid, controller)?).join(v1_file))
    } else {
        let dir = Path::new("/sys/fs/cgroup").join(cgroup_of_pid(pid, "")?);
        (false, dir.join(v2_file))
    };
    let text = std::fs::read_to_string(file).ok()?;
    Some((is_v1, text.trim().to_string()))
}

/// The memory limit of `pid`'s cgroup, read on the host (v1's
/// `memory.limit_in_bytes`, or v2's `memory.max`).
fn memory_limit_on_host(pid: u32) -> Option<u64> {
    let (_, text) = cgroup_file_on_host(pid, "memory", "memory.limit_in_bytes", "memory.max")?;
    text.parse().ok()
}

/// The `pids.max` of `pid`'s cgroup, read on the host.
fn pids_max_on_host(pid: u32) -> Option<String> {
    cgroup_file_on_host(pid, "pids", "pids.max", "pids.max").map(|(_, text)| text)
}

/// Whether the cgroup of the process `pid` is frozen, read on the host:
/// v1's `freezer.state` where there is a freezer hierarchy, else v2's
/// `cgroup.freeze`.
fn frozen_on_host(pid: u32) -> Option<bool> {
    let (v1, text) = cgroup_file_on_host(pid, "freezer", "freezer.state", "cgroup.freeze")?;
    Some(if v1 { text != "THAWED" } else { text == "1" })
}
