//! A RUN step: a container on an overlay of the layers so far, whose
//! upper directory becomes the step's layer.
//!
//! ```text
//!   lowers (bottom-first): base layers…, earlier steps' uppers
//!        │  lab 06: rwlayer::create  → upper/ work/ merged/ (mounted)
//!        ▼
//!   config.json (RunProcess, 09.8) in the layer's dir: a lab-05 bundle
//!        │  lab 05: create, start, wait, delete
//!        ▼
//!   exit code 0? else the step fails, and nothing stays
//!        │  unmount; lab 06: diff(upper) → an OCI layer tar, diff_id
//!        ▼
//!   the upper is kept as a directory: the next step's lower
//! ```
//!
//! Why keep the upper: it *is* the layer in the form overlay reads —
//! whiteouts as 0/0 character devices, opaque directories by xattr, which
//! overlay honours in lower layers too. Docker's overlay2 driver stacks
//! layers the same way. The tar is what an image store keeps (lab 08).
//!
//! This is one step; [`crate::builder`] chains them.

use std::fs;
use std::path::{Path, PathBuf};

use layers::rwlayer::{self, CreateOptions, RwLayer};
use layers::{DiffOptions, LayerDigests, diff};
use serde_json::Value;

use crate::runspec::{HOSTNAME, RunProcess};

/// What can go wrong in a RUN step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Layers(#[from] layers::Error),
    #[error(transparent)]
    Runtime(#[from] runtime::Error),
    /// Docker's words: `process "/bin/sh -c exit 3" did not complete successfully: exit code: 3`.
    #[error("process {command:?} did not complete successfully: exit code: {code}")]
    Failed { command: String, code: i32 },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot wait for the RUN container: {0}")]
    Wait(nix::errno::Errno),
    #[error("USER {0:?}: not a uid[:gid], and not in the rootfs's /etc/passwd")]
    User(String),
}

/// Docker's default capability set (moby's `oci/caps/defaults.go`).
pub const DOCKER_CAPS: [&str; 14] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StepError {
    let path = path.to_path_buf();
    move |source| StepError::Io { what, path, source }
}

/// A finished RUN step.
#[derive(Debug)]
pub struct Ran {
    /// The layer's digests (uncompressed: `digest == diff_id`).
    pub digests: LayerDigests,
    /// The layer tar.
    pub tar: PathBuf,
    /// The upper directory, kept: the next step's lower.
    pub layer_dir: PathBuf,
}

/// `uid[:gid]`, or a name looked up in `<rootfs>/etc/passwd`.
fn resolve_user(rootfs: &Path, user: &str) -> Result<(u32, u32), StepError> {
    if user.is_empty() {
        return Ok((0, 0));
    }
    let (name, group) = user
        .split_once(':')
        .map_or((user, None), |(u, g)| (u, Some(g)));
    let from_passwd = || -> Option<(u32, u32)> {
        let passwd = fs::read_to_string(rootfs.join("etc/passwd")).ok()?;
        passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
    };
    let (uid, primary) = match name.parse::<u32>() {
        Ok(uid) => (uid, from_passwd().map_or(uid, |(_, g)| g)),
        Err(_) => from_passwd().ok_or_else(|| StepError::User(user.to_owned()))?,
    };
    let gid = match group {
        None => primary,
        Some(g) => g.parse().map_err(|_| StepError::User(user.to_owned()))?,
    };
    Ok((uid, gid))
}

