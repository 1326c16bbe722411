//! config.json turned into what the child needs, before `clone`.
//!
//! The child may not allocate (see lab 01), so everything it will use —
//! paths as C strings, mount flags, capability masks, rlimits — is worked
//! out here, in the parent, and the child only walks it.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use namespaces::idmap::{IdMap, IdRange};
use namespaces::{Config, Namespaces};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};
use process::Command;

use crate::bundle::Bundle;
use crate::error::Error;

/// One mount of config.json's `mounts`.
#[derive(Debug, Clone)]
pub struct MountPlan {
    /// Where, inside the container (absolute).
    pub destination: CString,
    /// The directories to create on the way, as (parent, name) pairs.
    pub dirs: Vec<(CString, CString)>,
    /// A bind mount's source (a host path), or the source word of a filesystem.
    pub source: CString,
    /// The filesystem type; `None` for a bind mount.
    pub fstype: Option<String>,
    /// `bind` or `rbind`.
    pub bind: Option<MsFlags>,
    /// A bind of a file needs a file to mount on.
    pub file: bool,
    /// ro, nosuid, nodev, noexec, … (applied by a remount after a bind).
    pub flags: MsFlags,
    /// Propagation (private, rslave, …), applied after the mount.
    pub propagation: MsFlags,
    /// Options the filesystem reads itself (`mode=755,size=65536k`).
    pub data: Option<String>,
}

/// The process's identity and privileges.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<libc::gid_t>,
    pub umask: Option<u32>,
    /// The five capability sets, as bit masks (bit N: capability N).
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
    /// config.json has a `capabilities` object (the five masks apply).
    pub capabilities: bool,
    pub no_new_privs: bool,
    /// (resource, soft, hard).
    pub rlimits: Vec<(libc::__rlimit_resource_t, u64, u64)>,
    pub cwd: CString,
    /// The highest capability number this kernel knows (read by the parent).
    pub last_cap: u32,
}

impl Identity {
    /// Whether the process must change user or privileges at all: a
    /// config without `capabilities`, as root, without `noNewPrivileges`,
    /// keeps the creator's (as runc does).
    pub fn changes_privileges(&self) -> bool {
        self.capabilities
            || self.uid != 0
            || self.gid != 0
            || !self.groups.is_empty()
            || self.no_new_privs
    }
}

/// Everything a create needs, computed from the bundle.
#[derive(Debug)]
pub struct Plan {
    pub command: Command,
    pub config: Config,
    /// Namespaces to join by path: (open fd's path, type).
    pub joins: Vec<(std::path::PathBuf, CloneFlags)>,
    pub mounts: Vec<MountPlan>,
    /// A cgroup namespace's cgroupfs at /sys/fs/cgroup (lab 04).
    pub cgroup_mount: bool,
    pub cgroupns: bool,
    /// `/dev` is a tmpfs of the container's: fill it with the default devices.
    pub dev_tmpfs: bool,
    pub masked: Vec<CString>,
    pub readonly: Vec<CString>,
    /// (path under /proc/sys, value).
    pub sysctl: Vec<(CString, CString)>,
    pub rootfs_readonly: bool,
    pub rootfs_propagation: MsFlags,
    pub identity: Option<Identity>,
    pub oom_score_adj: Option<i32>,
    /// linux.seccomp, compiled (05.4).
    pub seccomp: Option<crate::seccomp::Filters>,
    pub limits: cgroups::Limits,
    /// The cgroup's name below each hierarchy's top (no leading '/').
    pub cgroup_path: Option<String>,
    pub annotations: BTreeMap<String, String>,
    /// process.terminal: a pty for the process (see [`crate::console`]).
    pub terminal: bool,
    /// config.json's hooks (see [`crate::hooks`]).
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// `linux.devices`: the nodes to make in the rootfs.
    pub devices: Vec<crate::devices::Node>,
    /// `linux.resources.devices`, replayed (`None`: no device cgroup).
    pub device_rules: Option<crate::devices::Rules>,
}

