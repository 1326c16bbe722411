//! Walking the repository's files, with std only.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::checks;

/// `path` relative to `root`, with `/` separators, for messages.
pub fn relative(root: &Path, path: &Path) -> String {
    let Ok(path) = path.strip_prefix(root) else {
        return path.display().to_string();
    };
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every file under `dir` (recursively, sorted), skipping hidden entries
/// and `target/` directories.
pub fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("read directory {}", dir.display()))?
        {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The `.md` files under `src`, relative to it (`a/b.md`), sorted.
pub fn markdown_files(src: &Path) -> Result<Vec<String>> {
    Ok(walk(src)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| relative(src, &p))
        .collect())
}

/// The `.rs` files under `dir`, or none if it does not exist.
pub fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(walk(dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect())
}

/// The lab crates in `solutions/` (directories named `NN-name`), each with
/// the name of its chapter (`labNN-name.md`).
pub fn lab_dirs(solutions: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut labs = Vec::new();
    for entry in std::fs::read_dir(solutions)
        .with_context(|| format!("read directory {}", solutions.display()))?
    {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if let Some(chapter) = checks::lab_chapter(&entry.file_name().to_string_lossy()) {
            labs.push((entry.path(), chapter));
        }
    }
    labs.sort();
    Ok(labs)
}

/// The newest modification time of any file under the given directories
/// (missing directories count as nothing): what `--serve` compares to
/// know that the book needs a rebuild.
pub fn newest_mtime(dirs: &[PathBuf]) -> Option<SystemTime> {
    dirs.iter()
        .filter(|d| d.is_dir())
        .flat_map(|d| walk(d).unwrap_or_default())
        // A directory's own mtime changes when a file is added or removed.
        .chain(dirs.iter().cloned())
        .filter_map(|p| p.metadata().and_then(|m| m.modified()).ok())
        .max()
}

/// `%20` → ` ` (URLs in links and HTTP requests). Invalid escapes are kept.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("two%20words.md"), "two words.md");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a%zzb%4"), "a%zzb%4");
        assert_eq!(percent_decode("%41"), "A");
    }

    #[test]
    fn relative_paths_use_slashes() {
        assert_eq!(
            relative(Path::new("/r"), Path::new("/r/book/src/a.md")),
            "book/src/a.md"
        );
        assert_eq!(
            relative(Path::new("/r"), Path::new("/elsewhere/x")),
            "/elsewhere/x"
        );
    }
}
