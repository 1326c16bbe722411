//! Finding the probe and reading its report.
//!
//! The probe (`xtask/probe`) is a static binary, so it runs in any root
//! filesystem without a dynamic loader or libraries. `cargo xtask check`
//! builds it and passes its path in `DOCKYARD_PROBE`; a plain `cargo test`
//! builds it here on first use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The environment variable through which xtask passes the probe's path.
pub const PROBE_ENV: &str = "DOCKYARD_PROBE";

/// The path of the static probe binary, building it if needed.
pub fn probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| match std::env::var_os(PROBE_ENV) {
        Some(path) => PathBuf::from(path),
        None => build_probe(),
    })
}

/// The repository root (the kit lives in `xtask/kit`).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or_else(|err| {
        panic!(
            "cannot find the repository root at {} (the kit was built there): {err}",
            root.display()
        )
    })
}

/// Build the probe and return its path, or fail the check saying how to
/// run it instead.
fn build_probe() -> PathBuf {
    build_probe_at(&repo_root()).unwrap_or_else(|err| {
        panic!("{err}\nRun the checks with `cargo xtask check NN`, which builds it first.")
    })
}

/// Build the probe of the repository at `root` as a static glibc binary, in
/// its own target dir (`target/probe`): it needs `crt-static` in RUSTFLAGS,
/// which must not leak into the labs' builds. Quiet, and fast when nothing
/// changed. Returns where it is. xtask uses it too.
pub fn build_probe_at(root: &Path) -> Result<PathBuf, String> {
    let target = root.join("target/probe");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args([
            "build",
            "--quiet",
            "--release",
            "--package",
            "dockyard-probe",
            "--target-dir",
        ])
        .arg(&target)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .status();
    match status {
        Ok(s) if s.success() => Ok(target.join("release/probe")),
        Ok(s) => Err(format!(
            "could not build the probe (xtask/probe): cargo {s}; see its errors above"
        )),
        Err(err) => Err(format!("could not run cargo to build the probe: {err}")),
    }
}

/// The probe's `report`, parsed.
#[derive(Debug, Clone)]
pub struct Report(pub Value);

impl Report {
    /// Parse the last JSON line of the probe's stdout.
    #[track_caller]
    pub fn parse(stdout: &str) -> Report {
        match stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok())
        {
            Some(v) if v.get("pid").is_some() => Report(v),
            _ => panic!("expected a probe report on stdout, got:\n{stdout}"),
        }
    }

    /// The value at a JSON pointer such as `/namespaces/uts`.
    #[track_caller]
    pub fn at(&self, pointer: &str) -> &Value {
        self.0
            .pointer(pointer)
            .unwrap_or_else(|| panic!("the report has no {pointer}"))
    }

    /// A string field.
    #[track_caller]
    pub fn str(&self, pointer: &str) -> &str {
        self.at(pointer)
            .as_str()
            .unwrap_or_else(|| panic!("{pointer} is not a string"))
    }

    /// An integer field.
    #[track_caller]
    pub fn int(&self, pointer: &str) -> i64 {
        self.at(pointer)
            .as_i64()
            .unwrap_or_else(|| panic!("{pointer} is not an integer"))
    }
}
