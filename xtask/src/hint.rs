//! `cargo xtask hint [NN.K] [--reset]`: the next hint for a task (without
//! NN.K: the first task still `todo!()` of the lab in progress).
//!
//! Each task's section of the book ends with `<details>` blocks in order
//! of strength: a nudge (a question), a stronger hint, and last the
//! reference code. `hint` shows them one at a time, like rustlings' `hint`
//! with levels, so a learner who asks once gets a question, not the
//! answer. Which levels were shown is kept per task in
//! `target/dockyard/hints.json` (build output, beside `progress.json`);
//! `--reset` forgets a task's. The text comes from the book itself
//! (`chapter`), so the hints are never a second copy that drifts; the code
//! level's `{{#include}}` is read from `solutions/` with the anchor it
//! names, as mdBook would.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::chapter;
use crate::labs::{self, Lab};

/// `01.3`, `1.3`, `01.03` → `("01", "01.3")`: the lab's number and the id.
pub fn parse_task(arg: &str) -> Option<(String, String)> {
    let (lab, k) = arg.trim().split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(lab) || !digits(k) {
        return None;
    }
    let lab = format!("{:02}", lab.parse::<u32>().ok()?);
    let k = k.parse::<u32>().ok()?;
    (k > 0).then(|| (lab.clone(), format!("{lab}.{k}")))
}

fn state_path(root: &Path) -> PathBuf {
    crate::target::dir(root).join("dockyard/hints.json")
}

/// How many levels of each task were shown.
fn load(root: &Path) -> BTreeMap<String, usize> {
    let Ok(text) = fs::read_to_string(state_path(root)) else {
        return BTreeMap::new();
    };
    parse_state(&text)
}

fn parse_state(text: &str) -> BTreeMap<String, usize> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return BTreeMap::new();
    };
    map.into_iter()
        .filter_map(|(k, v)| Some((k, v.as_u64()? as usize)))
        .collect()
}

