//! `xtask-book`: builds, checks and serves the Dockyard book with mdBook 0.5
//! used as a library (no `mdbook` binary to install).
//!
//! ```text
//! xtask-book [--root DIR] [--check] [--serve [--port N]] [--xgettext]
//! ```
//!
//! - no flag: build `book/` into `target/book/` and print where `index.html` is,
//!   then each translation `book/po/LANG.po` into `target/book/LANG/` (see
//!   `i18n.rs`), with one line per chapter that is behind the English;
//! - `--check`: build, and fail (exit 1) listing every problem as
//!   `file:line: problem` — broken includes and anchors, dead relative links
//!   and `#fragments`, chapters missing from (or missing for) `SUMMARY.md`,
//!   task sections and `// TASK` markers that do not match, mdBook's errors;
//!   for each translation, a catalog that does not parse or breaks the build,
//!   a heading that lost its id, a changed code span — and, not as a problem,
//!   which messages of which chapter are fuzzy, missing or obsolete;
//! - `--xgettext`: write the English's messages to `book/po/messages.pot`
//!   (what `mdbook-xgettext` does), to update a catalog with
//!   `msgmerge --update book/po/LANG.po book/po/messages.pot`;
//! - `--serve`: build, then serve `target/book/` on http://127.0.0.1:3000/,
//!   rebuilding when a file under `book/` or `solutions/` changed.
//!
//! `cargo xtask book` runs it as `cargo run -q -p xtask-book -- …` from the
//! repository root. `--root` defaults to this crate's `../..`.
//!
//! Lab chapters are named after their solution crate's directory:
//! `solutions/NN-name/` is explained by `book/src/labNN-name.md`, with one
//! section per task whose heading starts with the task id (`## 01.3 — …`).

mod checks;
mod files;
mod i18n;
mod log;
mod markdown;
mod serve;
mod stale;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use mdbook_driver::MDBook;
use mdbook_driver::config::Config;

use crate::checks::Problem;

/// What the command line asked for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    root: Option<PathBuf>,
    check: bool,
    serve: bool,
    port: Option<u16>,
    xgettext: bool,
}

