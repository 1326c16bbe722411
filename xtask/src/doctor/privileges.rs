//! Privileges: the labs that say `needs-root` run their checks as root,
//! through sudo when `check` is not run as root.

use super::needs::{Needs, ROOT};
use super::report::{Item, install};
use super::sys::find_program;

pub fn privileges(needs: &Needs) -> Item {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 {
        return match std::env::var("SUDO_USER") {
            Ok(user) => Item::ok("privileges", format!("root (through sudo, for {user})")),
            Err(_) => Item::ok("privileges", "root"),
        };
    }
    let user = std::env::var("USER").unwrap_or_else(|_| format!("uid {euid}"));
    let needed = needs.first(ROOT, "checks that create namespaces");
    if let Some(sudo) = find_program("sudo") {
        let who = match &needed {
            super::needs::Needed::From { num, .. } => format!("labs {num}+ run their checks"),
            super::needs::Needed::NotYet { .. } => "checks that need root will run".to_owned(),
        };
        let found = format!("{user}, with {}: {who} through it", sudo.display());
        return Item::ok("privileges", found);
    }
    // Debian installed with a root password has no sudo: su can add it.
    let mut hints = install(
        &format!("su -c 'apt-get install sudo && usermod -aG sudo {user}'"),
        &format!("su -c 'dnf install sudo && usermod -aG wheel {user}'"),
    );
    hints.push("then log out and back in".to_owned());
    let found = format!("{user}, and no sudo to run the checks as root");
    Item::missing("privileges", needed, found, hints)
}
