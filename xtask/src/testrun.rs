//! Building a lab's checks and running them, as `check` and `verify` need.
//!
//! Building uses `cargo test --no-run --message-format=json`, always as the
//! invoking user, so `target/` never fills with root-owned files. The test
//! binaries cargo reports are then run directly — under `sudo` when the lab
//! needs root and we are not root — and their plain libtest output is
//! parsed into one result per check.

mod failure;

pub use failure::headline;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The first compiler error of a failed build.
#[derive(Debug, Clone)]
pub struct CompileError {
    /// rustc's own rendering, with the source excerpt.
    pub rendered: String,
    /// Where it points, if anywhere.
    pub file: Option<PathBuf>,
    pub line: usize,
    /// How many errors there were in all.
    pub count: usize,
}

/// What a build produced.
#[derive(Debug)]
pub enum Build {
    /// The integration-test binaries (the checks).
    Ok(Vec<PathBuf>),
    Failed(CompileError),
}

/// Build the tests of `package` in the workspace at `workspace`.
pub fn build(workspace: &Path, package: &str) -> Result<Build> {
    build_within(workspace, package, None)
}

/// [`build`], ended (the whole cargo process group killed) and failed
/// when it takes longer than `limit`: `grade` builds untrusted code, whose
/// build must not hold a class's grading hostage.
pub fn build_within(workspace: &Path, package: &str, limit: Option<Duration>) -> Result<Build> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(workspace)
        .args([
            "test",
            "--no-run",
            "--message-format=json",
            "--package",
            package,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Only with a deadline: a group of its own can be killed whole (rustc
    // included), but no longer gets the terminal's Ctrl-C.
    if limit.is_some() {
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().context("running cargo")?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(limit) = limit.filter(|l| start.elapsed() > *l) {
            // SAFETY: kill(2) on the process group of our own child.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            bail!("cargo did not build {package} within {limit:?} (the build was stopped)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    let (executables, errors) = read_build(&String::from_utf8_lossy(&out.stdout));
    if let Some(first) = errors.first() {
        let mut first = first.clone();
        first.count = errors.len();
        return Ok(Build::Failed(first));
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        bail!("cargo could not build {package}:\n{}", tail.join("\n"));
    }
    Ok(Build::Ok(executables))
}

/// The test executables and the distinct compiler errors in cargo's JSON
/// messages. The same error comes twice when a library is built both as
/// itself and as its unit-test harness (`cargo test` builds both): it is
/// one error to the learner, so errors are counted once by their text.
fn read_build(json_lines: &str) -> (Vec<PathBuf>, Vec<CompileError>) {
    let mut executables = Vec::new();
    let mut errors: Vec<CompileError> = Vec::new();
    for line in json_lines.lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match msg["reason"].as_str() {
            Some("compiler-artifact") => {
                let is_test = msg["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "test"));
                if let (true, Some(exe)) = (is_test, msg["executable"].as_str()) {
                    executables.push(PathBuf::from(exe));
                }
            }
            Some("compiler-message") if msg["message"]["level"] == "error" => {
                let error = compile_error(&msg["message"]);
                // Older rustc ends with "error: aborting due to N previous
                // errors", which is a count, not an error.
                let summary = error.rendered.starts_with("error: aborting");
                if !summary && !errors.iter().any(|e| e.rendered == error.rendered) {
                    errors.push(error);
                }
            }
            _ => {}
        }
    }
    executables.sort();
    (executables, errors)
}

fn compile_error(message: &Value) -> CompileError {
    let span = message["spans"].as_array().and_then(|spans| {
        spans
            .iter()
            .find(|s| s["is_primary"] == true)
            .or(spans.first())
    });
    CompileError {
        rendered: message["rendered"]
            .as_str()
            .unwrap_or("")
            .trim_end()
            .to_owned(),
        file: span
            .and_then(|s| s["file_name"].as_str())
            .map(PathBuf::from),
        line: span.and_then(|s| s["line_start"].as_u64()).unwrap_or(0) as usize,
        count: 1,
    }
}

/// The result of one check.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: String,
    pub passed: bool,
    /// What the check printed when it failed (assertion, snapshot diff).
    pub output: String,
}

/// How to run test binaries.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The package dir: tests run there, as under `cargo test`.
    pub cwd: PathBuf,
    /// Run with `sudo` (the lab needs root and we are not root).
    pub sudo: bool,
    /// Extra environment for the tests.
    pub env: Vec<(String, String)>,
    /// Kill a test binary that runs longer than this.
    pub limit: Duration,
}

/// Run every check in `executables`; every test listed is reported, even
/// when its binary crashed or hung before it could say.
pub fn run(executables: &[PathBuf], opts: &RunOptions) -> Result<Vec<CheckResult>> {
    let mut results = Vec::new();
    for exe in executables {
        let listed = list(exe)?;
        let (out, timed_out) = run_binary(exe, opts)?;
        let unfinished = if timed_out {
            format!("the test binary ran over {:?} and was killed", opts.limit)
        } else {
            format!(
                "the test binary ended before this check finished:\n{}",
                tail(&out, 30)
            )
        };
        results.extend(merge(listed, &out, &unfinished));
    }
    results.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(results)
}

/// One result per check in `listed`, from a test binary's output `out`;
/// a check the output says nothing about failed with `unfinished`.
pub fn merge(listed: Vec<String>, out: &str, unfinished: &str) -> Vec<CheckResult> {
    let mut parsed = parse(out);
    listed
        .into_iter()
        .map(|name| {
            let (passed, output) = parsed
                .remove(&name)
                .unwrap_or_else(|| (false, unfinished.to_owned()));
            CheckResult {
                name,
                passed,
                output,
            }
        })
        .collect()
}

/// The checks in a test binary (`--list`).
pub fn list(exe: &Path) -> Result<Vec<String>> {
    let out = Command::new(exe)
        .args(["--list", "--format", "terse"])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_owned)
        .collect())
}

