//! `cargo xtask demo`: the most advanced reference lab, run on the probe.
//!
//! It starts the probe twice — once directly on the host, once as a
//! container of the most advanced reference `dockyard` — and prints what
//! each one sees side by side. As the labs grow, the right column drifts
//! away from the left: its own hostname, pid 1, its own namespaces, mounts,
//! limits and network.
//!
//! Each lab's `run` takes other options (lab 06 builds its root from
//! `--lower` layers, lab 07 keeps state and has `--rm`), so the arguments
//! are chosen from what its `run --help` lists, never from its number:
//! the demo leaves nothing behind — no container record, no state outside
//! `target/demo/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::labs;
use crate::testrun;

pub fn run(root: &Path) -> Result<()> {
    // The last lab whose `dockyard-NN run` takes `--rootfs` (labs 01–04):
    // lab 05 ships an OCI runtime (`dockyard-runtime`), driven by a bundle;
    // later labs run layers (06) or images (08).
    let lab = labs::all(root)?
        .into_iter()
        .rfind(|lab| lab.package != "runtime" && lab.num.as_str() <= "04")
        .context("no labs")?;
    println!(
        "Building the reference of lab {} ({}) and the probe…",
        lab.num, lab.package
    );
    let probe = crate::probe::build(root)?;
    let status = Command::new(testrun::cargo())
        .current_dir(root.join("solutions"))
        .args(["build", "--quiet", "--package", &lab.package, "--bins"])
        .status()?;
    if !status.success() {
        bail!("the reference of lab {} does not build", lab.num);
    }
    let dockyard = crate::target::dir(root).join(format!("debug/dockyard-{}", lab.num));
    let host = report(Command::new(&probe).arg("report"))?;
    let help = Command::new(&dockyard)
        .args(["run", "--help"])
        .output()
        .with_context(|| format!("running {} run --help", dockyard.display()))?;
    let options = long_options(&String::from_utf8_lossy(&help.stdout));
    let state = crate::target::dir(root).join("demo/state");
    let (args, inside_probe) = run_args(root, &options, &state, &probe)?;
    // Labs from 02 on create namespaces: like `check`, use sudo only to run.
    let mut container = if lab.needs_root(root) && !crate::check::is_root() {
        let mut c = Command::new("sudo");
        c.arg(&dockyard);
        c
    } else {
        Command::new(&dockyard)
    };
    container
        .args(args)
        .arg("--")
        .arg(inside_probe)
        .arg("report");
    let shown: Vec<String> = container
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    println!("$ {} {}\n", display(&dockyard, root), shown.join(" "));
    let inside = report(&mut container);
    // With --rm only empty directories are left; sudo made them, so sudo
    // removes them (or `cargo clean` could not).
    if state.exists() {
        let removed = if crate::check::is_root() {
            std::fs::remove_dir_all(&state).is_ok()
        } else {
            Command::new("sudo")
                .arg("rm")
                .arg("-rf")
                .arg(&state)
                .status()
                .is_ok_and(|s| s.success())
        };
        if !removed {
            println!("(left behind: {})", state.display());
        }
    }
    let inside = inside?;
    print!("{}", side_by_side(&host, &inside));
    println!(
        "\nLab {} is the furthest the reference goes. Now build your own: `cargo xtask check 01` shows what to do first.",
        lab.num
    );
    Ok(())
}

/// The `dockyard run` arguments that show off a lab whose `run` takes
/// `options` (from its `--help`), and the probe's path as the container
/// sees it. Its state, if it keeps any, goes to `state`.
fn run_args(
    root: &Path,
    options: &BTreeSet<String>,
    state: &Path,
    probe: &Path,
) -> Result<(Vec<String>, PathBuf)> {
    let mut args = vec!["run".to_owned()];
    let has = |name: &str| options.contains(name);
    if has("hostname") {
        args.extend(["--hostname".into(), "dockyard-demo".into()]);
    }
    // Where an engine keeps its state (lab 07's --state-dir, lab 06's
    // --root): under target/, not /var/lib/dockyard.
    for flag in ["state-dir", "root"] {
        if has(flag) {
            args.extend([format!("--{flag}"), state.display().to_string()]);
        }
    }
    // Remove the container when it ends, as `docker run --rm` does.
    if has("rm") {
        args.push("--rm".into());
    }
    let root_flag = if has("rootfs") {
        "--rootfs"
    } else if has("lower") {
        // Lab 06: the rootfs as the one read-only layer of an overlay.
        "--lower"
    } else {
        return Ok((args, probe.to_path_buf()));
    };
    // A minimal rootfs made from the probe (and busybox, when installed).
    let dir = crate::target::dir(root).join("demo/rootfs");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    kit::rootfs::Rootfs::create(&dir, probe)
        .with_context(|| format!("making {}", dir.display()))?;
    args.extend([root_flag.into(), dir.display().to_string()]);
    Ok((args, PathBuf::from("/probe")))
}

