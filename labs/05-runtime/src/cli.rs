//! The command line that real callers use: containerd's shim, Docker
//! through it, `runc`'s own users.
//!
//! ```text
//! dockyard-runtime [--root DIR] [--log FILE] [--log-format text|json]
//!     create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID
//!     start ID | state ID | kill [--all] ID [SIGNAL] | delete [--force] ID
//!     run [--bundle DIR] [--pid-file FILE] ID | spec [--bundle DIR] | list
//!     ps [--format json] ID | pause ID | resume ID
//!     exec [--process FILE] [--detach] … ID [CMD…]
//!     update --resources FILE ID | update [--memory M] [--pids-limit N] … ID
//! ```
//!
//! An error goes to stderr and, with `--log`, into the log file as a JSON
//! line (`{"level":"error","msg":…}`): containerd reads that file to say
//! why a container did not start.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use nix::sys::signal::Signal;

use crate::bundle::Bundle;
use crate::container::{self, CreateOptions};
use crate::error::Error;
use crate::hooks;

/// An OCI runtime built from labs 01–04 (runc's command line).
#[derive(Debug, Parser)]
#[command(name = "dockyard-runtime", version)]
pub struct Cli {
    /// Where the containers' state lives.
    #[arg(long, global = true, default_value = container::DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Append errors and warnings to this file too.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// The log's format: text or json.
    #[arg(long, global = true, default_value = "text")]
    pub log_format: String,
    /// Accepted for compatibility: this runtime manages cgroupfs directly.
    #[arg(long, global = true, hide = true)]
    pub systemd_cgroup: bool,
    /// Accepted for compatibility.
    #[arg(long, global = true, hide = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CreateArgs {
    /// The bundle: a directory with config.json and the rootfs.
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write the container's pid here.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Where to send the pty's master when process.terminal is true.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Accepted for compatibility (runc's): the exec FIFO is always used.
    #[arg(long, hide = true)]
    pub no_pivot: bool,
    /// For the checks: fail this setup step on purpose.
    #[arg(long, hide = true)]
    pub fail_at: Option<String>,
    pub id: String,
}

/// `exec`'s flags: runc's, those containerd's shim passes.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// An OCI `process` object (JSON) to run, instead of config.json's.
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Return once it runs, rather than wait for it.
    #[arg(short, long)]
    pub detach: bool,
    /// Write its pid here.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Where to send the pty's master when it has a terminal.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Give it a terminal (without --process).
    #[arg(short, long)]
    pub tty: bool,
    pub id: String,
    /// The command (without --process): config.json's process, these args.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Set a container up, held before its program starts.
    Create(CreateArgs),
    /// Start a created container's program.
    Start { id: String },
    /// Print a container's state (JSON).
    State { id: String },
    /// Run one more process in a running container (`docker exec`).
    Exec(ExecArgs),
    /// Freeze every process of a running container (`docker pause`).
    Pause { id: String },
    /// Thaw a paused container (`docker unpause`).
    Resume { id: String },
    /// Set new limits on a container's cgroup (`docker update`): a whole
    /// `linux.resources` object, or runc's flags for the common limits.
    #[command(group = clap::ArgGroup::new("limits").required(true).multiple(true))]
    Update {
        /// The runtime spec's `linux.resources` object (JSON); `-` for stdin.
        #[arg(short, long, group = "limits", conflicts_with = "flags")]
        resources: Option<PathBuf>,
        #[command(flatten)]
        flags: crate::update::Flags,
        id: String,
    },
    /// Send a signal (default SIGTERM) to a container.
    Kill {
        /// Every process of the container, not only its first.
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Remove a stopped container (--force: kill it first).
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Create, start, wait and delete; exits with the container's code.
    Run(CreateArgs),
    /// Write a config.json shaped like `runc spec`'s.
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
    },
    /// The pids of a container's processes (its cgroup's; `docker top`).
    Ps {
        /// table or json (a JSON array of pids, what containerd's shim reads)
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
    },
    /// List the containers.
    List {
        /// table or json
        #[arg(short, long, default_value = "table")]
        format: String,
    },
}

