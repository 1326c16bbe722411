//! `run` and `rm`: from `-v`/`--mount` to a container of lab 05's runtime.
//!
//! ```text
//! parse every -v/--mount (07.3)          nothing made yet: bad input stops here
//! write the record (names every volume)  from here on, a crash is undone by the next run (07.5)
//! create the volumes (07.2)
//! resolve the targets in the rootfs (07.1)
//! seed new volumes from the image (07.4)
//! write the bundle: config.json's mounts
//! lab 05: create (mounts in the container's own mount namespace), start, wait, delete
//! --rm: remove the record and the anonymous volumes
//! ```
//!
//! Nothing is ever mounted in the engine's (the host's) mount namespace:
//! every mount is made by the container's first process, in the mount
//! namespace it was cloned into, so it disappears with that namespace —
//! when the last process in it exits. A failure at any step therefore
//! leaves nothing mounted; what it may leave is files (the record, volumes,
//! the bundle) and the runtime's container, and `run` removes those.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::Error;
use crate::record::{Phase, Record};
use crate::spec::{self, Kind, MountSpec};
use crate::store::{self, Store};
use crate::{recover, resolve, seed};

pub const STEP_RECORD: &str = "write the container's record";
pub const STEP_VOLUMES: &str = "create the volumes";
pub const STEP_RESOLVE: &str = "resolve the mount targets";
pub const STEP_SEED: &str = "seed the new volumes";
pub const STEP_BUNDLE: &str = "write the bundle";
pub const STEP_START: &str = "start the container";

/// The engine's own steps, in order (the runtime's come between the
/// bundle and the start: `runtime::container::step_names`).
pub const STEPS: [&str; 6] = [
    STEP_RECORD,
    STEP_VOLUMES,
    STEP_RESOLVE,
    STEP_SEED,
    STEP_BUNDLE,
    STEP_START,
];

/// Every step `--fail-at` accepts, in order.
pub fn step_names() -> Vec<&'static str> {
    let mut names = STEPS[..5].to_vec();
    names.extend(runtime::container::step_names());
    names.push(STEP_START);
    names
}

/// What `run` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub rootfs: PathBuf,
    pub volumes: Vec<String>,
    pub mounts: Vec<String>,
    pub remove: bool,
    pub name: Option<String>,
    pub hostname: Option<String>,
    pub command: Vec<String>,
    /// For the checks: fail this step on purpose.
    pub fail_at: Option<String>,
    /// For the checks: stop before this step (print a JSON line, then wait
    /// for a signal), so the engine can be killed there.
    pub pause_at: Option<String>,
}

impl RunOptions {
    fn checkpoint(&self, step: &str) -> Result<(), Error> {
        if self.fail_at.as_deref() == Some(step) {
            return Err(Error::FailedAt(step.to_string()));
        }
        if self.pause_at.as_deref() == Some(step) {
            println!("{}", json!({ "engine": "paused", "before": step }));
            use std::io::Write;
            let _ = std::io::stdout().flush();
            loop {
                nix::unistd::pause();
            }
        }
        Ok(())
    }
}

/// A random container id: 12 hex digits.
fn random_id() -> String {
    (0..12)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).expect("a hex digit"))
        .collect()
}

/// The volume name each spec mounts (`None` for binds and tmpfs),
/// anonymous ones named now so the record can hold them.
fn volume_names(specs: &[MountSpec]) -> Vec<Option<(String, bool)>> {
    specs
        .iter()
        .map(|spec| match &spec.kind {
            Kind::Volume {
                name: Some(name), ..
            } => Some((name.clone(), false)),
            Kind::Volume { name: None, .. } => Some((store::anonymous_name(), true)),
            _ => None,
        })
        .collect()
}