fn save(root: &Path, shown: &BTreeMap<String, usize>) -> Result<()> {
    let path = state_path(root);
    fs::create_dir_all(path.parent().expect("has a parent"))?;
    let value: serde_json::Map<String, Value> = shown
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(*v)))
        .collect();
    fs::write(&path, serde_json::to_string_pretty(&Value::Object(value))?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Which level to show next, 1-based, when `shown` were shown of `levels`:
/// the next one, or the last again once all were shown.
pub fn next_level(shown: usize, levels: usize) -> usize {
    (shown + 1).min(levels)
}

/// The lab and checked task id named by `arg`, or an error that lists
/// what exists.
fn find_task(root: &Path, arg: &str) -> Result<(Lab, String, String)> {
    let Some((num, id)) = parse_task(arg) else {
        bail!(
            "`{}` is not a task: name one as NN.K, the lab's number and the task's \
             (`cargo xtask hint 01.3`); `cargo xtask check` shows the tasks",
            arg.trim()
        );
    };
    let lab = labs::find(root, &num)?;
    let tasks = lab.tasks(root)?;
    let Some(task) = tasks.iter().find(|t| t.id == id) else {
        let list: Vec<String> = tasks
            .iter()
            .map(|t| format!("  {}  {}", t.id, t.text))
            .collect();
        bail!(
            "lab {} has no task {id}. Its tasks are:\n{}",
            lab.num,
            list.join("\n")
        );
    };
    let text = task.text.clone();
    Ok((lab, id, text))
}

/// The task to help with when none is named: the first task, in order,
/// of the lab in progress whose code is still `todo!()`.
fn next_task(root: &Path) -> Result<String> {
    let lab = crate::progress::current_lab(root)?;
    let mut open: Vec<String> = labs::source_regions(&lab.lab_dir(root))?
        .into_iter()
        .flat_map(|(_, regions)| regions)
        .filter(crate::markers::is_untouched)
        .map(|r| r.id)
        .collect();
    open.sort_by_key(|id| labs::task_order(id));
    match open.into_iter().next() {
        Some(id) => {
            println!(
                "(task {id}: the first task of lab {} still todo!())\n",
                lab.num
            );
            Ok(id)
        }
        None => bail!(
            "every task of lab {} holds code: name the task you are stuck on, \
             `cargo xtask hint NN.K` (`cargo xtask check` shows which fail)",
            lab.num
        ),
    }
}

pub fn run(root: &Path, arg: Option<&str>, reset: bool) -> Result<()> {
    let arg = match arg {
        Some(arg) => arg.to_owned(),
        None => next_task(root)?,
    };
    let (lab, id, task_text) = find_task(root, &arg)?;
    let mut shown = load(root);
    if reset {
        shown.remove(&id);
        save(root, &shown)?;
        println!("Hints for task {id} start again at the first: `cargo xtask hint {id}`.");
        return Ok(());
    }
    let text = chapter::read(root, &lab.dir)?;
    let file = format!("book/src/lab{}.md", lab.dir);
    let section = chapter::section(&text, &id)
        .with_context(|| format!("{file} has no section `## {id} — …` for task {id}"))?;
    let levels = chapter::details(&text, section);
    if levels.is_empty() {
        bail!("task {id} has no hints yet: its section in {file} has no <details> blocks");
    }
    let before = shown.get(&id).copied().unwrap_or(0);
    let level = next_level(before, levels.len());
    let block = &levels[level - 1];
    let body = chapter::expand_includes(&text[block.body.clone()], &root.join("book/src"))?;
    let name = if block.summary.is_empty() {
        format!("level {level}")
    } else {
        block.summary.clone()
    };
    println!(
        "Task {id} — {task_text}\n{name} ({level} of {}):\n",
        levels.len()
    );
    println!("{}\n", body.trim());
    if level < levels.len() {
        println!(
            "Still stuck? `cargo xtask hint {id}` again shows the next: {}.",
            levels[level].summary
        );
    } else {
        println!(
            "That was the last level for this task. `cargo xtask hint {id} --reset` starts over; \
             section {id} of book/src/lab{}.md has them all.",
            lab.dir
        );
        if !root.join("solutions").is_dir() {
            println!(
                "(The reference code, the level after the hints, is not part of this student edition.)"
            );
        }
    }
    shown.insert(id, level.max(before));
    // Remembering is a convenience: a read-only target dir is no error.
    if let Err(err) = save(root, &shown) {
        eprintln!("note: could not remember the hints shown: {err:#}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_are_read_leniently_and_checked_strictly() {
        let id = |s: &str| parse_task(s).map(|(_, id)| id);
        assert_eq!(parse_task("01.3"), Some(("01".into(), "01.3".into())));
        assert_eq!(id("1.3").as_deref(), Some("01.3"));
        assert_eq!(id(" 02.07 ").as_deref(), Some("02.7"));
        assert_eq!(id("12.10").as_deref(), Some("12.10"));
        for bad in [
            "01", "1.", ".3", "01.x", "a.b", "01.3.1", "01.0", "-1.2", "",
        ] {
            assert_eq!(id(bad), None, "{bad}");
        }
    }

    #[test]
    fn levels_advance_and_stop_at_the_last() {
        assert_eq!(next_level(0, 3), 1);
        assert_eq!(next_level(1, 3), 2);
        assert_eq!(next_level(2, 3), 3);
        assert_eq!(next_level(3, 3), 3);
        // The chapter lost a level since: show its last.
        assert_eq!(next_level(3, 2), 2);
    }

    #[test]
    fn the_saved_state_survives_junk() {
        assert_eq!(
            parse_state(r#"{"01.1": 2, "01.2": "x"}"#),
            BTreeMap::from([("01.1".to_owned(), 2)])
        );
        assert!(parse_state("not json").is_empty());
    }
}