fn c(path: impl AsRef<std::ffi::OsStr>) -> Result<CString, Error> {
    CString::new(path.as_ref().as_bytes()).map_err(|_| Error::Unsupported {
        field: "a path or string",
        why: "it holds a NUL byte".into(),
    })
}

fn config_error(path: &str, message: impl Into<String>) -> Error {
    Error::Config {
        file: "config.json".into(),
        path: path.to_string(),
        message: message.into(),
    }
}

impl Plan {
    /// Work out the plan for container `id` from `bundle`.
    pub fn new(id: &str, bundle: &Bundle) -> Result<Plan, Error> {
        let spec = &bundle.spec;
        let process = spec
            .process()
            .as_ref()
            .ok_or_else(|| config_error("process", "missing: there is nothing to run"))?;
        let args = process.args().clone().unwrap_or_default();
        let Some((program, rest)) = args.split_first() else {
            return Err(config_error(
                "process.args",
                "empty: there is nothing to run",
            ));
        };
        let mut command = Command::new(program);
        command.args(rest);
        for (i, pair) in process.env().iter().flatten().enumerate() {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(config_error(&format!("process.env[{i}]"), "not KEY=VALUE"));
            };
            command.env(key, value);
        }
        let (config, joins, cgroupns) = namespaces_of(spec)?;
        let mut plan = Plan {
            command,
            config,
            joins,
            mounts: Vec::new(),
            cgroup_mount: false,
            cgroupns,
            dev_tmpfs: false,
            masked: Vec::new(),
            readonly: Vec::new(),
            sysctl: Vec::new(),
            rootfs_readonly: spec.root().as_ref().and_then(|r| r.readonly()) == Some(true),
            rootfs_propagation: MsFlags::empty(),
            identity: Some(identity_of(spec)?),
            oom_score_adj: process.oom_score_adj(),
            seccomp: None,
            limits: cgroups::Limits::default(),
            cgroup_path: None,
            annotations: spec
                .annotations()
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            terminal: process.terminal() == Some(true),
            hooks: spec.hooks().clone(),
            devices: crate::devices::nodes_of(spec)?,
            device_rules: crate::devices::rules_of(spec)?,
        };
        let cgroup_at = plan.mounts(spec)?;
        if let Some(linux) = spec.linux() {
            for path in linux.masked_paths().iter().flatten() {
                plan.masked.push(c(path)?);
            }
            for path in linux.readonly_paths().iter().flatten() {
                plan.readonly.push(c(path)?);
            }
            for (key, value) in linux.sysctl().iter().flatten() {
                if key.contains('/') || key.contains("..") {
                    return Err(config_error(
                        &format!("linux.sysctl.{key}"),
                        "not a sysctl name",
                    ));
                }
                let path = format!("/proc/sys/{}", key.replace('.', "/"));
                plan.sysctl.push((c(path)?, c(value)?));
            }
            if let Some(p) = linux.rootfs_propagation() {
                plan.rootfs_propagation = match propagation(p) {
                    Some(flag) => flag | MsFlags::MS_REC,
                    None => {
                        return Err(config_error("linux.rootfsPropagation", format!("{p:?}")));
                    }
                };
            }
            if let Some(resources) = linux.resources() {
                plan.limits = limits_of(resources)?;
            }
            if let Some(profile) = linux.seccomp() {
                plan.seccomp = Some(crate::seccomp::compile(profile)?);
            }
            plan.cgroup_path = linux
                .cgroups_path()
                .as_ref()
                .map(|p| p.to_string_lossy().trim_start_matches('/').to_string());
        }
        if plan.cgroup_path.as_deref().is_some_and(str::is_empty) {
            plan.cgroup_path = None;
        }
        if plan.cgroup_path.is_none() {
            plan.cgroup_path = Some(format!("dockyard-{id}"));
        }
        if let Some(path) = &plan.cgroup_path {
            let bad = path.contains(':')
                || Path::new(path)
                    .components()
                    .any(|c| !matches!(c, Component::Normal(_)));
            if bad {
                return Err(config_error(
                    "linux.cgroupsPath",
                    format!(
                        "{path:?}: a path below the cgroup hierarchies is needed (systemd's slice:prefix:name form is not supported)"
                    ),
                ));
            }
        }
        if let Some(at) = cgroup_at.filter(|_| !plan.cgroupns) {
            let binds = plan.cgroup_binds(&bundle.rootfs)?;
            plan.mounts.splice(at..at, binds);
        }
        Ok(plan)
    }

    /// config.json's mounts; returns where in the list the cgroup mount
    /// was (it is made later: see [`Plan::cgroup_binds`]).
    fn mounts(&mut self, spec: &Spec) -> Result<Option<usize>, Error> {
        let mut cgroup_at = None;
        for (i, mount) in spec.mounts().iter().flatten().enumerate() {
            let at = |field: &str| format!("mounts[{i}].{field}");
            let destination = mount.destination();
            if !destination.is_absolute() {
                return Err(config_error(&at("destination"), "must be an absolute path"));
            }
            let typ = mount.typ().clone().unwrap_or_default();
            let mut flags = MsFlags::empty();
            let mut propagation_flags = MsFlags::empty();
            let mut bind = None;
            let mut data = Vec::new();
            for option in mount.options().iter().flatten() {
                if let Some((set, flag)) = flag_of(option) {
                    if set {
                        flags |= flag;
                    } else {
                        flags &= !flag;
                    }
                } else if let Some(flag) = propagation(option) {
                    propagation_flags |= flag;
                } else if option == "bind" {
                    bind = Some(MsFlags::MS_BIND);
                } else if option == "rbind" {
                    bind = Some(MsFlags::MS_BIND | MsFlags::MS_REC);
                } else {
                    data.push(option.as_str());
                }
            }
            if typ == "bind" && bind.is_none() {
                bind = Some(MsFlags::MS_BIND);
            }
            if typ == "cgroup" || typ == "cgroup2" {
                // Lab 04 mounts the hierarchies, seen from the cgroup
                // namespace; without one, binds take its place.
                self.cgroup_mount = true;
                cgroup_at.get_or_insert(self.mounts.len());
                continue;
            }
            let source = mount.source().clone().unwrap_or_else(|| typ.clone().into());
            let file = bind.is_some() && !source.is_dir();
            if bind.is_some() && !source.exists() {
                return Err(config_error(
                    &at("source"),
                    format!("{} does not exist", source.display()),
                ));
            }
            if destination == Path::new("/dev") && typ == "tmpfs" {
                self.dev_tmpfs = true;
            }
            let mut dirs = Vec::new();
            let mut parent = std::path::PathBuf::from("/");
            let components: Vec<_> = destination.components().skip(1).collect();
            for (n, component) in components.iter().enumerate() {
                let Component::Normal(name) = component else {
                    return Err(config_error(&at("destination"), "may not hold . or .."));
                };
                if !(file && n + 1 == components.len()) {
                    dirs.push((c(&parent)?, c(name)?));
                }
                parent.push(name);
            }
            self.mounts.push(MountPlan {
                destination: c(destination)?,
                dirs,
                source: c(&source)?,
                fstype: if bind.is_some() { None } else { Some(typ) },
                bind,
                file,
                flags,
                propagation: propagation_flags,
                data: (!data.is_empty()).then(|| data.join(",")),
            });
        }
        Ok(cgroup_at)
    }

    /// The cgroup mount without a cgroup namespace (Docker's default on a
    /// cgroup v1 host): as runc does, the container's *own* cgroup
    /// directories, bound read-only from the host — on v1 and hybrid a
    /// tmpfs at /sys/fs/cgroup with one bind per hierarchy this runtime
    /// manages, on v2 one bind at /sys/fs/cgroup. A cgroupfs mounted from
    /// inside without a namespace would show the host's whole tree.
    fn cgroup_binds(&self, rootfs: &Path) -> Result<Vec<MountPlan>, Error> {
        let name = self.cgroup_path.as_deref().expect("set before");
        let layout = cgroups::layout::detect().map_err(cgroups::Error::from)?;
        let dirs = cgroups::manager::for_layout(&layout, name).dirs();
        let ro = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        let on_the_way = |names: &[&str]| -> Result<Vec<(CString, CString)>, Error> {
            let mut parent = std::path::PathBuf::from("/");
            let mut dirs = Vec::new();
            for name in names {
                dirs.push((c(&parent)?, c(name)?));
                parent.push(name);
            }
            Ok(dirs)
        };
        let bind = |source: &Path, names: &[&str]| -> Result<MountPlan, Error> {
            Ok(MountPlan {
                destination: c(Path::new("/").join(names.join("/")))?,
                dirs: on_the_way(names)?,
                source: c(source)?,
                fstype: None,
                bind: Some(MsFlags::MS_BIND),
                file: false,
                flags: ro,
                propagation: MsFlags::empty(),
                data: None,
            })
        };
        if let cgroups::layout::Layout::V2 { .. } = layout {
            return Ok(dirs
                .first()
                .map(|dir| bind(dir, &["sys", "fs", "cgroup"]))
                .transpose()?
                .into_iter()
                .collect());
        }
        let mut plans = vec![MountPlan {
            destination: c("/sys/fs/cgroup")?,
            dirs: on_the_way(&["sys", "fs", "cgroup"])?,
            source: c("tmpfs")?,
            fstype: Some("tmpfs".into()),
            bind: None,
            file: false,
            flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            propagation: MsFlags::empty(),
            data: Some("mode=755".into()),
        }];
        for dir in dirs {
            // <hierarchy's mount point>/<name>: the hierarchy's own name.
            let Some(hierarchy) = dir
                .to_str()
                .and_then(|d| d.strip_suffix(name))
                .map(|d| Path::new(d.trim_end_matches('/')))
                .and_then(Path::file_name)
                .and_then(|n| n.to_str())
            else {
                continue;
            };
            plans.push(bind(&dir, &["sys", "fs", "cgroup", hierarchy])?);
        }
        // Last, the tmpfs read-only too (runc remounts it): a recursive
        // bind of it onto itself — seen from here, before pivot_root, at its
        // host path — with the binds in it, then remounted read-only.
        let mut top = bind(&rootfs.join("sys/fs/cgroup"), &["sys", "fs", "cgroup"])?;
        top.bind = Some(MsFlags::MS_BIND | MsFlags::MS_REC);
        plans.push(top);
        Ok(plans)
    }
}

