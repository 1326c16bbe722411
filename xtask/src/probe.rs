//! Building the probe: the static program the checks run inside containers.
//!
//! It needs `-C target-feature=+crt-static` (a static glibc binary runs in
//! any root filesystem), and RUSTFLAGS would change every crate's build, so
//! it gets a target dir of its own: `target/probe`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

/// Build the probe (quietly; fast when nothing changed) and return its path.
pub fn build(root: &Path) -> Result<PathBuf> {
    let target = root.join("target/probe");
    let status = Command::new(crate::testrun::cargo())
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
        .status()?;
    if !status.success() {
        bail!("could not build the probe (xtask/probe); see cargo's errors above");
    }
    Ok(target.join("release/probe"))
}
