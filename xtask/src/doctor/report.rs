//! The report: one line per item, the fixes under it, and a summary.

use std::io::Write;

use anyhow::Result;

use super::needs::{Needed, Needs};
use super::sys::read;

/// How an item stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Missing, but no lab depends on it (or only on some runs of it).
    Optional,
    /// Missing; `Needed` says since which lab it matters.
    Missing(Needed),
}

impl Status {
    /// Missing, and a lab that exists needs it.
    pub fn blocks(&self) -> bool {
        matches!(self, Status::Missing(Needed::From { .. }))
    }

    /// The lab from which a missing item matters.
    fn lab(&self) -> Option<&str> {
        match self {
            Status::Missing(Needed::From { num, .. }) => Some(num),
            _ => None,
        }
    }
}

/// One line of the report, plus the lines that say how to fix it.
#[derive(Debug)]
pub struct Item {
    pub name: &'static str,
    pub status: Status,
    pub found: String,
    pub hints: Vec<String>,
}

impl Item {
    pub fn ok(name: &'static str, found: impl Into<String>) -> Item {
        Item::new(name, Status::Ok, found, Vec::new())
    }

    pub fn optional(name: &'static str, found: impl Into<String>, hints: Vec<String>) -> Item {
        Item::new(name, Status::Optional, found, hints)
    }

    pub fn missing(
        name: &'static str,
        needed: Needed,
        found: impl Into<String>,
        hints: Vec<String>,
    ) -> Item {
        Item::new(name, Status::Missing(needed), found, hints)
    }

    pub fn new(
        name: &'static str,
        status: Status,
        found: impl Into<String>,
        hints: Vec<String>,
    ) -> Item {
        Item {
            name,
            status,
            found: found.into(),
            hints,
        }
    }
}

/// The two install lines, Debian/Ubuntu first.
pub fn install(debian: &str, fedora: &str) -> Vec<String> {
    vec![
        format!("Debian/Ubuntu: {debian}"),
        format!("Fedora:        {fedora}"),
    ]
}

/// A fix that is the same on every distribution.
pub fn fix(command: &str) -> String {
    format!("fix: {command}")
}

pub fn print(out: &mut impl Write, items: &[Item], needs: &Needs, bold: bool) -> Result<()> {
    let title = match read("/etc/os-release").as_deref().and_then(pretty_name) {
        Some(os) => format!("Dockyard doctor: {os}"),
        None => "Dockyard doctor".to_owned(),
    };
    if bold {
        writeln!(out, "\x1b[1m{title}\x1b[0m\n")?;
    } else {
        writeln!(out, "{title}\n")?;
    }
    let width = items.iter().map(|item| item.name.len()).max().unwrap_or(0);
    for item in items {
        let mark = match item.status {
            Status::Ok => '✓',
            Status::Optional => '!',
            Status::Missing(_) => '✗',
        };
        let needed = match &item.status {
            Status::Missing(Needed::From { num, package }) => {
                format!(" (needed from lab {num} {package})")
            }
            Status::Missing(Needed::NotYet { purpose }) => {
                format!(" (not needed by any lab yet; a later lab will use it for {purpose})")
            }
            _ => String::new(),
        };
        writeln!(out, "{mark} {:width$}  {}{needed}", item.name, item.found)?;
        for hint in &item.hints {
            // Under the "found" column: mark, space, name, two spaces.
            writeln!(out, "{:indent$}{hint}", "", indent = width + 4)?;
        }
    }
    writeln!(out, "\n{}", summary(items, needs))?;
    Ok(())
}

/// The last line: start now, or what to fix first.
pub fn summary(items: &[Item], needs: &Needs) -> String {
    let labs: Vec<&str> = items.iter().filter_map(|item| item.status.lab()).collect();
    let later = items
        .iter()
        .filter(|item| matches!(item.status, Status::Missing(Needed::NotYet { .. })))
        .count();
    let later = match later {
        0 => String::new(),
        1 => " One ✗ item matters only for a later lab.".to_owned(),
        n => format!(" {n} ✗ items matter only for later labs."),
    };
    let Some(&first) = labs.iter().min() else {
        let optional = items.iter().any(|item| item.status == Status::Optional);
        let note = if optional {
            " (the ! items are optional)"
        } else {
            ""
        };
        return format!("All set{note}: start with `cargo xtask check 01`.{later}");
    };
    let things = match labs.len() {
        1 => "1 thing to fix".to_owned(),
        n => format!("{n} things to fix"),
    };
    let when = if labs.iter().all(|&lab| lab == first) {
        format!(" before lab {first}")
    } else {
        format!(", the first before lab {first}")
    };
    let works = match needs.before(first) {
        Some((start, end)) if start == end => format!("; lab {start} works as is"),
        Some((start, end)) => format!("; labs {start}–{end} work as is"),
        None => String::new(),
    };
    format!("{things}{when}{works}.{later}")
}

/// `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"` → the quoted name.
fn pretty_name(os_release: &str) -> Option<&str> {
    let line = os_release
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))?;
    Some(line.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::super::needs::tests::today;
    use super::*;

    fn from(num: &str) -> Status {
        Status::Missing(Needed::From {
            num: num.into(),
            package: String::new(),
        })
    }

    fn with(statuses: &[Status]) -> Vec<Item> {
        let item = |status: &Status| Item::new("x", status.clone(), "", Vec::new());
        statuses.iter().map(item).collect()
    }

    #[test]
    fn summaries() {
        let needs = today();
        let summary = |statuses: &[Status]| summary(&with(statuses), &needs);
        let all_set = "All set: start with `cargo xtask check 01`.";
        assert_eq!(summary(&[Status::Ok]), all_set);
        assert!(summary(&[Status::Ok, Status::Optional]).starts_with("All set (the !"));
        assert_eq!(
            summary(&[from("02"), from("02")]),
            "2 things to fix before lab 02; lab 01 works as is."
        );
        assert_eq!(
            summary(&[from("03"), from("02")]),
            "2 things to fix, the first before lab 02; lab 01 works as is."
        );
        assert_eq!(
            summary(&[from("03")]),
            "1 thing to fix before lab 03; labs 01–02 work as is."
        );
        assert_eq!(summary(&[from("01")]), "1 thing to fix before lab 01.");
        let later = Status::Missing(Needed::NotYet {
            purpose: "image layers",
        });
        assert_eq!(
            summary(&[Status::Ok, later.clone()]),
            "All set: start with `cargo xtask check 01`. One ✗ item matters only for a later lab."
        );
        assert!(!later.blocks());
        assert!(from("02").blocks());
    }

    #[test]
    fn missing_items_say_since_when() {
        let needs = today();
        let items = [
            Item::missing(
                "overlayfs",
                needs.first("overlay", "image layers"),
                "no",
                vec![],
            ),
            Item::missing("privileges", needs.first("root", "x"), "no sudo", vec![]),
        ];
        let mut out = Vec::new();
        print(&mut out, &items, &needs, false).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains(
            "✗ overlayfs   no (not needed by any lab yet; a later lab will use it for image layers)"
        ));
        assert!(out.contains("✗ privileges  no sudo (needed from lab 02 namespaces)"));
        assert!(out.contains("1 thing to fix before lab 02; lab 01 works as is."));
    }

    #[test]
    fn os_names() {
        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(pretty_name(os), Some("Debian GNU/Linux 12 (bookworm)"));
    }
}