/// Parse a signal as callers write it: 9, KILL, SIGKILL.
pub fn parse_signal(text: &str) -> Result<Signal, String> {
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| format!("no signal number {n}"));
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse()
        .map_err(|_| format!("no signal called {text:?}"))
}

struct Log<'a> {
    file: Option<&'a Path>,
    json: bool,
}

impl Log<'_> {
    fn write(&self, level: &str, msg: &str) {
        // With --log, a warning goes only there: a caller such as
        // containerd's shim gives `create` the container's own stderr,
        // and the container's output is no place for the runtime's notes.
        if self.file.is_none() || level == "error" {
            eprintln!("dockyard-runtime: {level}: {msg}");
        }
        let Some(path) = self.file else { return };
        let line = if self.json {
            let time = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            // containerd parses `time` as RFC 3339 (Go's time.Time).
            let time = rfc3339(time);
            serde_json::json!({ "level": level, "msg": msg, "time": time }).to_string()
        } else {
            format!("{level}: {msg}")
        };
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }
}

/// Seconds since 1970 as RFC 3339 in UTC (`2026-11-29T11:27:25Z`), with
/// the days turned into a civil date (Howard Hinnant's algorithm). Later
/// labs' timestamps (volumes, images) use it too.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

/// Run the command line; returns the exit code.
pub fn main(cli: Cli) -> i32 {
    let log = Log {
        file: cli.log.as_deref(),
        json: cli.log_format == "json",
    };
    match execute(&cli, &log) {
        Ok(code) => code,
        Err(err) => {
            log.write("error", &err.to_string());
            1
        }
    }
}

/// The same re-execution, done before clap parses the arguments, so that
/// they are parsed once, not twice: building clap's parser and parsing
/// costs about 0.15 ms, of a `run` that takes about 6 (`cargo xtask bench
/// runtime`). Only the command and `--root` are read, from the raw
/// arguments (`early_root`), and only where the root's empty layer exists
/// already: this creates nothing, reports nothing and, if it is not sure,
/// does nothing — `execute` re-executes after parsing, as before, and
/// reports what fails. A root read wrongly from a command line clap then
/// refuses is harmless: the overlay's lower layer is an empty directory
/// of some other runtime root, beneath the binary's own directory.
pub fn reexec_early() {
    if let Some(root) = early_root(std::env::args_os().skip(1)) {
        let empty = root.join(crate::exe::EXE_LAYER);
        if empty.is_dir() {
            let _ = crate::exe::reexec_sealed(&empty);
        }
    }
}

/// The global flags that take a value (a unit test holds this to `Cli`).
const GLOBAL_VALUES: [&str; 3] = ["--root", "--log", "--log-format"];

/// The `--root` of a command line whose command re-executes (`create`,
/// `run`, `exec`), or `None`. Global flags may come before or after the
/// command (clap's `global = true`); a command's own flags and values are
/// skipped, and `--` ends the search (an `exec`'s command may follow).
fn early_root(mut args: impl Iterator<Item = std::ffi::OsString>) -> Option<PathBuf> {
    let mut root = PathBuf::from(container::DEFAULT_ROOT);
    let mut command = None;
    while let Some(arg) = args.next() {
        let arg = arg.into_string().ok()?;
        if arg == "--" {
            break;
        } else if arg == "--root" {
            root = PathBuf::from(args.next()?);
        } else if let Some(value) = arg.strip_prefix("--root=") {
            root = PathBuf::from(value);
        } else if GLOBAL_VALUES.contains(&arg.as_str()) {
            args.next()?;
        } else if !arg.starts_with('-') && command.is_none() {
            command = Some(arg);
        }
    }
    matches!(command.as_deref(), Some("create" | "run" | "exec")).then_some(root)
}

