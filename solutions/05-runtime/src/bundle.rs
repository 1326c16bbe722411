//! A bundle: a directory with `config.json` and a root filesystem.
//!
//! config.json is parsed with the `oci-spec` crate's types, which follow
//! the runtime spec field by field — never hand-written here. A parse error
//! names the JSON path of the bad value (`process.user.uid: invalid
//! type…`), found with `serde_path_to_error`, because "expected u32 at line
//! 1 column 812" helps nobody fix a generated file.
//!
//! What this runtime does not implement is listed in [`check_supported`]:
//! each such field is either refused (the container would be weaker or
//! different from what the caller asked, and the caller cannot tell) or
//! warned about on stderr (it only labels or tunes, and ignoring it is what
//! runc does on a host without that feature). Nothing is silently ignored.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxResources, Spec};

use crate::error::Error;

/// The parsed config and the bundle's paths.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    /// The root filesystem, absolute.
    pub rootfs: PathBuf,
    pub spec: Spec,
    /// Warnings about fields that are not applied (printed by the caller).
    pub warnings: Vec<String>,
}

impl Bundle {
    /// Load and check `dir/config.json`.
    pub fn load(dir: &Path) -> Result<Bundle, Error> {
        let bundle_err = |reason: String| Error::Bundle {
            bundle: dir.to_path_buf(),
            reason,
        };
        let dir = fs::canonicalize(dir).map_err(|e| bundle_err(e.to_string()))?;
        let file = dir.join("config.json");
        let text = fs::read_to_string(&file).map_err(Error::io("read", &file))?;
        let spec = parse(&file, &text)?;
        check_version(&file, spec.version())?;
        let root = spec.root().as_ref().ok_or_else(|| Error::Config {
            file: file.clone(),
            path: "root".into(),
            message: "missing: a bundle needs a root filesystem".into(),
        })?;
        let rootfs = dir.join(root.path());
        if !rootfs.is_dir() {
            return Err(bundle_err(format!(
                "root.path {} is not a directory",
                rootfs.display()
            )));
        }
        let warnings = check_supported(&spec)?;
        Ok(Bundle {
            dir,
            rootfs,
            spec,
            warnings,
        })
    }
}

/// Parse config.json; an error names the JSON path and the problem.
pub fn parse(file: &Path, text: &str) -> Result<Spec, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        Error::Config {
            file: file.to_path_buf(),
            path: if path == "." { "(top)".into() } else { path },
            message: err.into_inner().to_string(),
        }
    })
}

/// Major version 1 only: a 2.x config may mean things this runtime cannot know.
fn check_version(file: &Path, version: &str) -> Result<(), Error> {
    let major = version.split('.').next().unwrap_or("");
    if major == "1" {
        return Ok(());
    }
    Err(Error::Config {
        file: file.to_path_buf(),
        path: "ociVersion".into(),
        message: format!("{version:?}: this runtime implements version 1.x of the runtime spec"),
    })
}

/// Refuse the fields that would change what the container is, warn about
/// those that only label or tune it.
pub fn check_supported(spec: &Spec) -> Result<Vec<String>, Error> {
    let refuse = |field, why: &str| {
        Err(Error::Unsupported {
            field,
            why: why.to_string(),
        })
    };
    let mut warnings = Vec::new();
    if spec.domainname().as_ref().is_some_and(|d| !d.is_empty()) {
        return refuse("domainname", "only the hostname is set");
    }
    if let Some(process) = spec.process() {
        if process.apparmor_profile().is_some() {
            warnings.push("process.apparmorProfile is not applied: no LSM labels".into());
        }
        if process.selinux_label().is_some() {
            warnings.push("process.selinuxLabel is not applied: no LSM labels".into());
        }
        if process.io_priority().is_some() {
            return refuse("process.ioPriority", "not implemented");
        }
        if process.scheduler().is_some() {
            return refuse("process.scheduler", "not implemented");
        }
        if process.exec_cpu_affinity().is_some() {
            return refuse("process.execCPUAffinity", "not implemented");
        }
    }
    let Some(linux) = spec.linux() else {
        return Ok(warnings);
    };
    if linux.mount_label().is_some() {
        warnings.push("linux.mountLabel is not applied: no LSM labels".into());
    }
    if linux.intel_rdt().is_some() {
        return refuse(
            "linux.intelRdt",
            "cache and memory-bandwidth allocation is not implemented",
        );
    }
    if linux.personality().is_some() {
        return refuse("linux.personality", "not implemented");
    }
    if linux.memory_policy().is_some() {
        return refuse(
            "linux.memoryPolicy",
            "NUMA memory policies are not implemented",
        );
    }
    if linux.time_offsets().is_some() {
        return refuse("linux.timeOffsets", "time namespaces are not implemented");
    }
    if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
        return refuse(
            "linux.netDevices",
            "moving interfaces in is lab 11's business",
        );
    }
    if let Some(resources) = linux.resources() {
        check_resources(resources, &mut warnings)?;
    }
    Ok(warnings)
}

