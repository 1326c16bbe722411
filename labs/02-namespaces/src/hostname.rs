//! UTS: a hostname of its own.
//!
//! The UTS namespace (named after `struct utsname`, what `uname(2)` fills
//! in) holds the hostname and the NIS domain name. In a new one, changing
//! the hostname changes it for the container only.

use nix::errno::Errno;

/// Set the hostname of the current UTS namespace. Runs in the child, before
/// exec: no allocation.
pub fn set(name: &str) -> Result<(), Errno> {
    // TASK 02.2: set the hostname (sethostname(2)) inside the new UTS namespace
    todo!("02.2: set the hostname (sethostname(2)) inside the new UTS namespace")
    // END TASK 02.2
}

/// Check a hostname before anything is created: 1 to 64 letters, digits,
/// `-` and `.`, not starting with `-` (the kernel takes any 64 bytes; DNS
/// and the programs that print hostnames are stricter).
pub fn validate(name: &str) -> Result<(), String> {
    // TASK 02.2: refuse an empty or too long hostname, or one with characters not in [A-Za-z0-9.-]
    todo!("02.2: refuse an empty or too long hostname, or one with characters not in [A-Za-z0-9.-]")
    // END TASK 02.2
}

/// A random hostname like Docker's: 12 hex digits, as a short container id.
pub fn random() -> String {
    let mut bytes = [0u8; 6];
    // /dev/urandom never blocks and is always there on Linux.
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
