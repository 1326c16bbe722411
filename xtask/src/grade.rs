//! `cargo xtask grade NN`: a lab's score, on its own, for graders.
//!
//! ```text
//! cargo xtask grade NN [--json | --junit]                      this checkout's labs/NN
//! cargo xtask grade NN --submission DIR [--json | --junit]     one student's work
//! cargo xtask grade NN --class DIR [--out DIR] [--junit]       DIR/<student>/ each
//! ```
//!
//! Lab NN is built beside the *reference* code of the earlier labs (see
//! `assemble`), so a broken lab 01 does not cost points in lab 02. Only
//! the submission's `src/` is taken: its `Cargo.toml`, tests and snapshots
//! are the reference's, so the checks that judge it are the instructor's,
//! not ones a student edited. A submission is a student-edition checkout
//! (`DIR/labs/NN-name/src`), a lab directory (`DIR/NN-name/src`) or the
//! lab's crate itself (`DIR/src`).
//!
//! A submission is untrusted code, and from lab 02 on its checks run as
//! root: grading one on the instructor's own machine hands it that machine.
//! So `grade` refuses to run a submission as root unless told that it runs
//! in a throwaway VM (`--i-am-in-a-throwaway-vm`, or
//! `DOCKYARD_THROWAWAY_VM=1`), and each submission has a deadline for its
//! build and its checks together (`--deadline`, 600 s by default).
//!
//! Outputs: a table (default); `--json`, one object
//! `{"lab", "student", "compiles", "passed", "total", "tasks": [{"id",
//! "passed", "total"}], "checks": [{"name", "passed"}], "failures",
//! "error"}`; `--junit`, JUnit XML (one `<testsuite>` per task, one
//! `<testcase>` per check) as CI test reporters read it. A class gives one
//! table, `lab-NN.csv` and `lab-NN.json` (student, points per task, total,
//! failures), and with `--junit` one XML file per student.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::check::{self, Row, rows};
use crate::labs::{self, Lab, Task};
use crate::testrun::{self, Build, CheckResult};
use crate::{assemble, export};

/// The environment variable that says, like the flag, "this is a
/// throwaway VM".
pub const THROWAWAY_ENV: &str = "DOCKYARD_THROWAWAY_VM";

/// What `grade` was asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub json: bool,
    pub junit: bool,
    pub submission: Option<PathBuf>,
    pub class: Option<PathBuf>,
    /// Where a class's tables go (default: `target/dockyard/grades/`).
    pub out: Option<PathBuf>,
    pub throwaway_vm: bool,
    /// Build and checks of one submission, together.
    pub deadline: Duration,
}

/// One submission's result.
#[derive(Debug, Clone)]
pub struct Graded {
    pub student: String,
    pub compiles: bool,
    /// Why nothing ran: the first compiler error, a missed deadline, …
    pub error: Option<String>,
    /// Every check: when nothing ran, each reference check, failed.
    pub checks: Vec<CheckResult>,
    /// The submission had used `skip`: its task regions hold the reference.
    pub skipped: bool,
}

impl Graded {
    pub fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed).count()
    }

    pub fn failures(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect()
    }
}

pub fn run(root: &Path, num: &str, opts: &Options) -> Result<bool> {
    export::require_reference(root, "grade")?;
    let lab = labs::find(root, num)?;
    if opts.submission.is_some() || opts.class.is_some() {
        refuse_root_outside_a_vm(root, &lab, opts)?;
    }
    let tasks = lab.tasks(root)?;
    let probe = crate::probe::build(root)?;
    // The reference first: its Cargo.toml and tests stay, `src/` changes
    // per submission, so cargo rebuilds only lab NN between students.
    let ws = assemble::workspace(root, &lab, "grade", &lab.solution_dir(root))?;
    let grader = Grader {
        root,
        lab: &lab,
        ws: &ws,
        probe: &probe,
        names: crate::verify::check_names(&lab.solution_dir(root))?,
        deadline: opts.deadline,
    };
    if let Some(class) = &opts.class {
        return grade_class(&grader, &tasks, class, opts);
    }
    let (student, src) = match &opts.submission {
        Some(dir) => (student_name(dir), submission_crate(dir, &lab)?.join("src")),
        None => ("(this checkout)".to_owned(), lab.lab_dir(root).join("src")),
    };
    let skipped = src.parent().is_some_and(|c| c.join(".skipped").is_dir());
    let graded = grader.grade(&student, &src, skipped)?;
    let rows = rows(&tasks, &graded.checks);
    if opts.junit {
        print!("{}", junit(&lab, &tasks, &graded));
    } else if opts.json {
        println!("{}", to_json(&lab, &rows, &graded));
    } else {
        println!(
            "Lab {} — {}, {student}, graded beside the reference of the earlier labs\n",
            lab.num, lab.package
        );
        if let Some(err) = &graded.error {
            println!("Nothing ran:\n{err}\n");
        }
        check::print_table(&rows, &graded.checks);
        if graded.skipped {
            println!("Note: the submission had used `skip`: its task regions hold reference code.");
        }
    }
    Ok(graded.passed() == graded.checks.len() && !graded.checks.is_empty())
}