fn check_resources(r: &LinuxResources, warnings: &mut Vec<String>) -> Result<(), Error> {
    let refuse = |field, why: &str| {
        Err(Error::Unsupported {
            field,
            why: why.to_string(),
        })
    };
    // Lab 04 sets memory (+ swap), pids, the CPU quota and shares; every
    // other knob of memory and cpu is named here rather than dropped.
    if let Some(memory) = r.memory() {
        let ignored = [
            ("reservation", memory.reservation().is_some()),
            ("kernel", memory.kernel().is_some()),
            ("kernelTCP", memory.kernel_tcp().is_some()),
            ("swappiness", memory.swappiness().is_some()),
            (
                "disableOOMKiller",
                memory.disable_oom_killer() == Some(true),
            ),
            ("checkBeforeUpdate", memory.check_before_update().is_some()),
        ];
        for (field, set) in ignored {
            if set {
                warnings.push(format!("linux.resources.memory.{field} is not applied"));
            }
        }
    }
    if let Some(cpu) = r.cpu() {
        let ignored = [
            ("realtimeRuntime", cpu.realtime_runtime().is_some()),
            ("realtimePeriod", cpu.realtime_period().is_some()),
            ("cpus", cpu.cpus().as_ref().is_some_and(|c| !c.is_empty())),
            ("mems", cpu.mems().as_ref().is_some_and(|m| !m.is_empty())),
            ("idle", cpu.idle().is_some_and(|i| i != 0)),
            ("burst", cpu.burst().is_some()),
        ];
        for (field, set) in ignored {
            if set {
                warnings.push(format!("linux.resources.cpu.{field} is not applied"));
            }
        }
    }
    // Docker always sends `blockIO: {"weight": 0}` (no weight: 0 is below
    // the kernel's 10..1000); only a real limit is refused.
    let block_io_set = r.block_io().as_ref().is_some_and(|b| {
        b.weight().is_some_and(|w| w != 0)
            || b.leaf_weight().is_some_and(|w| w != 0)
            || [
                b.weight_device().as_ref().is_some_and(|d| !d.is_empty()),
                b.throttle_read_bps_device()
                    .as_ref()
                    .is_some_and(|d| !d.is_empty()),
                b.throttle_write_bps_device()
                    .as_ref()
                    .is_some_and(|d| !d.is_empty()),
                b.throttle_read_iops_device()
                    .as_ref()
                    .is_some_and(|d| !d.is_empty()),
                b.throttle_write_iops_device()
                    .as_ref()
                    .is_some_and(|d| !d.is_empty()),
            ]
            .contains(&true)
    });
    if block_io_set {
        return refuse(
            "linux.resources.blockIO",
            "block I/O limits are not implemented",
        );
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        return refuse("linux.resources.hugepageLimits", "not implemented");
    }
    if r.network().is_some() {
        return refuse("linux.resources.network", "not implemented");
    }
    if r.rdma().as_ref().is_some_and(|h| !h.is_empty()) {
        return refuse("linux.resources.rdma", "not implemented");
    }
    if r.unified().as_ref().is_some_and(|h| !h.is_empty()) {
        return refuse(
            "linux.resources.unified",
            "raw cgroup v2 files are not implemented",
        );
    }
    Ok(())
}