const USAGE: &str = "usage: xtask-book [--root DIR] [--check] [--serve [--port N]] [--xgettext]";

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => options.check = true,
            "--serve" => options.serve = true,
            "--xgettext" => options.xgettext = true,
            "--root" => {
                options.root = Some(args.next().context("--root needs a directory")?.into())
            }
            "--port" => {
                let port = args.next().context("--port needs a number")?;
                options.port = Some(
                    port.parse()
                        .with_context(|| format!("--port: not a port number: {port}"))?,
                );
            }
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask-book: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let options = parse_args(std::env::args().skip(1))?;
    let root = match &options.root {
        Some(root) => root.clone(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    };
    let root = root
        .canonicalize()
        .with_context(|| format!("no repository root at {}", root.display()))?;
    log::install();

    if options.xgettext {
        let pot = i18n::extract(&root)?;
        println!("book: {}", pot.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut problems = Vec::new();
    if options.check {
        problems.extend(check(&root)?);
    }
    let (built, report) = build_all(&root);
    problems.extend(built);
    for problem in &problems {
        eprintln!("{problem}");
    }
    for (language, chapters) in &report {
        if options.check {
            print!("{}", stale::details(language, chapters));
        } else {
            for chapter in chapters.iter().filter(|c| c.stale()) {
                println!("book: {language}: {}", chapter.summary());
            }
        }
    }
    let index = output_dir(&root).join("index.html");
    let translations: String = report
        .iter()
        .map(|(language, _)| {
            let index = output_dir(&root).join(language).join("index.html");
            format!("; {language}: {}", index.display())
        })
        .collect();
    if options.check {
        if !problems.is_empty() {
            eprintln!("book: {} problem(s)", problems.len());
            return Ok(ExitCode::FAILURE);
        }
        println!(
            "book: checked, no problems; {}{translations}",
            index.display()
        );
    } else if problems.is_empty() {
        println!("book: {}{translations}", index.display());
    } else if !options.serve {
        return Ok(ExitCode::FAILURE);
    }
    if options.serve {
        serve::serve(&root, options.port.unwrap_or(3000))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the HTML goes: `target/book/`, not `book/book/`.
fn output_dir(root: &Path) -> PathBuf {
    root.join("target").join("book")
}

/// What each translation's chapters are behind the English, by language.
pub(crate) type Report = Vec<(String, Vec<stale::Chapter>)>;

/// Build the English book, then each translation (after: mdBook empties
/// its output directory, which holds the translations' directories).
pub(crate) fn build_all(root: &Path) -> (Vec<Problem>, Report) {
    let mut problems = build(root);
    let mut report = Vec::new();
    match i18n::languages(root) {
        Err(err) => problems.push(Problem::new(i18n::PO_DIR, 0, format!("{err:#}"))),
        Ok(languages) => {
            for language in languages {
                let outcome = i18n::build(root, &language);
                problems.extend(outcome.problems);
                report.push((language, outcome.chapters));
            }
        }
    }
    (problems, report)
}

/// Build the English book; mdBook's errors come back as problems.
pub(crate) fn build(root: &Path) -> Vec<Problem> {
    let result = load(root).and_then(|book| book.build());
    let mut problems: Vec<Problem> = log::take_errors()
        .into_iter()
        .map(|e| Problem::new("book", 0, format!("mdBook: {e}")))
        .collect();
    if let Err(err) = result {
        problems.push(Problem::new("book", 0, format!("mdBook: {err:#}")));
    }
    problems
}

pub(crate) fn load(root: &Path) -> Result<MDBook> {
    let book_dir = root.join("book");
    let mut config =
        Config::from_disk(book_dir.join("book.toml")).context("read book/book.toml")?;
    config.update_from_env()?;
    config.build.build_dir = output_dir(root);
    // A chapter missing from disk is a mistake to report, not a file to create.
    config.build.create_missing = false;
    MDBook::load_with_config(&book_dir, config)
}

/// Everything `--check` looks at besides mdBook itself.
fn check(root: &Path) -> Result<Vec<Problem>> {
    let src = root.join("book/src");
    let rel = |path: &Path| files::relative(root, path);
    let mut problems = Vec::new();

    // SUMMARY.md against the chapter files.
    let chapters = files::markdown_files(&src)?;
    let summary_path = src.join("SUMMARY.md");
    let summary = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("read {}", summary_path.display()))?;
    let mut listed = std::collections::BTreeSet::new();
    for link in checks::summary_chapters(&summary) {
        match checks::normalize(&link.target) {
            Some(target) if src.join(&target).is_file() => {
                listed.insert(target);
            }
            _ => problems.push(Problem::new(
                rel(&summary_path),
                link.line,
                format!("SUMMARY.md lists {}, which does not exist", link.target),
            )),
        }
    }
    for chapter in checks::unlisted(&chapters, &listed) {
        problems.push(Problem::new(
            rel(&src.join(chapter)),
            1,
            "chapter is not listed in SUMMARY.md",
        ));
    }

    // Each chapter: includes, links, task sections.
    let mut sections = Vec::new();
    for chapter in &chapters {
        let path = src.join(chapter);
        let file = rel(&path);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        let dir = path.parent().unwrap_or(&src);
        for include in checks::includes(&text) {
            let target = dir.join(include.path);
            match std::fs::read_to_string(&target) {
                Err(_) => problems.push(Problem::new(
                    &file,
                    include.line,
                    format!(
                        "{{{{#{}}}}} of {}: no such file",
                        include.kind, include.path
                    ),
                )),
                Ok(source) => {
                    let selection = checks::selection(include.spec);
                    if let Some(problem) =
                        checks::check_selection(&selection, include.path, &source)
                    {
                        problems.push(Problem::new(&file, include.line, problem));
                    }
                }
            }
        }
        if chapter != "SUMMARY.md" {
            for link in checks::links(&text) {
                if let Some(problem) = check_link(dir, &link.target) {
                    problems.push(Problem::new(&file, link.line, problem));
                }
            }
        }
        for (line, id) in checks::task_headings(&text) {
            sections.push(checks::Section {
                file: file.clone(),
                line,
                id,
            });
        }
    }

    // Task markers in solutions/NN-name/src against the lab chapters. The
    // student edition (`cargo xtask export --student`) has no solutions/:
    // there the starters in labs/ hold the same markers.
    let mut markers = Vec::new();
    let crates = if root.join("solutions").is_dir() {
        root.join("solutions")
    } else {
        root.join("labs")
    };
    for (dir, chapter) in files::lab_dirs(&crates)? {
        for source in files::rust_files(&dir.join("src"))? {
            let text = std::fs::read_to_string(&source)
                .with_context(|| format!("read {}", source.display()))?;
            for (line, id) in checks::task_markers(&text) {
                markers.push(checks::Marker {
                    file: rel(&source),
                    line,
                    id: id.to_owned(),
                    chapter: format!("book/src/{chapter}"),
                });
            }
        }
    }
    let existing = chapters.iter().map(|c| format!("book/src/{c}")).collect();
    problems.extend(checks::task_problems(&markers, &sections, &existing));
    Ok(problems)
}

/// What is wrong with a link of a chapter in `dir`, if anything.
fn check_link(dir: &Path, target: &str) -> Option<String> {
    if checks::is_external(target) {
        return None;
    }
    let (path, fragment) = checks::split_fragment(target);
    let decoded = files::percent_decode(path);
    let file = dir.join(&decoded);
    if !file.exists() {
        return Some(format!("link to {path}, which does not exist"));
    }
    let fragment = fragment.filter(|f| !f.is_empty() && path.ends_with(".md"))?;
    let text = std::fs::read_to_string(&file).ok()?;
    (!checks::heading_ids(&text).contains(fragment))
        .then(|| format!("link to {path}#{fragment}: no heading with id `{fragment}` in {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Options> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn command_line() {
        assert_eq!(args(&[]).unwrap(), Options::default());
        let o = args(&["--check", "--root", "/r", "--serve", "--port", "8080"]).unwrap();
        assert_eq!(
            o,
            Options {
                root: Some("/r".into()),
                check: true,
                serve: true,
                port: Some(8080),
                xgettext: false,
            }
        );
        assert!(args(&["--bogus"]).is_err());
        assert!(args(&["--root"]).is_err());
        assert!(args(&["--port", "x"]).is_err());
    }

    #[test]
    fn links_are_checked_against_files_and_headings() {
        let dir = std::env::temp_dir().join(format!("xtask-book-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("a.md"), "# A\n## 01.3 — The sync pipe\n").unwrap();
        std::fs::write(dir.join("sub/b.rs"), "").unwrap();
        assert_eq!(check_link(&dir, "a.md"), None);
        assert_eq!(check_link(&dir, "a.md#013--the-sync-pipe"), None);
        assert_eq!(check_link(&dir.join("sub"), "../a.md#a"), None);
        assert_eq!(check_link(&dir, "sub/b.rs"), None);
        assert_eq!(check_link(&dir, "https://example.org/x.md"), None);
        assert!(
            check_link(&dir, "gone.md")
                .unwrap()
                .contains("does not exist")
        );
        assert!(
            check_link(&dir, "a.md#nope")
                .unwrap()
                .contains("no heading with id `nope`")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