/// A mount option that is a flag: (set or clear, the flag).
pub fn flag_of(option: &str) -> Option<(bool, MsFlags)> {
    Some(match option {
        "ro" => (true, MsFlags::MS_RDONLY),
        "rw" => (false, MsFlags::MS_RDONLY),
        "nosuid" => (true, MsFlags::MS_NOSUID),
        "suid" => (false, MsFlags::MS_NOSUID),
        "nodev" => (true, MsFlags::MS_NODEV),
        "dev" => (false, MsFlags::MS_NODEV),
        "noexec" => (true, MsFlags::MS_NOEXEC),
        "exec" => (false, MsFlags::MS_NOEXEC),
        "sync" => (true, MsFlags::MS_SYNCHRONOUS),
        "async" => (false, MsFlags::MS_SYNCHRONOUS),
        "noatime" => (true, MsFlags::MS_NOATIME),
        "atime" => (false, MsFlags::MS_NOATIME),
        "nodiratime" => (true, MsFlags::MS_NODIRATIME),
        "diratime" => (false, MsFlags::MS_NODIRATIME),
        "relatime" => (true, MsFlags::MS_RELATIME),
        "norelatime" => (false, MsFlags::MS_RELATIME),
        "strictatime" => (true, MsFlags::MS_STRICTATIME),
        "nostrictatime" => (false, MsFlags::MS_STRICTATIME),
        "dirsync" => (true, MsFlags::MS_DIRSYNC),
        "mand" => (true, MsFlags::MS_MANDLOCK),
        "nomand" => (false, MsFlags::MS_MANDLOCK),
        _ => return None,
    })
}

