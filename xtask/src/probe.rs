//! Building the probe: the static program the checks run inside containers.
//! (The kit knows how; `check`, `verify`, `demo` and `bench` build it first
//! and pass its path to the checks in `DOCKYARD_PROBE`.)

use std::path::{Path, PathBuf};

/// Build the probe (quietly; fast when nothing changed) and return its path.
pub fn build(root: &Path) -> anyhow::Result<PathBuf> {
    kit::probe::build_probe_at(root).map_err(anyhow::Error::msg)
}