/// Write the bundle's `config.json`: runc's defaults (lab 06's
/// `write_config`), then the step's process: env, cwd (made if missing,
/// as BuildKit's WORKDIR does), user.
pub fn write_bundle(layer: &RwLayer, process: &RunProcess) -> Result<(), StepError> {
    let path = layers::bundle::write_config(layer, &process.args, HOSTNAME)?;
    let text = fs::read_to_string(&path).map_err(io("read", &path))?;
    let mut spec: Value = serde_json::from_str(&text).map_err(|e| StepError::Io {
        what: "parse",
        path: path.clone(),
        source: e.into(),
    })?;
    let rootfs = layer.rootfs();
    let (uid, gid) = resolve_user(&rootfs, &process.user)?;
    // Directories made for the working directory belong to the user, as
    // BuildKit's WORKDIR makes them (a USER before it can then write there).
    let mut dir = rootfs.clone();
    for part in Path::new(&process.cwd).components() {
        let std::path::Component::Normal(part) = part else {
            continue;
        };
        dir.push(part);
        let meta = fs::symlink_metadata(&dir);
        // A symlink would be followed on the host: this step does not resolve
        // it inside the rootfs (lab 03's resolver would), so it refuses it.
        if meta.as_ref().is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(StepError::Io {
                what: "use a symlink in the working directory",
                path: dir,
                source: std::io::Error::other("not supported yet"),
            });
        }
        if meta.is_err() {
            fs::create_dir(&dir).map_err(io("make the working directory", &dir))?;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(io("chown", &dir))?;
        }
    }
    spec["process"]["env"] = serde_json::json!(process.env);
    spec["process"]["cwd"] = serde_json::json!(process.cwd);
    spec["process"]["user"] = serde_json::json!({ "uid": uid, "gid": gid });
    // Docker's default capabilities (runc spec's default is three): a RUN
    // as root may chown, write where DAC says no, and so on. A user other
    // than root gets none effective, as Docker does since 20.10.
    let caps: Vec<String> = DOCKER_CAPS.iter().map(|c| format!("CAP_{c}")).collect();
    let effective = if uid == 0 { caps.clone() } else { Vec::new() };
    spec["process"]["capabilities"] = serde_json::json!({
        "bounding": caps,
        "effective": effective,
        "permitted": effective,
    });
    let text = serde_json::to_string_pretty(&spec).expect("a JSON value serializes");
    fs::write(&path, text).map_err(io("write", &path))
}

/// Run the container of the bundle in `layer`'s directory to its end,
/// with lab 05's runtime (state under `work/runtime`); its exit code.
pub fn run_container(work: &Path, layer: &RwLayer) -> Result<i32, StepError> {
    let bundle = runtime::bundle::Bundle::load(layer.bundle_dir())?;
    let state = work.join("runtime");
    let pid = runtime::container::create(
        &state,
        &layer.id,
        &bundle,
        &runtime::container::CreateOptions::default(),
    )?;
    let status = match runtime::container::start(&state, &layer.id) {
        Ok(()) => process::wait_pid(pid).map_err(StepError::Wait),
        Err(e) => Err(e.into()),
    };
    let deleted = runtime::container::delete(&state, &layer.id, true);
    let status = status?;
    deleted?;
    Ok(status.code())
}

/// Run one RUN step named `id` on `lowers` (bottom-first). The layer tar
/// goes to `work/<id>.tar`, the kept upper to `work/diffs/<id>`; `mtime`
/// is every entry's time in the tar (`SOURCE_DATE_EPOCH`).
pub fn run_step(
    work: &Path,
    id: &str,
    lowers: &[PathBuf],
    process: &RunProcess,
    mtime: u64,
) -> Result<Ran, StepError> {
    let layers_root = work.join("layers");
    let diffs = work.join("diffs");
    fs::create_dir_all(&diffs).map_err(io("make", &diffs))?;
    // A step built again (--no-cache) replaces its kept layer.
    let kept = diffs.join(id);
    if fs::symlink_metadata(&kept).is_ok() {
        fs::remove_dir_all(&kept).map_err(io("remove the old layer", &kept))?;
    }
    // TASK 09.9: layer on the lowers; bundle; run; exit 0 or fail; unmount; diff; keep the upper
    todo!("09.9: layer on the lowers; bundle; run; exit 0 or fail; unmount; diff; keep the upper")
    // END TASK 09.9
}