/// A propagation option's flag.
pub fn propagation(option: &str) -> Option<MsFlags> {
    let rec = MsFlags::MS_REC;
    Some(match option {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | rec,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | rec,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | rec,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | rec,
        _ => return None,
    })
}

/// `linux.uidMappings` or `linux.gidMappings` as lab 02's map: every
/// range, refused here as the kernel would refuse it (with `EINVAL`, and
/// no word on which range) when the parent writes the map.
fn id_map(field: &str, maps: &Option<Vec<LinuxIdMapping>>) -> Result<Option<IdMap>, Error> {
    let Some(maps) = maps.as_deref().filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    let ranges = maps
        .iter()
        .map(|m| IdRange {
            inside: m.container_id(),
            outside: m.host_id(),
            count: m.size(),
        })
        .collect();
    IdMap::new(ranges).map(Some).map_err(|err| {
        let path = match err.index() {
            Some(i) => format!("{field}[{i}]"),
            None => field.to_string(),
        };
        config_error(&path, err.to_string())
    })
}

/// New namespaces (clone flags, via lab 02's `Config`) and joined ones.
#[allow(clippy::type_complexity)]
fn namespaces_of(
    spec: &Spec,
) -> Result<(Config, Vec<(std::path::PathBuf, CloneFlags)>, bool), Error> {
    let mut ns = Namespaces::NONE;
    let mut joins = Vec::new();
    let mut cgroupns = false;
    let linux = spec.linux().clone().unwrap_or_default();
    for (i, namespace) in linux.namespaces().iter().flatten().enumerate() {
        let typ = namespace.typ();
        if let Some(path) = namespace.path() {
            let flag = match typ {
                LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
                LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
                LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
                other => {
                    return Err(config_error(
                        &format!("linux.namespaces[{i}].path"),
                        format!(
                            "joining a {other:?} namespace by path is not supported (a pid namespace \
                             is entered only by children, a mount or user one would change what \
                             the rootfs and ids mean): only network, ipc and uts"
                        ),
                    ));
                }
            };
            joins.push((path.clone(), flag));
            continue;
        }
        match typ {
            LinuxNamespaceType::Uts => ns.uts = true,
            LinuxNamespaceType::Pid => ns.pid = true,
            LinuxNamespaceType::Ipc => ns.ipc = true,
            LinuxNamespaceType::Network => ns.net = true,
            LinuxNamespaceType::Mount => ns.mount = true,
            LinuxNamespaceType::Cgroup => cgroupns = true,
            LinuxNamespaceType::User => ns.user = true,
            LinuxNamespaceType::Time => {
                return Err(Error::Unsupported {
                    field: "a time namespace",
                    why: "not implemented".into(),
                });
            }
        }
    }
    if !ns.mount {
        return Err(config_error(
            "linux.namespaces",
            "a mount namespace is needed: the rootfs is mounted in it",
        ));
    }
    let hostname = spec.hostname().clone().filter(|h| !h.is_empty());
    let config = Config {
        namespaces: ns,
        hostname,
        init: false,
        uid_map: id_map("linux.uidMappings", linux.uid_mappings())?,
        gid_map: id_map("linux.gidMappings", linux.gid_mappings())?,
        fail_at: None,
        clone_into_cgroup: None,
    };
    Ok((config, joins, cgroupns))
}