fn load_bundle(dir: &Path, log: &Log) -> Result<Bundle, Error> {
    let bundle = Bundle::load(dir)?;
    for warning in &bundle.warnings {
        log.write("warning", warning);
    }
    Ok(bundle)
}

fn execute(cli: &Cli, log: &Log) -> Result<i32, Error> {
    let root = &cli.root;
    match &cli.command {
        Commands::Create(args) => {
            // create, run and exec make processes a container can reach:
            // first re-execute from a copy of the binary that cannot be
            // written (CVE-2019-5736, see exe.rs).
            crate::exe::reexec_sealed_in(root)?;
            let bundle = load_bundle(&args.bundle, log)?;
            let opts = CreateOptions {
                pid_file: args.pid_file.clone(),
                fail_at: args.fail_at.clone(),
                console_socket: args.console_socket.clone(),
            };
            container::create(root, &args.id, &bundle, &opts)?;
        }
        Commands::Start { id } => start(root, id, log)?,
        Commands::Exec(args) => {
            // It is the runtime until it execs in the container: sealed first.
            crate::exe::reexec_sealed_in(root)?;
            let opts = crate::exec::ExecOptions {
                process: args.process.clone(),
                args: args.command.clone(),
                tty: args.tty,
                detach: args.detach,
                pid_file: args.pid_file.clone(),
                console_socket: args.console_socket.clone(),
            };
            if let Some(code) = crate::exec::exec(root, &args.id, &opts)? {
                return Ok(code);
            }
        }
        Commands::Pause { id } => container::pause(root, id)?,
        Commands::Resume { id } => container::resume(root, id)?,
        Commands::Update {
            resources: Some(resources),
            id,
            ..
        } => {
            let text = if resources.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(resources)
            }
            .map_err(Error::io("read the resources", resources))?;
            crate::update::update(root, id, &text, resources)?;
        }
        Commands::Update {
            resources: None,
            flags,
            id,
        } => {
            let text = crate::update::from_flags(flags)?;
            crate::update::update(root, id, &text, Path::new("the command line's flags"))?;
        }
        Commands::State { id } => {
            let (state, status) = container::load(root, id)?;
            let text = serde_json::to_string_pretty(&state.public(status)).expect("json");
            println!("{text}");
        }
        Commands::Kill { all, id, signal } => {
            let signal = parse_signal(signal).map_err(|why| Error::Unsupported {
                field: "the signal",
                why,
            })?;
            container::kill_container(root, id, signal, *all)?;
        }
        Commands::Delete { force, id } => delete(root, id, *force, log)?,
        Commands::Run(args) => return run(root, args, log),
        Commands::Spec { bundle } => {
            let path = bundle.join("config.json");
            if path.exists() {
                return Err(Error::Bundle {
                    bundle: bundle.clone(),
                    reason: "config.json exists already".into(),
                });
            }
            // oci-spec's default is runc's `spec`, but for the hostname.
            let mut spec = oci_spec::runtime::Spec::default();
            spec.set_hostname(Some("dockyard".into()));
            let text = serde_json::to_string_pretty(&spec).expect("json");
            std::fs::write(&path, text + "\n").map_err(Error::io("write", &path))?;
        }
        Commands::Ps { format, id } => {
            let (state, _) = container::load(root, id)?;
            // The first hierarchy's cgroup.procs: every hierarchy holds the
            // same processes (the runtime put them in all).
            let mut pids: Vec<i32> = Vec::new();
            if let Some(dir) = state.cgroup_dirs.first() {
                let path = dir.join("cgroup.procs");
                let text = std::fs::read_to_string(&path).map_err(Error::io("read", &path))?;
                pids = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
            }
            if format == "json" {
                println!("{}", serde_json::Value::from(pids));
            } else {
                println!("PID");
                for pid in pids {
                    println!("{pid}");
                }
            }
        }
        Commands::List { format } => {
            let found = container::list(root)?;
            if format == "json" {
                let all: Vec<_> = found.iter().map(|(s, st)| s.public(*st)).collect();
                println!("{}", serde_json::Value::from(all));
            } else {
                println!("{:<24} {:>8} {:<10} BUNDLE", "ID", "PID", "STATUS");
                for (state, status) in found {
                    let pid = state.pid.unwrap_or(0);
                    let bundle = state.bundle.display();
                    println!("{:<24} {pid:>8} {status:<10} {bundle}", state.id);
                }
            }
        }
    }
    Ok(0)
}