/// The long options a `--help` text lists: `--state-dir <DIR>` → `state-dir`.
fn long_options(help: &str) -> BTreeSet<String> {
    help.split_whitespace()
        .filter_map(|word| word.strip_prefix("--"))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

fn display(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn report(cmd: &mut Command) -> Result<Value> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        Some(v) => Ok(v),
        None => bail!(
            "{cmd:?} printed no report:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// One row per thing a container changes, host on the left.
pub fn side_by_side(host: &Value, inside: &Value) -> String {
    let rows: Vec<(String, String, String)> = ROWS
        .iter()
        .map(|(label, f)| (label.to_string(), f(host), f(inside)))
        .collect();
    let width = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!("{:<20} {:<width$}   {}\n", "", "host", "container");
    for (label, h, c) in rows {
        let mark = if h == c { " " } else { "≠" };
        out += &format!("{label:<20} {h:<width$} {mark} {c}\n");
    }
    out
}

type Field = fn(&Value) -> String;

const ROWS: [(&str, Field); 13] = [
    ("pid", |v| v["pid"].to_string()),
    ("hostname", |v| text(&v["hostname"])),
    ("uid (uid_map)", |v| {
        format!(
            "{} ({})",
            v["uid"],
            text(&v["uid_map"])
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        )
    }),
    ("pid namespace", |v| v["namespaces"]["pid"].to_string()),
    ("mount namespace", |v| v["namespaces"]["mnt"].to_string()),
    ("network namespace", |v| v["namespaces"]["net"].to_string()),
    ("uts namespace", |v| v["namespaces"]["uts"].to_string()),
    ("processes visible", |v| {
        v["processes"].as_array().map_or(0, Vec::len).to_string()
    }),
    ("mounts", |v| {
        v["mounts"].as_array().map_or(0, Vec::len).to_string()
    }),
    ("root filesystem", |v| {
        let mounts = v["mounts"].as_array().cloned().unwrap_or_default();
        let root = mounts.iter().rev().find(|m| m["mount_point"] == "/");
        root.map_or(String::new(), |m| {
            format!("{} ({})", text(&m["root"]), text(&m["fs_type"]))
        })
    }),
    ("interfaces", |v| names(&v["interfaces"])),
    ("cgroup", |v| {
        v["cgroup"]["entries"]
            .get(0)
            .map_or(String::new(), |e| text(&e["path"]))
    }),
    ("environment", |v| {
        v["env"].as_object().map_or(0, |m| m.len()).to_string() + " variables"
    }),
];

fn text(v: &Value) -> String {
    v.as_str()
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| v.to_string())
}

fn names(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|i| text(&i["name"]))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_from_help() {
        let help = "Usage: dockyard run [OPTIONS] --rootfs <ROOTFS> -- <COMMAND>...\n\n\
                    Options:\n      --rootfs <ROOTFS>\n      --rm  Remove it\n      \
                    --state-dir <STATE_DIR>  [default: /var/lib/dockyard]\n  -h, --help\n";
        let options = long_options(help);
        for name in ["rootfs", "rm", "state-dir", "help"] {
            assert!(options.contains(name), "{name}: {options:?}");
        }
        let probe = Path::new("/p");
        let state = Path::new("/t/demo/state");
        let root = Path::new("/nonexistent-root");
        let only = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
        let (args, inside) = run_args(root, &only(&["hostname"]), state, probe).unwrap();
        assert_eq!(args, ["run", "--hostname", "dockyard-demo"]);
        assert_eq!(inside, probe);
        let (args, _) = run_args(root, &only(&["state-dir", "rm"]), state, probe).unwrap();
        assert_eq!(args, ["run", "--state-dir", "/t/demo/state", "--rm"]);
    }
}