fn cap_mask(field: &str, set: &Option<oci_spec::runtime::Capabilities>) -> Result<u64, Error> {
    let mut mask = 0u64;
    for cap in set.iter().flatten() {
        let name = serde_json::to_value(cap).expect("a capability serializes");
        let name = name.as_str().unwrap_or_default();
        let parsed: caps::Capability = name
            .parse()
            .map_err(|_| config_error(field, format!("{name}: unknown to this kernel's list")))?;
        mask |= parsed.bitmask();
    }
    Ok(mask)
}

fn identity_of(spec: &Spec) -> Result<Identity, Error> {
    let process = spec.process().as_ref().expect("checked by the caller");
    let user = process.user();
    let mut identity = Identity {
        uid: user.uid(),
        gid: user.gid(),
        groups: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        no_new_privs: process.no_new_privileges() == Some(true),
        cwd: c(process.cwd())?,
        last_cap: std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40),
        ..Identity::default()
    };
    if !process.cwd().is_absolute() {
        return Err(config_error("process.cwd", "must be an absolute path"));
    }
    // No capabilities object: the creator's are kept (runc's reading).
    if let Some(sets) = process.capabilities() {
        identity.capabilities = true;
        identity.bounding = cap_mask("process.capabilities.bounding", sets.bounding())?;
        identity.effective = cap_mask("process.capabilities.effective", sets.effective())?;
        identity.permitted = cap_mask("process.capabilities.permitted", sets.permitted())?;
        identity.inheritable = cap_mask("process.capabilities.inheritable", sets.inheritable())?;
        identity.ambient = cap_mask("process.capabilities.ambient", sets.ambient())?;
    }
    for (i, rlimit) in process.rlimits().iter().flatten().enumerate() {
        let name = serde_json::to_value(rlimit.typ()).expect("serializes");
        let resource = match name.as_str().unwrap_or_default() {
            "RLIMIT_CPU" => libc::RLIMIT_CPU,
            "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
            "RLIMIT_DATA" => libc::RLIMIT_DATA,
            "RLIMIT_STACK" => libc::RLIMIT_STACK,
            "RLIMIT_CORE" => libc::RLIMIT_CORE,
            "RLIMIT_RSS" => libc::RLIMIT_RSS,
            "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
            "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
            "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
            "RLIMIT_AS" => libc::RLIMIT_AS,
            "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
            "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
            "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
            "RLIMIT_NICE" => libc::RLIMIT_NICE,
            "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
            "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
            other => {
                return Err(config_error(
                    &format!("process.rlimits[{i}].type"),
                    format!("{other}: unknown"),
                ));
            }
        };
        if rlimit.soft() > rlimit.hard() {
            return Err(config_error(
                &format!("process.rlimits[{i}]"),
                "soft is above hard",
            ));
        }
        identity
            .rlimits
            .push((resource, rlimit.soft(), rlimit.hard()));
    }
    Ok(identity)
}

pub(crate) fn limits_of(r: &oci_spec::runtime::LinuxResources) -> Result<cgroups::Limits, Error> {
    let mut limits = cgroups::Limits::default();
    if let Some(memory) = r.memory() {
        limits.memory = memory.limit().filter(|l| *l > 0).map(|l| l as u64);
        limits.memory_swap = match memory.swap() {
            Some(-1) => Some(cgroups::Swap::Unlimited),
            Some(s) if s > 0 => Some(cgroups::Swap::Total(s as u64)),
            _ => None,
        };
    }
    if let Some(pids) = r.pids() {
        limits.pids = (pids.limit() > 0).then_some(pids.limit() as u64);
    }
    if let Some(cpu) = r.cpu() {
        if let Some(quota) = cpu.quota().filter(|q| *q > 0) {
            limits.cpu = Some(cgroups::CpuQuota {
                quota_us: quota as u64,
                period_us: cpu.period().unwrap_or(100_000),
            });
        }
        limits.cpu_shares = cpu.shares().filter(|s| *s > 0);
    }
    limits
        .validate()
        .map_err(|err| config_error("linux.resources", err.to_string()))?;
    Ok(limits)
}