/// `start` with its hooks: startContainer before, poststart after.
fn start(root: &Path, id: &str, log: &Log) -> Result<(), Error> {
    hooks::before_start(root, id)?;
    container::start(root, id)?;
    for warning in hooks::after_start(root, id) {
        log.write("warning", &warning);
    }
    Ok(())
}

/// `delete` with its poststop hooks.
fn delete(root: &Path, id: &str, force: bool, log: &Log) -> Result<(), Error> {
    let saved = hooks::before_delete(root, id);
    container::delete(root, id, force)?;
    for warning in hooks::after_delete(saved) {
        log.write("warning", &warning);
    }
    Ok(())
}

/// `run`: create, start, wait for the container's process (this process
/// is its parent), delete; the exit code is the container's.
fn run(root: &Path, args: &CreateArgs, log: &Log) -> Result<i32, Error> {
    crate::exe::reexec_sealed_in(root)?;
    let bundle = load_bundle(&args.bundle, log)?;
    let opts = CreateOptions {
        pid_file: args.pid_file.clone(),
        fail_at: args.fail_at.clone(),
        console_socket: args.console_socket.clone(),
    };
    let pid = container::create(root, &args.id, &bundle, &opts)?;
    let started = start(root, &args.id, log);
    let status = match started {
        Ok(()) => process::wait_pid(pid).map_err(Error::sys("wait for the container")),
        Err(err) => Err(err),
    };
    let deleted = delete(root, &args.id, true, log);
    let status = status?;
    deleted?;
    Ok(status.code())
}

#[cfg(test)]
mod tests {
    use super::{Cli, GLOBAL_VALUES, early_root, rfc3339};
    use std::path::PathBuf;

    fn root_of(line: &str) -> Option<PathBuf> {
        early_root(line.split_whitespace().map(Into::into))
    }

    #[test]
    fn the_early_root_is_read_where_clap_reads_it() {
        let default = Some(PathBuf::from(crate::container::DEFAULT_ROOT));
        assert_eq!(root_of("run --bundle b id"), default);
        assert_eq!(root_of("--root /r create id"), Some("/r".into()));
        assert_eq!(root_of("--root=/r run id"), Some("/r".into()));
        assert_eq!(root_of("run --root /r id"), Some("/r".into()));
        assert_eq!(
            root_of("--root /r --log run --log-format json exec id"),
            Some("/r".into()),
            "a global flag's value is not the command"
        );
        assert_eq!(root_of("exec id -- sh --root /x"), default);
        assert_eq!(root_of("state id"), None);
        assert_eq!(root_of("--log run state id"), None);
        assert_eq!(root_of("--root"), None);
        assert_eq!(root_of(""), None);
    }

    #[test]
    fn the_early_scan_knows_every_global_flag_that_takes_a_value() {
        use clap::CommandFactory;
        let cmd = Cli::command();
        let mut taking: Vec<String> = cmd
            .get_arguments()
            .filter(|a| a.is_global_set() && a.get_action().takes_values())
            .map(|a| format!("--{}", a.get_long().expect("global flags are long")))
            .collect();
        taking.sort();
        let mut known: Vec<String> = GLOBAL_VALUES.iter().map(|s| s.to_string()).collect();
        known.sort();
        assert_eq!(taking, known, "update GLOBAL_VALUES in cli.rs");
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
    }
}