fn run_binary(exe: &Path, opts: &RunOptions) -> Result<(String, bool)> {
    let mut cmd = if opts.sudo {
        let mut c = Command::new("sudo");
        c.arg("env");
        for (k, v) in &opts.env {
            c.arg(format!("{k}={v}"));
        }
        c.arg(exe);
        c
    } else {
        let mut c = Command::new(exe);
        c.envs(opts.env.iter().map(|(k, v)| (k, v)));
        c
    };
    // Output goes to one pipe so that each check's lines stay in order.
    let (reader, writer) = std::io::pipe()?;
    // A process group of its own, so that a hung run can be ended whole —
    // but not under sudo, which may need the terminal (as a background
    // group, it would be stopped when it asks for a password).
    if !opts.sudo {
        cmd.process_group(0);
    }
    let mut child = cmd
        .arg("--color=never")
        .current_dir(&opts.cwd)
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .spawn()
        .with_context(|| {
            if opts.sudo {
                "these checks need root, and `sudo` could not be run: run `cargo xtask check` as root, \
                 or install sudo (`cargo xtask doctor` says how)"
                    .to_owned()
            } else {
                format!("running {}", exe.display())
            }
        })?;
    // `cmd` still holds the pipe's write ends: drop them, or the reader
    // never sees end-of-file.
    drop(cmd);
    let collector = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut reader = reader;
        let _ = reader.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let start = Instant::now();
    let mut timed_out = false;
    while child.try_wait()?.is_none() {
        if start.elapsed() > opts.limit {
            end(&mut child, !opts.sudo);
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = collector.join().unwrap_or_default();
    Ok((out, timed_out))
}

/// End a hung test run: SIGTERM first (`sudo` relays it to the tests it
/// runs as root, which we may not signal ourselves), then SIGKILL to
/// whatever is left — to the whole process group when it has its own.
fn end(child: &mut std::process::Child, own_group: bool) {
    let target = if own_group {
        -(child.id() as i32)
    } else {
        child.id() as i32
    };
    // SAFETY: plain kill(2) calls on our own child (or its group).
    unsafe { libc::kill(target, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above.
    unsafe { libc::kill(target, libc::SIGKILL) };
    let _ = child.wait();
}

/// Parse libtest's plain output into `name → (passed, failure output)`.
pub fn parse(out: &str) -> BTreeMap<String, (bool, String)> {
    let mut results = BTreeMap::new();
    for line in out.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        if let Some((name, verdict)) = rest.rsplit_once(" ... ") {
            let passed = verdict.trim() == "ok";
            if verdict.trim() != "ignored" {
                results.insert(name.to_owned(), (passed, String::new()));
            }
        }
    }
    // "---- name stdout ----" sections hold what each failed check printed.
    let mut current: Option<String> = None;
    let mut text = String::new();
    let mut flush = |current: &mut Option<String>, text: &mut String| {
        if let Some(name) = current.take()
            && let Some(entry) = results.get_mut(&name)
        {
            entry.1 = failure::tidy(text.trim_end());
        }
        text.clear();
    };
    for line in out.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|r| r.strip_suffix(" stdout ----"))
        {
            flush(&mut current, &mut text);
            current = Some(name.to_owned());
        } else if current.is_some() && (line == "failures:" || line.starts_with("test result:")) {
            flush(&mut current, &mut text);
        } else if current.is_some() {
            text.push_str(line);
            text.push('\n');
        }
    }
    flush(&mut current, &mut text);
    results
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The cargo that runs us (so `cargo +nightly xtask` stays on nightly).
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The task id of a check name: `t01_3_child_waits` → `01.3`.
pub fn task_of(check: &str) -> Option<String> {
    let rest = check.strip_prefix('t')?;
    let mut parts = rest.splitn(3, '_');
    let lab = parts.next()?;
    let k = parts.next()?;
    let ok = lab.len() == 2
        && lab.bytes().all(|b| b.is_ascii_digit())
        && !k.is_empty()
        && k.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| format!("{lab}.{k}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_verdicts_and_failure_output() {
        let out = "running 3 tests\n\
            test t01_1_a ... ok\n\
            test t01_2_b ... FAILED\n\
            test t01_3_c ... ignored\n\
            \n\
            failures:\n\
            \n\
            ---- t01_2_b stdout ----\n\
            assertion failed\n\
            left: 1\n\
            \n\
            failures:\n    t01_2_b\n\n\
            test result: FAILED. 1 passed; 1 failed; 1 ignored\n";
        let r = parse(out);
        assert_eq!(r["t01_1_a"], (true, String::new()));
        assert_eq!(
            r["t01_2_b"],
            (false, "assertion failed\nleft: 1".to_owned())
        );
        assert!(!r.contains_key("t01_3_c"));
    }

    #[test]
    fn one_error_reported_twice_counts_once() {
        // `cargo test` builds the library as itself and as its test
        // harness: rustc reports the same error once for each.
        let error = r#"{"reason":"compiler-message","message":{"level":"error","rendered":"error[E0308]: mismatched types\n --> src/lib.rs:1:32","spans":[{"is_primary":true,"file_name":"src/lib.rs","line_start":1}]}}"#;
        let note = r#"{"reason":"compiler-message","message":{"level":"failure-note","rendered":"For more information…","spans":[]}}"#;
        let abort = r#"{"reason":"compiler-message","message":{"level":"error","rendered":"error: aborting due to 1 previous error","spans":[]}}"#;
        let exe = r#"{"reason":"compiler-artifact","target":{"kind":["test"]},"executable":"/t/checks-1"}"#;
        let out = [error, note, abort, error, note, exe, "not json"].join("\n");
        let (exes, errors) = read_build(&out);
        assert_eq!(exes, [PathBuf::from("/t/checks-1")]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 1);
        assert_eq!(errors[0].file.as_deref(), Some(Path::new("src/lib.rs")));
    }

    #[test]
    fn task_ids_come_from_check_names() {
        assert_eq!(task_of("t01_3_child_waits").as_deref(), Some("01.3"));
        assert_eq!(task_of("t12_10_x").as_deref(), Some("12.10"));
        assert_eq!(task_of("helper"), None);
        assert_eq!(task_of("t1_3_x"), None);
    }
}
