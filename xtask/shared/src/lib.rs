//! What the workbook's tools share: xtask, xtask-book, the check kit and
//! the probe each need to read the mount table, tell which cgroup layout a
//! host has, know whether they run as root, or read task markers (and lab
//! 06's checks and `doctor` whether overlay takes `lowerdir+`). Written
//! once here, so a fix (an escaped space in a mount point, a hybrid host, a
//! marker rule) reaches every tool.
//!
//! The probe is a static binary that runs inside containers: this crate
//! uses std and libc only, and nothing that glibc loads at run time.

pub mod cgroups;
pub mod markers;
pub mod mountinfo;
pub mod overlay;
pub mod privileges;
