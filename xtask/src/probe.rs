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

/// Whether an ELF file is statically linked: no `PT_INTERP` program header
/// (the dynamic loader a dynamic binary asks for).
pub fn is_static(bytes: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let Some(phoff) = bytes
        .get(32..40)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
    else {
        return false;
    };
    let (Some(size), Some(count)) = (u16_at(54), u16_at(56)) else {
        return false;
    };
    bytes.starts_with(b"\x7fELF")
        && (0..count).all(|i| {
            let at = phoff + i * size;
            bytes
                .get(at..at + 4)
                .is_some_and(|t| u32::from_le_bytes(t.try_into().expect("4 bytes")) != PT_INTERP)
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_test_binary_is_dynamic() {
        let me = std::fs::read("/proc/self/exe").unwrap();
        assert!(!super::is_static(&me));
        assert!(!super::is_static(b"not an elf"));
    }
}
