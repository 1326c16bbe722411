//! Reading the host: files, programs on PATH, a command's version line.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Debian keeps `ip`, `nft` and `iptables` in /usr/sbin, which is not on a
/// normal user's PATH. sudo's `secure_path` has it, so the labs (run with
/// sudo) find them there: look there too.
const SBIN_DIRS: [&str; 3] = ["/usr/local/sbin", "/usr/sbin", "/sbin"];
/// How long an external command may take before we give up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);

pub fn read(path: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(path).ok()
}

pub fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    read(path).map(|text| text.trim().to_owned())
}

pub fn read_number(path: impl AsRef<Path>) -> Option<u64> {
    read(path)?.trim().parse().ok()
}

/// The first `limit` bytes of a file (fewer if it is shorter).
pub fn read_head(path: &Path, limit: u64) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(limit)
        .read_to_end(&mut head)
        .ok()?;
    Some(head)
}

/// Looks `name` up on PATH, then in the sbin directories.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        // An empty PATH entry means the current directory: not a place to trust.
        .filter(|dir| dir.is_absolute())
        .chain(SBIN_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Runs a command that only reports (`--version`), and returns its trimmed
/// stdout, or `None` if it fails or takes longer than [`COMMAND_TIMEOUT`].
pub fn command_output(program: &Path, args: &[&str]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().ok()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    // A version line fits in the pipe's buffer, so reading after the exit
    // cannot have blocked the child.
    let mut stdout = String::new();
    child.stdout.take()?.read_to_string(&mut stdout).ok()?;
    status.success().then(|| stdout.trim().to_owned())
}

/// The first two numbers: `6.18.44-fc-v657` → (6, 18), `1.85.0` → (1, 85).
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut numbers = version.split(|c: char| !c.is_ascii_digit());
    let major = numbers.next()?.parse().ok()?;
    let minor = numbers.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(major_minor("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(
            major_minor("5.15.153.1-microsoft-standard-WSL2"),
            Some((5, 15))
        );
        assert_eq!(major_minor("1.90.0-nightly"), Some((1, 90)));
        assert_eq!(major_minor("1.88"), Some((1, 88)));
        assert_eq!(major_minor("linux"), None);
    }
}