/// Grading untrusted code as root is what a throwaway VM is for.
fn refuse_root_outside_a_vm(root: &Path, lab: &Lab, opts: &Options) -> Result<()> {
    let told =
        opts.throwaway_vm || std::env::var(THROWAWAY_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
    let as_root = check::is_root();
    let via_sudo = lab.needs_root(root) && !as_root;
    if told || !(as_root || via_sudo) {
        return Ok(());
    }
    let how = if as_root {
        "you are root".to_owned()
    } else {
        format!("lab {}'s checks run under sudo", lab.num)
    };
    bail!(
        "refusing to grade: a submission is untrusted code, and here it would run as root ({how}) \
         on this machine — it could read, change or break anything on it.\n\
         Grade in a throwaway VM instead: a VM you delete afterwards (a local qemu/libvirt, \
         Multipass or Vagrant VM, a cloud instance, or a CI runner, which is one), with this \
         checkout and the submissions copied in. Lab 04 brings a VM tier for the checks that \
         need a pure cgroup-v2 kernel; it is the intended place to grade too. \
         Inside the VM, run grade with --i-am-in-a-throwaway-vm (or {THROWAWAY_ENV}=1).\n\
         See the book's instructor guide, \"Grading untrusted code\"."
    )
}

/// What grading one submission needs.
struct Grader<'a> {
    root: &'a Path,
    lab: &'a Lab,
    ws: &'a Path,
    probe: &'a Path,
    /// The reference's check names: a submission that does not build
    /// fails each one.
    names: Vec<String>,
    deadline: Duration,
}

impl Grader<'_> {
    fn grade(&self, student: &str, src: &Path, skipped: bool) -> Result<Graded> {
        let dir = assemble::lab_dir(self.ws, self.lab, "grade");
        put_tree(src, &dir.join("src"))
            .with_context(|| format!("copying {} into the grading workspace", src.display()))?;
        let started = Instant::now();
        let nothing_ran = |error: String, compiles: bool| Graded {
            student: student.to_owned(),
            compiles,
            checks: self
                .names
                .iter()
                .map(|name| CheckResult {
                    name: name.clone(),
                    passed: false,
                    output: error.clone(),
                })
                .collect(),
            error: Some(error),
            skipped,
        };
        let exes = match testrun::build_within(self.ws, &self.lab.package, Some(self.deadline)) {
            Ok(Build::Ok(exes)) => exes,
            Ok(Build::Failed(err)) => {
                return Ok(nothing_ran(
                    format!("does not compile: {}", err.rendered),
                    false,
                ));
            }
            Err(err) => return Ok(nothing_ran(format!("{err:#}"), false)),
        };
        let left = self.deadline.saturating_sub(started.elapsed());
        if left < Duration::from_secs(1) {
            return Ok(nothing_ran(
                format!("the deadline of {:?} passed while building", self.deadline),
                true,
            ));
        }
        let mut opts = check::options(self.root, self.lab, self.probe);
        opts.cwd = dir;
        opts.limit = left;
        let checks = match testrun::run(&exes, &opts) {
            Ok(checks) if !checks.is_empty() => checks,
            Ok(_) => return Ok(nothing_ran("no checks ran".into(), true)),
            Err(err) => return Ok(nothing_ran(format!("{err:#}"), true)),
        };
        Ok(Graded {
            student: student.to_owned(),
            compiles: true,
            error: None,
            checks,
            skipped,
        })
    }
}

