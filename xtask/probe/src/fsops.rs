//! Changing the file tree: remove and make directories. Lab 06 uses them
//! to make overlay write whiteouts (a lower file removed) and opaque
//! directories (a lower directory removed and made again), then looks at
//! the upper directory from the host.

use crate::out;
use serde_json::json;
use std::fs;

/// `probe rm PATH`: a file, a symbolic link, or a directory with all it holds.
pub fn rm(path: &str) -> u8 {
    let removed = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(err) => Err(err),
    };
    match removed {
        Ok(()) => out::finish(json!({ "ok": true, "path": path })),
        Err(err) => out::fail(&err, json!({ "path": path })),
    }
}

/// `probe mkdir PATH`: one directory (its parent must exist).
pub fn mkdir(path: &str) -> u8 {
    match fs::create_dir(path) {
        Ok(()) => out::finish(json!({ "ok": true, "path": path })),
        Err(err) => out::fail(&err, json!({ "path": path })),
    }
}
