//! `cargo xtask book [--serve] [--check] [--xgettext]`: the mdBook, in
//! English and in each translation (`book/po/LANG.po`).
//!
//! The book is built by its own crate (`xtask/book`, on mdBook's library
//! and mdbook-i18n-helpers'), which is heavy to compile; keeping it out of
//! xtask keeps `check` fast.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

pub fn run(root: &Path, serve: bool, check: bool, xgettext: bool) -> Result<bool> {
    let mut cmd = Command::new(crate::testrun::cargo());
    cmd.current_dir(root)
        .args(["run", "--quiet", "--package", "xtask-book", "--"]);
    if serve {
        cmd.arg("--serve");
    }
    if check {
        cmd.arg("--check");
    }
    if xgettext {
        cmd.arg("--xgettext");
    }
    Ok(cmd.status()?.success())
}