fn grade_class(grader: &Grader, tasks: &[Task], class: &Path, opts: &Options) -> Result<bool> {
    let lab = grader.lab;
    let mut students: Vec<PathBuf> = fs::read_dir(class)
        .with_context(|| format!("reading {}", class.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    students.sort();
    if students.is_empty() {
        bail!(
            "{} holds no submissions: one subdirectory per student is expected",
            class.display()
        );
    }
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| crate::target::dir(grader.root).join("dockyard/grades"));
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut all = Vec::new();
    for dir in &students {
        let student = student_name(dir);
        let started = Instant::now();
        let graded = match submission_crate(dir, lab).and_then(|krate| {
            let skipped = krate.join(".skipped").is_dir();
            grader.grade(&student, &krate.join("src"), skipped)
        }) {
            Ok(graded) => graded,
            // One student's problem never stops the class.
            Err(err) => Graded {
                student: student.clone(),
                compiles: false,
                error: Some(format!("{err:#}")),
                checks: grader
                    .names
                    .iter()
                    .map(|name| CheckResult {
                        name: name.clone(),
                        passed: false,
                        output: format!("{err:#}"),
                    })
                    .collect(),
                skipped: false,
            },
        };
        eprintln!(
            "  {student}: {}/{} checks ({:.0?}){}",
            graded.passed(),
            graded.checks.len(),
            started.elapsed(),
            graded
                .error
                .as_deref()
                .map(|e| format!(" — {}", e.lines().next().unwrap_or_default()))
                .unwrap_or_default()
        );
        if opts.junit {
            let file = out.join(format!("lab-{}-{}.xml", lab.num, safe_name(&student)));
            fs::write(&file, junit(lab, tasks, &graded))
                .with_context(|| format!("writing {}", file.display()))?;
        }
        all.push(graded);
    }
    let csv_text = csv(tasks, &all);
    let csv_file = out.join(format!("lab-{}.csv", lab.num));
    let json_file = out.join(format!("lab-{}.json", lab.num));
    fs::write(&csv_file, &csv_text).with_context(|| format!("writing {}", csv_file.display()))?;
    fs::write(
        &json_file,
        serde_json::to_string_pretty(&class_json(lab, tasks, &all))?,
    )
    .with_context(|| format!("writing {}", json_file.display()))?;
    print!("{csv_text}");
    eprintln!(
        "\nLab {}: {} submissions graded; {} and {}{}",
        lab.num,
        all.len(),
        csv_file.display(),
        json_file.display(),
        if opts.junit {
            format!(", and lab-{}-<student>.xml beside them", lab.num)
        } else {
            String::new()
        }
    );
    Ok(true)
}

/// The student a submission directory stands for: its name.
fn student_name(dir: &Path) -> String {
    let real = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    real.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// A name safe as part of a file name.
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The lab's crate in a submission: `DIR/labs/NN-name`, `DIR/NN-name` or
/// `DIR` itself.
pub fn submission_crate(dir: &Path, lab: &Lab) -> Result<PathBuf> {
    let candidates = [
        dir.join("labs").join(&lab.dir),
        dir.join(&lab.dir),
        dir.to_path_buf(),
    ];
    if let Some(found) = candidates.iter().find(|c| c.join("src").is_dir()) {
        return Ok(found.clone());
    }
    bail!(
        "no lab {} in {}: expected {d}/labs/{l}/src (a student-edition checkout), {d}/{l}/src \
         or {d}/src (the lab's crate)",
        lab.num,
        dir.display(),
        d = dir.display(),
        l = lab.dir
    )
}

/// Make `to` hold exactly the files of `from`, writing only those that
/// differ (so cargo's fingerprints see only real changes).
fn put_tree(from: &Path, to: &Path) -> Result<()> {
    let want = labs::files(from)?;
    let rels: Vec<PathBuf> = want
        .iter()
        .map(|f| f.strip_prefix(from).map(Path::to_path_buf))
        .collect::<Result<_, _>>()?;
    for old in labs::files(to)? {
        if !rels.iter().any(|r| to.join(r) == old) {
            fs::remove_file(&old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    for (file, rel) in want.iter().zip(&rels) {
        let bytes = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let dest = to.join(rel);
        if fs::read(&dest).ok().as_deref() != Some(bytes.as_slice()) {
            fs::create_dir_all(dest.parent().expect("has a parent"))?;
            fs::write(&dest, bytes).with_context(|| format!("writing {}", dest.display()))?;
        }
    }
    Ok(())
}

fn to_json(lab: &Lab, rows: &[Row], graded: &Graded) -> Value {
    let tasks: Vec<_> = rows
        .iter()
        .map(|r| json!({"id": r.task.id, "passed": r.passed, "total": r.total}))
        .collect();
    let checks: Vec<_> = graded
        .checks
        .iter()
        .map(|r| json!({"name": r.name, "passed": r.passed}))
        .collect();
    json!({
        "lab": lab.num,
        "student": graded.student,
        "compiles": graded.compiles,
        "passed": graded.passed(),
        "total": graded.checks.len(),
        "tasks": tasks,
        "checks": checks,
        "failures": graded.failures(),
        "error": graded.error,
        "skipped": graded.skipped,
    })
}

/// A class as JSON: the tasks with their maximum, then one entry per
/// student with the points (passing checks) of each task.
fn class_json(lab: &Lab, tasks: &[Task], all: &[Graded]) -> Value {
    let students: Vec<Value> = all
        .iter()
        .map(|g| {
            let points: serde_json::Map<String, Value> = rows(tasks, &g.checks)
                .iter()
                .map(|r| (r.task.id.clone(), Value::from(r.passed)))
                .collect();
            json!({
                "student": g.student,
                "compiles": g.compiles,
                "points": points,
                "total": g.passed(),
                "max": g.checks.len(),
                "failures": g.failures(),
                "error": g.error,
                "skipped": g.skipped,
            })
        })
        .collect();
    let maxima: Vec<Value> = all
        .first()
        .map(|g| {
            rows(tasks, &g.checks)
                .iter()
                .map(|r| json!({"id": r.task.id, "text": r.task.text, "max": r.total}))
                .collect()
        })
        .unwrap_or_default();
    json!({"lab": lab.num, "package": lab.package, "tasks": maxima, "students": students})
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line
/// break, with quotes doubled.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The class table: `student,compiles,<task ids…>,total,max,failures`;
/// a task's points are its passing checks, failures are check names
/// separated by `;` (or why nothing ran).
pub fn csv(tasks: &[Task], all: &[Graded]) -> String {
    let mut out = String::from("student,compiles");
    for t in tasks {
        out.push(',');
        out.push_str(&csv_field(&t.id));
    }
    out.push_str(",total,max,failures\n");
    for g in all {
        let mut fields = vec![csv_field(&g.student), g.compiles.to_string()];
        fields.extend(rows(tasks, &g.checks).iter().map(|r| r.passed.to_string()));
        fields.push(g.passed().to_string());
        fields.push(g.checks.len().to_string());
        let failures = match &g.error {
            Some(err) => err.lines().next().unwrap_or_default().to_owned(),
            None => g.failures().join(";"),
        };
        fields.push(csv_field(&failures));
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Text made safe for XML 1.0: markup escaped, and the characters XML
/// cannot hold at all (control characters but tab and line breaks, such as
/// the ESC of colour codes) dropped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `<testsuite>` per task (checks that name no task go in
/// one of their own), one `<testcase>` per check, a `<failure>` with the
/// check's first line as its message and its output as its text.
pub fn junit(lab: &Lab, tasks: &[Task], graded: &Graded) -> String {
    let failed = graded.checks.len() - graded.passed();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failed}\">",
        xml(&format!(
            "dockyard lab {} ({}) — {}",
            lab.num, lab.package, graded.student
        )),
        graded.checks.len()
    );
    let mut groups: Vec<(String, Vec<&CheckResult>)> = tasks
        .iter()
        .map(|t| {
            let mine = graded
                .checks
                .iter()
                .filter(|c| testrun::task_of(&c.name).as_deref() == Some(&t.id))
                .collect();
            (format!("{} — {}", t.id, t.text), mine)
        })
        .collect();
    let other: Vec<&CheckResult> = graded
        .checks
        .iter()
        .filter(|c| {
            !tasks
                .iter()
                .any(|t| testrun::task_of(&c.name).as_deref() == Some(&t.id))
        })
        .collect();
    if !other.is_empty() {
        groups.push(("checks of no task".to_owned(), other));
    }
    for (name, checks) in groups {
        let failures = checks.iter().filter(|c| !c.passed).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
            xml(&name),
            checks.len()
        );
        for c in checks {
            let class = format!(
                "lab{}.task{}",
                lab.num,
                testrun::task_of(&c.name)
                    .unwrap_or_default()
                    .replace('.', "_")
            );
            if c.passed {
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{}\"/>",
                    xml(&class),
                    xml(&c.name)
                );
            } else {
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    xml(&class),
                    xml(&c.name),
                    xml(&testrun::headline(&c.output)),
                    xml(&c.output)
                );
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Lab {
        Lab {
            num: "01".into(),
            dir: "01-process".into(),
            package: "process".into(),
            root: false,
            needs: Vec::new(),
            vm: false,
        }
    }

    fn tasks() -> Vec<Task> {
        ["01.1", "01.2"]
            .iter()
            .map(|id| Task {
                id: (*id).into(),
                text: format!("task {id}"),
            })
            .collect()
    }

    fn check(name: &str, passed: bool, output: &str) -> CheckResult {
        CheckResult {
            name: name.into(),
            passed,
            output: output.into(),
        }
    }

    fn graded(student: &str, checks: Vec<CheckResult>) -> Graded {
        Graded {
            student: student.into(),
            compiles: true,
            error: None,
            checks,
            skipped: false,
        }
    }

    #[test]
    fn the_class_table_is_csv_with_points_per_task() {
        let alice = graded(
            "alice",
            vec![
                check("t01_1_a", true, ""),
                check("t01_1_b", true, ""),
                check("t01_2_c", true, ""),
            ],
        );
        let bob = graded(
            "bob, \"the builder\"",
            vec![
                check("t01_1_a", true, ""),
                check("t01_1_b", false, "x"),
                check("t01_2_c", false, "y"),
            ],
        );
        let mut carol = graded("carol", vec![check("t01_1_a", false, "e")]);
        carol.compiles = false;
        carol.error =
            Some("does not compile: error[E0308]: mismatched types\n --> src/a.rs".into());
        assert_eq!(
            csv(&tasks(), &[alice, bob, carol]),
            "student,compiles,01.1,01.2,total,max,failures\n\
             alice,true,2,1,3,3,\n\
             \"bob, \"\"the builder\"\"\",true,1,0,1,3,t01_1_b;t01_2_c\n\
             carol,false,0,0,0,1,does not compile: error[E0308]: mismatched types\n"
        );
    }

    #[test]
    fn junit_groups_checks_by_task_and_escapes_output() {
        let g = graded(
            "bob",
            vec![
                check("t01_1_a", true, ""),
                check(
                    "t01_2_b",
                    false,
                    "thread 't01_2_b' panicked at tests/checks.rs:1:1:\nleft < right & \"q\"\n\u{1b}[31mred\u{1b}[0m",
                ),
                check("helper", false, "x"),
            ],
        );
        let out = junit(&lab(), &tasks(), &g);
        assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"dockyard lab 01 (process) — bob\" tests=\"3\" failures=\"2\">\n"));
        assert!(out.contains(
            "  <testsuite name=\"01.1 — task 01.1\" tests=\"1\" failures=\"0\" errors=\"0\">\n    <testcase classname=\"lab01.task01_1\" name=\"t01_1_a\"/>\n  </testsuite>\n"
        ));
        assert!(out.contains("<testsuite name=\"01.2 — task 01.2\" tests=\"1\" failures=\"1\""));
        assert!(out.contains("<failure message=\"left &lt; right &amp; &quot;q&quot;\">"));
        assert!(out.contains("[31mred[0m</failure>"), "{out}");
        assert!(!out.contains('\u{1b}'));
        assert!(out.contains("<testsuite name=\"checks of no task\" tests=\"1\" failures=\"1\""));
        assert!(out.ends_with("</testsuites>\n"));
        // Well-formed enough: every opened element is closed.
        assert_eq!(
            out.matches("<testsuite ").count(),
            out.matches("</testsuite>").count()
        );
        assert_eq!(
            out.matches("<testcase ").count(),
            out.matches("</testcase>").count() + out.matches("\"/>").count()
        );
    }

    #[test]
    fn a_submission_is_found_in_three_shapes() {
        let tmp = std::env::temp_dir().join(format!("xtask-grade-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        let shapes = [
            tmp.join("a/labs/01-process"),
            tmp.join("b/01-process"),
            tmp.join("c"),
        ];
        for s in &shapes {
            fs::create_dir_all(s.join("src")).unwrap();
        }
        fs::create_dir_all(tmp.join("d/labs")).unwrap();
        for (dir, want) in ["a", "b", "c"].iter().zip(&shapes) {
            assert_eq!(&submission_crate(&tmp.join(dir), &lab()).unwrap(), want);
        }
        let err = submission_crate(&tmp.join("d"), &lab())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no lab 01 in"), "{err}");
        fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn put_tree_mirrors_a_directory() {
        let tmp = std::env::temp_dir().join(format!("xtask-put-tree-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(tmp.join("from/sub")).unwrap();
        fs::create_dir_all(tmp.join("to")).unwrap();
        fs::write(tmp.join("from/a.rs"), "a").unwrap();
        fs::write(tmp.join("from/sub/b.rs"), "b").unwrap();
        fs::write(tmp.join("to/a.rs"), "old").unwrap();
        fs::write(tmp.join("to/gone.rs"), "x").unwrap();
        put_tree(&tmp.join("from"), &tmp.join("to")).unwrap();
        assert_eq!(fs::read_to_string(tmp.join("to/a.rs")).unwrap(), "a");
        assert_eq!(fs::read_to_string(tmp.join("to/sub/b.rs")).unwrap(), "b");
        assert!(!tmp.join("to/gone.rs").exists());
        fs::remove_dir_all(&tmp).unwrap();
    }
}