/// `run`: returns the container's exit code.
pub fn run(store: &Store, opts: &RunOptions) -> Result<i32, Error> {
    if let Some(step) = opts.fail_at.as_deref().or(opts.pause_at.as_deref())
        && !step_names().contains(&step)
    {
        return Err(Error::FailedAt(format!(
            "{step:?} is not a step; the steps are: {}",
            step_names().join(", ")
        )));
    }
    recover::recover(store)?;
    let specs = spec::parse_all(&opts.volumes, &opts.mounts)?;
    let rootfs = fs::canonicalize(&opts.rootfs)
        .ok()
        .filter(|p| p.is_dir())
        .ok_or_else(|| Error::Container {
            id: opts.name.clone().unwrap_or_default(),
            reason: format!("the rootfs {} is not a directory", opts.rootfs.display()),
        })?;
    let id = opts.name.clone().unwrap_or_else(random_id);
    runtime::container::check_id(&id)?;
    if Record::dir(store, &id).exists() {
        return Err(Error::Container {
            id,
            reason: "the name is already in use by a container (dockyard-07 rm it)".into(),
        });
    }
    let names = volume_names(&specs);
    let mut record = Record::new(&id, opts.remove, rootfs.clone());
    for (name, anonymous) in names.iter().flatten() {
        record.volumes.push(name.clone());
        if *anonymous {
            record.anonymous.push(name.clone());
        }
    }
    opts.checkpoint(STEP_RECORD)?;
    record.create(store)?;
    let made = create_and_run(store, opts, &specs, &names, &rootfs, &mut record);
    match made {
        Ok(code) => Ok(code),
        Err(err) => {
            undo(store, &record);
            Err(err)
        }
    }
}

/// Everything after the record; on error the caller undoes it.
fn create_and_run(
    store: &Store,
    opts: &RunOptions,
    specs: &[MountSpec],
    names: &[Option<(String, bool)>],
    rootfs: &Path,
    record: &mut Record,
) -> Result<i32, Error> {
    opts.checkpoint(STEP_VOLUMES)?;
    for (name, anonymous) in names.iter().flatten() {
        let (_, made) = store.create(name, *anonymous)?;
        if made && !anonymous {
            record.made.push(name.clone());
            record.save(store)?;
        }
    }
    opts.checkpoint(STEP_RESOLVE)?;
    let mut resolved = Vec::new();
    for spec in specs {
        resolved.push(resolve::target_in(rootfs, &spec.target)?);
    }
    opts.checkpoint(STEP_SEED)?;
    for ((spec, name), at) in specs.iter().zip(names).zip(&resolved) {
        if let (Kind::Volume { nocopy: false, .. }, Some((name, _))) = (&spec.kind, name)
            && seed::image_has_content(rootfs, at)?
        {
            seed::seed(rootfs, at, &store.data_of(name))?;
        }
    }
    opts.checkpoint(STEP_BUNDLE)?;
    let bundle_dir = record.bundle(store);
    let config = config_json(store, opts, specs, names, &resolved, rootfs);
    fs::create_dir_all(&bundle_dir).map_err(Error::io("create", &bundle_dir))?;
    let file = bundle_dir.join("config.json");
    fs::write(&file, serde_json::to_string_pretty(&config).expect("json"))
        .map_err(Error::io("write", &file))?;
    let bundle = runtime::bundle::Bundle::load(&bundle_dir)?;
    for warning in &bundle.warnings {
        eprintln!("dockyard-07: warning: {warning}");
    }
    let root = store.runtime_root();
    let create = runtime::container::CreateOptions {
        pid_file: None,
        fail_at: opts
            .fail_at
            .clone()
            .filter(|step| runtime::container::step_names().contains(&step.as_str())),
        ..Default::default()
    };
    let pid = runtime::container::create(&root, &record.id, &bundle, &create)?;
    record.pid = Some(pid.as_raw());
    record.phase = Phase::Running;
    record.save(store)?;
    opts.checkpoint(STEP_START)?;
    runtime::container::start(&root, &record.id)?;
    let status = process::wait_pid(pid).map_err(Error::sys("wait for the container"))?;
    runtime::container::delete(&root, &record.id, true)?;
    record.phase = Phase::Exited;
    record.exit_code = Some(status.code());
    if record.remove {
        discard(store, record, true)?;
    } else {
        record.save(store)?;
    }
    Ok(status.code())
}

