//! The image config turned into the process a container runs.
//!
//! An image says *how* it wants to run — `Entrypoint`, `Cmd`, `Env`,
//! `WorkingDir`, `User` — and `docker run` lets the caller override each.
//! Docker's rules, which learners meet daily and rarely read:
//!
//! - the program is `Entrypoint ++ Cmd`;
//! - `run IMAGE ARGS…` replaces `Cmd` (never `Entrypoint`);
//! - `--entrypoint X` replaces `Entrypoint` **and clears `Cmd`** (the
//!   image's Cmd was written for the image's Entrypoint); `--entrypoint ""`
//!   clears it;
//! - `-e KEY=VALUE` overrides the image's `KEY`; `PATH` gets Docker's
//!   default when neither sets it, `HOME` the user's home from the image's
//!   `/etc/passwd` (or `/`);
//! - `User` is `name`, `uid`, `name:group` or `uid:gid`: names are looked
//!   up in the *image's* `/etc/passwd` and `/etc/group`, never the host's
//!   (the same name has other ids there), and the user's supplementary
//!   groups are the image's groups that list the name.
//!
//! [`plan`] is pure — the files come in as text — so every rule is tested
//! without a container.

use oci_spec::image::Config;
use serde::Serialize;

use crate::archive::DEFAULT_PATH;

/// What `docker run` says on top of the image.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--entrypoint`: `Some("")` clears the image's.
    pub entrypoint: Option<String>,
    /// `run IMAGE ARGS…`: replaces `Cmd` when not empty.
    pub args: Vec<String>,
    /// `-e KEY=VALUE`, in order.
    pub env: Vec<String>,
    /// `-w DIR`.
    pub workdir: Option<String>,
    /// `-u USER[:GROUP]`.
    pub user: Option<String>,
}

/// The image's `/etc/passwd` and `/etc/group`, when it has them.
#[derive(Debug, Clone, Default)]
pub struct UserFiles {
    pub passwd: Option<String>,
    pub group: Option<String>,
}

/// The process to run, and what later labs need from the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// `ExposedPorts` (`80/tcp`), kept for lab 11.
    pub exposed_ports: Vec<String>,
    /// `Volumes` (mount points), kept for lab 07.
    pub volumes: Vec<String>,
}

/// One line of /etc/passwd: name, uid, gid, home.
struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 7 || line.starts_with('#') {
            return None;
        }
        Some(PasswdEntry {
            name: fields[0],
            uid: fields[2].parse().ok()?,
            gid: fields[3].parse().ok()?,
            home: fields[5],
        })
    })
}

/// One line of /etc/group: name, gid, members.
fn group_entries(text: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 4 || line.starts_with('#') {
            return None;
        }
        let members = fields[3].split(',').filter(|m| !m.is_empty()).collect();
        Some((fields[0], fields[2].parse().ok()?, members))
    })
}

/// Who the process runs as: (uid, gid, supplementary gids, home).
pub fn resolve_user(user: &str, files: &UserFiles) -> Result<(u32, u32, Vec<u32>, String), String> {
    // TASK 08.4: user[:group] looked up in the image's files; extra groups
    todo!("08.4: user[:group] looked up in the image's files; extra groups")
    // END TASK 08.4
}

/// The process a container of this image runs, given `docker run`'s options.
pub fn plan(
    config: Option<&Config>,
    opts: &RunOptions,
    files: &UserFiles,
) -> Result<ProcessPlan, String> {
    // TASK 08.4: Entrypoint/Cmd as Docker, Env with -e, WorkingDir, User; ports, volumes
    todo!("08.4: Entrypoint/Cmd as Docker, Env with -e, WorkingDir, User; ports, volumes")
    // END TASK 08.4
}

/// Apply a plan to a runtime spec (runc's defaults otherwise): what a
/// lab-05 bundle's config.json says.
pub fn apply(spec: &mut oci_spec::runtime::Spec, plan: &ProcessPlan) {
    let mut process = spec.process().clone().unwrap_or_default();
    process.set_args(Some(plan.args.clone()));
    process.set_env(Some(plan.env.clone()));
    process.set_cwd(plan.cwd.clone().into());
    let mut user = process.user().clone();
    user.set_uid(plan.uid);
    user.set_gid(plan.gid);
    user.set_additional_gids(
        (!plan.additional_gids.is_empty()).then(|| plan.additional_gids.clone()),
    );
    process.set_user(user);
    process.set_terminal(Some(false));
    spec.set_process(Some(process));
}
