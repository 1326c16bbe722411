//! Which lab first needs each host feature, read from the labs themselves.
//!
//! A lab declares what its checks need under `[package.metadata.dockyard]`
//! in its Cargo.toml: `needs-root = true` (its checks run with sudo) and
//! `needs = [...]`, a list of [`FEATURES`]. The doctor says "needed from
//! lab NN" only where a lab says so; a feature no lab declares yet is "not
//! needed by any lab yet" — never a lab number written down here, which
//! would drift as labs are added.

use crate::labs::{self, Lab};

/// The words a lab may put in `needs = [...]`.
pub const FEATURES: [&str; 4] = ["overlay", "cgroups", "iproute2", "nftables"];

/// The feature `needs-root = true` stands for.
pub const ROOT: &str = "root";

/// Since when a missing piece matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needed {
    /// From lab `num` (`02`) on; `package` is its name.
    From { num: String, package: String },
    /// No lab declares it yet; `purpose` says what a later lab will do
    /// with it ("image layers").
    NotYet { purpose: &'static str },
}

/// The labs, as far as the doctor cares.
#[derive(Debug, Default)]
pub struct Needs {
    labs: Vec<Lab>,
}

impl Needs {
    /// The labs of this repository (none if cargo cannot list them: the
    /// doctor still reports on the host).
    pub fn load() -> Needs {
        Needs {
            labs: labs::all(&labs::root()).unwrap_or_default(),
        }
    }

    #[cfg(test)]
    pub fn of(labs: Vec<Lab>) -> Needs {
        Needs { labs }
    }

    /// Needed by every lab: the first one (Linux itself, a Rust toolchain).
    pub fn always(&self) -> Needed {
        match self.labs.first() {
            Some(lab) => from(lab),
            None => Needed::From {
                num: "01".into(),
                package: String::new(),
            },
        }
    }

    /// The first lab that declares `feature` ([`ROOT`] or one of
    /// [`FEATURES`]).
    pub fn first(&self, feature: &str, purpose: &'static str) -> Needed {
        debug_assert!(feature == ROOT || FEATURES.contains(&feature));
        let declares = |lab: &&Lab| {
            if feature == ROOT {
                lab.root
            } else {
                lab.needs.iter().any(|n| n == feature)
            }
        };
        match self.labs.iter().find(declares) {
            Some(lab) => from(lab),
            None => Needed::NotYet { purpose },
        }
    }

    /// The lab whose package is `package` (`rootfs`), if there is one.
    pub fn named(&self, package: &str) -> Option<&Lab> {
        self.labs.iter().find(|lab| lab.package == package)
    }

    /// The number of the lab just before lab `num`, and of the first lab:
    /// "labs 01–03 work as is".
    pub fn before(&self, num: &str) -> Option<(&str, &str)> {
        let i = self.labs.iter().position(|lab| lab.num == num)?;
        let previous = self.labs.get(i.checked_sub(1)?)?;
        Some((self.labs[0].num.as_str(), previous.num.as_str()))
    }
}

fn from(lab: &Lab) -> Needed {
    Needed::From {
        num: lab.num.clone(),
        package: lab.package.clone(),
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn lab(num: &str, package: &str, root: bool, needs: &[&str]) -> Lab {
        Lab {
            num: num.into(),
            dir: format!("{num}-{package}"),
            package: package.into(),
            root,
            needs: needs.iter().map(|s| s.to_string()).collect(),
            vm: false,
        }
    }

    /// Labs 01–03 as they are: only `needs-root` on 02 and 03.
    pub fn today() -> Needs {
        Needs::of(vec![
            lab("01", "process", false, &[]),
            lab("02", "namespaces", true, &[]),
            lab("03", "rootfs", true, &[]),
        ])
    }

    #[test]
    fn only_declared_needs_have_a_lab() {
        let needs = today();
        let from = |num: &str, package: &str| Needed::From {
            num: num.into(),
            package: package.into(),
        };
        assert_eq!(needs.first(ROOT, "x"), from("02", "namespaces"));
        assert_eq!(
            needs.first("overlay", "image layers"),
            Needed::NotYet {
                purpose: "image layers"
            }
        );
        assert_eq!(needs.always(), from("01", "process"));
        let later = Needs::of(vec![
            lab("01", "process", false, &[]),
            lab("06", "layers", true, &["overlay"]),
        ]);
        assert_eq!(later.first("overlay", "x"), from("06", "layers"));
        assert_eq!(needs.before("03"), Some(("01", "02")));
        assert_eq!(needs.before("01"), None);
        assert_eq!(needs.named("rootfs").map(|l| l.num.as_str()), Some("03"));
    }
}