/// config.json for lab 05's runtime: the program, its namespaces, `/proc`,
/// and one mount per spec at its resolved target.
fn config_json(
    store: &Store,
    opts: &RunOptions,
    specs: &[MountSpec],
    names: &[Option<(String, bool)>],
    resolved: &[PathBuf],
    rootfs: &Path,
) -> Value {
    let mut mounts = vec![json!({ "destination": "/proc", "type": "proc", "source": "proc" })];
    for ((spec, name), at) in specs.iter().zip(names).zip(resolved) {
        let (typ, options) = spec.options();
        let source = match (&spec.kind, name) {
            (Kind::Bind { source, .. }, _) => source.clone(),
            (Kind::Volume { .. }, Some((name, _))) => store.data_of(name),
            _ => PathBuf::from("tmpfs"),
        };
        mounts.push(json!({
            "destination": at, "type": typ, "source": source, "options": options,
        }));
    }
    json!({
        "ociVersion": "1.0.2",
        "root": { "path": rootfs },
        "process": {
            "user": { "uid": 0, "gid": 0 },
            "args": opts.command,
            "env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"],
            "cwd": "/"
        },
        "hostname": opts.hostname.clone().unwrap_or_else(|| "dockyard".into()),
        "mounts": mounts,
        "linux": {
            "namespaces": [
                { "type": "pid" }, { "type": "ipc" }, { "type": "uts" },
                { "type": "mount" }, { "type": "network" }
            ]
        }
    })
}

/// Undo a failed `run`: the runtime's container (its process and cgroup;
/// its mounts go with its mount namespace), the volumes this run made, the
/// record. Best effort: the first error must reach the user, not this one's.
fn undo(store: &Store, record: &Record) {
    let _ = runtime::container::delete(&store.runtime_root(), &record.id, true);
    if let Some(pid) = record.pid {
        // Our child: `delete --force` killed it; reap it, or it would
        // outlive us as a zombie for whoever adopts it.
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    }
    for name in record.anonymous.iter().chain(&record.made) {
        let _ = store.destroy(name);
    }
    let _ = fs::remove_dir_all(Record::dir(store, &record.id));
}

/// Remove an exited container's record (and with `volumes`, its
/// anonymous volumes). The record goes last: until then it still names
/// what is left, so a crash half-way is finished by the next `rm`.
pub fn discard(store: &Store, record: &Record, volumes: bool) -> Result<(), Error> {
    match runtime::container::delete(&store.runtime_root(), &record.id, true) {
        Ok(()) | Err(runtime::Error::Id { .. }) => {}
        Err(err) => return Err(err.into()),
    }
    if volumes {
        for name in &record.anonymous {
            store.destroy(name)?;
        }
    }
    // Out of sight in one rename, then removed: `remove_dir_all` killed
    // half-way would leave a directory without its record, which nothing
    // lists and nothing removes; a `.ID.PID` left so is swept by the next
    // command (see `recover::sweep`).
    let dir = Record::dir(store, &record.id);
    let doomed = store
        .containers_dir()
        .join(format!(".{}.{}", record.id, std::process::id()));
    fs::rename(&dir, &doomed).map_err(Error::io("rename", &dir))?;
    fs::remove_dir_all(&doomed).map_err(Error::io("remove", &doomed))
}

/// `rm [-v] ID`: an exited container (or one whose engine died).
pub fn remove(store: &Store, id: &str, volumes: bool) -> Result<(), Error> {
    recover::recover(store)?;
    let record = Record::load(store, id)?;
    if record.phase != Phase::Exited {
        return Err(Error::Container {
            id: id.to_string(),
            reason: "it is still running".into(),
        });
    }
    discard(store, &record, volumes)
}
