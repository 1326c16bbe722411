//! The probe: a small static program that the checks copy into the
//! containers a learner's code makes. Run as `probe <action> [args…]`, it
//! prints what it sees (`report`) or does one thing (`alloc`, `fork`,
//! `serve`, …) and prints how that went, always as one compact line of JSON
//! per result on stdout. The checks parse those lines to judge what happened
//! inside the container.
//!
//! It is built statically (`-C target-feature=+crt-static`), so it must not
//! use anything that glibc loads at run time: no NSS (user or host name
//! look-ups), no dlopen.
//!
//! Exit codes: 0 done, 1 the action failed (the JSON says why), 2 bad usage.

mod actions;
mod breakout;
mod caps;
mod cgroup;
mod children;
mod fds;
mod fsops;
mod handle;
mod ipc;
mod mounts;
mod net;
mod ns;
mod out;
mod procs;
mod report;
mod signals;
mod sys;
mod tcp;

use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

const USAGE: &str = "\
usage: probe <action> [args…]
  report               print what the process sees, as one JSON object: ids,
                       hostname, namespaces, mounts, cgroup (with the raw
                       /proc/self/cgroup), open fds, SysV shm segments, …
  true                 print {\"ok\":true}
  exit N               exit with code N, printing nothing
  sleep SECS           sleep (SECS may be fractional)
  write PATH TEXT      create or truncate PATH with TEXT
  cat PATH             print the content of PATH (also /proc/self/fd/N/…)
  ls PATH              list the directory PATH (lstat of each entry)
  rm PATH              remove a file, a link or a directory (recursively)
  mkdir PATH           make one directory
  alloc MIB            allocate and touch MIB mebibytes, 1 MiB at a time
  fork N               fork N sleeping children, then kill them
  spin SECS            busy-loop for SECS seconds, report CPU time used
  serve PORT [COUNT]   answer COUNT TCP connections with the hostname
  fetch HOST:PORT      connect, read until EOF, print the body
  signals              print each signal received; exit after SIGTERM
  orphans N            leave N zombie grandchildren for PID 1 to reap
  zombies              list the zombies whose parent is this process or its parent
  breakout PATH        try the chroot escape, then report whether PATH is visible
  handle PATH          open PATH by its file handle (open_by_handle_at), as the
                       2014 shocker escape did

Actions can be chained with `then`: `probe orphans 3 then sleep 0.2 then zombies`
runs them in order and stops at the first that does not exit 0.";

/// Every action's name, to tell "wrong arguments" from "unknown action".
const ACTIONS: [&str; 19] = [
    "report", "true", "exit", "sleep", "write", "cat", "ls", "alloc", "fork", "spin", "serve",
    "fetch", "signals", "orphans", "zombies", "breakout", "handle", "rm", "mkdir",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let Some(action) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if action == "help" {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    // `A args… then B args…`: run each in turn, stop at the first failure.
    for step in args.split(|a| a == "then") {
        let Some((action, rest)) = step.split_first() else {
            eprintln!("probe: an empty action around `then`");
            return ExitCode::from(2);
        };
        match run(action, rest) {
            Ok(0) => {}
            Ok(code) => return ExitCode::from(code),
            Err(message) => {
                eprintln!("probe: {message}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

/// Runs one action and returns its exit code, or a usage error.
fn run(action: &str, args: &[String]) -> Result<u8, String> {
    let code = match (action, args) {
        ("report", []) => report::run(),
        ("true", []) => actions::ok(),
        ("exit", [code]) => number(code, "exit code")?,
        ("sleep", [secs]) => actions::sleep(seconds(secs)?),
        ("write", [path, text]) => actions::write(path, text),
        ("cat", [path]) => actions::cat(path),
        ("ls", [path]) => actions::ls(path),
        ("rm", [path]) => fsops::rm(path),
        ("mkdir", [path]) => fsops::mkdir(path),
        ("alloc", [mib]) => actions::alloc(number(mib, "MiB count")?),
        ("fork", [n]) => children::fork(number(n, "child count")?),
        ("spin", [secs]) => actions::spin(seconds(secs)?),
        ("serve", [port]) => tcp::serve(number(port, "port")?, None),
        ("serve", [port, count]) => {
            tcp::serve(number(port, "port")?, Some(number(count, "count")?))
        }
        ("fetch", [target]) => {
            let (host, port) = target
                .rsplit_once(':')
                .ok_or_else(|| format!("fetch: expected HOST:PORT, got '{target}'"))?;
            tcp::fetch(host, number(port, "port")?)
        }
        ("signals", []) => signals::run(),
        ("orphans", [n]) => children::orphans(number(n, "child count")?),
        ("zombies", []) => procs::zombies(),
        ("breakout", [path]) => breakout::run(path),
        ("handle", [path]) => handle::run(path),
        _ if ACTIONS.contains(&action) => return Err(format!("{action}: wrong arguments")),
        _ => return Err(format!("unknown action '{action}' (try: probe help)")),
    };
    Ok(code)
}

/// Parses a whole number argument, naming it in the error.
fn number<T: FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("bad {what} '{text}'"))
}

/// Parses a duration in seconds, which may be fractional.
fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = number(text, "number of seconds")?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("bad number of seconds '{text}'"))
}

#[cfg(test)]
mod tests {
    use super::{ACTIONS, USAGE};

    #[test]
    fn usage_describes_every_action() {
        for action in ACTIONS {
            let described = USAGE
                .lines()
                .any(|line| line.trim_start().split(' ').next() == Some(action));
            assert!(described, "USAGE does not describe `{action}`");
        }
    }
}
