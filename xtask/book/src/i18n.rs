//! Translations the mdBook way: gettext catalogs, with mdbook-i18n-helpers
//! used as a library (no `mdbook-gettext` or `mdbook-xgettext` binary).
//!
//! - `book/po/messages.pot` is the English cut into messages (paragraphs,
//!   list items, headings, table cells, comments and strings of code
//!   blocks), written by `--xgettext` with the helpers' `Xgettext`
//!   renderer. It is generated, not committed.
//! - `book/po/LANG.po` holds one language's translations. Each one is
//!   built into `target/book/LANG/` by the same pipeline as the English,
//!   with one more preprocessor, [`Translate`], last: it swaps each message
//!   for its translation (the helpers' `translate_book`, which is what
//!   `mdbook-gettext` runs) — after `{{#include}}`, so included code's
//!   comments are translated too.
//! - A message the catalog does not translate stays English. [`Translate`]
//!   also measures, per chapter, what is behind the English (`stale.rs`)
//!   and puts a notice at the top of such a chapter; `--check` lists the
//!   messages. Behind is not broken: only a catalog that does not parse,
//!   a translation that breaks the Markdown or the build, loses a
//!   heading's id or changes a code span fails.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow};
use mdbook_driver::book::{Book, BookItem};
use mdbook_i18n_helpers::gettext::{add_stripped_summary_translations, translate_book};
use mdbook_i18n_helpers::renderers::Xgettext;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use mdbook_renderer::{RenderContext, Renderer};
use polib::catalog::Catalog;

use crate::checks::Problem;
use crate::stale;

/// Where the catalogs live, relative to the repository root.
pub const PO_DIR: &str = "book/po";

/// The languages with a catalog (`book/po/LANG.po`), sorted.
pub fn languages(root: &Path) -> Result<Vec<String>> {
    let dir = root.join(PO_DIR);
    let mut languages = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(languages);
    };
    for entry in entries {
        let path = entry
            .with_context(|| format!("read {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "po")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            languages.push(stem.to_owned());
        }
    }
    languages.sort();
    Ok(languages)
}

/// `--xgettext`: write `book/po/messages.pot` from the current English.
pub fn extract(root: &Path) -> Result<PathBuf> {
    let book = crate::load(root)?;
    let (preprocessed, _) = book.preprocess_book(&Xgettext)?;
    let dir = root.join(PO_DIR);
    let ctx = RenderContext::new(book.root.clone(), preprocessed, book.config.clone(), &dir);
    Xgettext.render(&ctx).context("extract the messages")?;
    let pot = dir.join("messages.pot");
    // Two kinds of text mdbook-xgettext leaves out are messages here: the
    // book's title (the translated book's top bar) and the `<summary>` of
    // a folded block ("Hint 1"), which is HTML to it.
    let mut extra: Vec<(String, String)> = Vec::new();
    if let Some(title) = &book.config.book.title {
        extra.push(("book/book.toml".to_owned(), title.clone()));
    }
    for item in ctx.book.iter() {
        if let BookItem::Chapter(ch) = item
            && let Some(path) = &ch.path
        {
            for text in summaries(&ch.content) {
                extra.push((format!("src/{}", path.display()), text.to_owned()));
            }
        }
    }
    let mut catalog = parse(&pot)?;
    for (source, msgid) in extra {
        let source = match catalog.find_message(None, &msgid, None) {
            Some(m) if !m.source().split_whitespace().any(|s| s == source) => {
                format!("{} {source}", m.source())
            }
            Some(m) => m.source().to_owned(),
            None => source,
        };
        catalog.append_or_update(
            polib::message::Message::build_singular()
                .with_source(source)
                .with_msgid(msgid)
                .with_msgstr(String::new())
                .done(),
        );
    }
    polib::po_file::write(&catalog, &pot).with_context(|| format!("write {}", pot.display()))?;
    Ok(pot)
}

/// What building one language found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub chapters: Vec<stale::Chapter>,
    pub problems: Vec<Problem>,
}

/// Build `language` into `target/book/LANG/`.
pub fn build(root: &Path, language: &str) -> Outcome {
    let po = root.join(PO_DIR).join(format!("{language}.po"));
    let po_name = format!("{PO_DIR}/{language}.po");
    let shared = Arc::new(Mutex::new(Outcome::default()));
    let result = (|| -> Result<()> {
        let mut catalog = parse(&po).context("not a valid PO file")?;
        shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .problems
            .extend(lint(&catalog, &po_name));
        // mdBook strips the formatting of chapter names; so must the catalog
        // (these extra entries have no `#:` reference: no chapter counts them).
        add_stripped_summary_translations(&mut catalog);
        let mut book = crate::load(root)?;
        let config = &mut book.config;
        config.book.language = Some(language.to_owned());
        let english_title = config.book.title.clone();
        if let Some(title) = english_title
            .as_deref()
            .and_then(|t| translated(&catalog, t))
        {
            config.book.title = Some(title);
        }
        config.build.build_dir = crate::output_dir(root).join(language);
        book.with_preprocessor(Translate {
            catalog,
            title: english_title,
            po_name: po_name.clone(),
            outcome: Arc::clone(&shared),
        });
        book.build()
    })();
    let mut outcome = std::mem::take(&mut *shared.lock().unwrap_or_else(|e| e.into_inner()));
    outcome.problems.extend(
        crate::log::take_errors()
            .into_iter()
            .map(|e| Problem::new(&po_name, 0, format!("mdBook ({language}): {e}"))),
    );
    if let Err(err) = result {
        outcome
            .problems
            .push(Problem::new(&po_name, 0, format!("{err:#}")));
    }
    outcome
}

/// The header fields polib needs (it panics on a header without them).
const HEADER_FIELDS: [&str; 9] = [
    "Project-Id-Version",
    "POT-Creation-Date",
    "PO-Revision-Date",
    "Language-Team",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Language",
    "Plural-Forms",
];

/// Parse a catalog. A broken one is an error, never a panic: polib
/// unwraps in places, so its panics are caught (and kept off stderr).
fn parse(po: &Path) -> Result<Catalog> {
    let text = std::fs::read_to_string(po).with_context(|| format!("read {}", po.display()))?;
    if let Some((line, problem)) = syntax_error(&text) {
        return Err(anyhow!("line {line}: {problem}"));
    }
    if let Some(missing) = missing_header_field(&text) {
        return Err(anyhow!(
            "its header (the entry msgid \"\") has no {missing} field"
        ));
    }
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let parsed = std::panic::catch_unwind(|| polib::po_file::parse(po));
    std::panic::set_hook(hook);
    match parsed {
        Ok(result) => result.map_err(|e| anyhow!("{e}")),
        Err(_) => Err(anyhow!(
            "the PO parser gave up on it (run `msgfmt --check` on it)"
        )),
    }
}

/// The first line that is not PO syntax, if any. polib is lenient (an
/// unterminated string or a stray word is skipped or glued on silently),
/// so the shape of each line is checked here: a comment, a keyword with a
/// quoted string, or a continuation string.
fn syntax_error(po: &str) -> Option<(usize, String)> {
    for (n, line) in po.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let string = ["msgctxt ", "msgid_plural ", "msgid ", "msgstr "]
            .iter()
            .find_map(|k| line.strip_prefix(k))
            .or_else(|| {
                // msgstr[N] of a plural entry
                let rest = line.strip_prefix("msgstr[")?;
                let (index, rest) = rest.split_once("] ")?;
                index.chars().all(|c| c.is_ascii_digit()).then_some(rest)
            })
            .unwrap_or(line);
        if !is_quoted(string.trim()) {
            return Some((n + 1, format!("not a PO line: {line}")));
        }
    }
    None
}

/// `"…"`, with every inner `"` escaped.
fn is_quoted(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return false;
    };
    let mut escaped = false;
    for c in inner.chars() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return false,
            _ => {}
        }
    }
    !escaped
}

/// The first header field polib needs that `po` lacks, if any.
fn missing_header_field(po: &str) -> Option<&'static str> {
    HEADER_FIELDS
        .into_iter()
        .find(|field| !po.contains(&format!("\"{field}:")))
}

/// The catalog's translation of `msgid`, if it has a usable one.
fn translated(catalog: &Catalog, msgid: &str) -> Option<String> {
    catalog
        .find_message(None, msgid, None)
        .filter(|m| !m.flags().is_fuzzy() && m.is_translated())
        .and_then(|m| m.msgstr().ok().map(str::to_owned))
}

/// The last preprocessor of a translated build.
struct Translate {
    catalog: Catalog,
    /// The English title (the config's is already translated).
    title: Option<String>,
    po_name: String,
    outcome: Arc<Mutex<Outcome>>,
}

impl Preprocessor for Translate {
    fn name(&self) -> &str {
        "dockyard-translate"
    }

    fn run(&self, _ctx: &PreprocessorContext, mut book: Book) -> Result<Book> {
        let english = book.clone();
        let chapters = stale::report(&self.catalog, &messages(&book, self.title.as_deref())?);
        translate_book(&self.catalog, &mut book)
            .with_context(|| format!("{}: a translation breaks the Markdown", self.po_name))?;
        let problems = lost_heading_ids(&english, &book, &self.po_name);

        book.for_each_mut(|item| {
            if let BookItem::Chapter(ch) = item {
                ch.content = translate_summaries(&ch.content, &self.catalog);
                if let Some(path) = ch.path.as_ref().and_then(|p| p.to_str())
                    && let Some(status) = chapters.iter().find(|c| c.path == path)
                {
                    ch.content = with_notice(&ch.content, status);
                }
            }
        });
        let mut outcome = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
        outcome.chapters = chapters;
        outcome.problems.extend(problems);
        Ok(book)
    }
}

/// The current English's messages, per chapter, as mdbook-xgettext cuts
/// them (the book's title, the chapter names and part titles count as
/// `SUMMARY.md`).
fn messages(book: &Book, title: Option<&str>) -> Result<stale::Source> {
    let mut summary: Vec<String> = title.map(str::to_owned).into_iter().collect();
    let mut chapters = Vec::new();
    for item in book.iter() {
        match item {
            BookItem::PartTitle(title) => summary.push(title.clone()),
            BookItem::Chapter(ch) => {
                summary.push(ch.name.clone());
                let Some(path) = ch.path.as_ref().and_then(|p| p.to_str()) else {
                    continue;
                };
                let mut ids: Vec<String> = mdbook_i18n_helpers::extract_messages(&ch.content)
                    .with_context(|| format!("extract the messages of {path}"))?
                    .into_iter()
                    .map(|(_, m)| m.message)
                    .collect();
                ids.extend(summaries(&ch.content).map(str::to_owned));
                chapters.push((path.to_owned(), ids));
            }
            BookItem::Separator => {}
        }
    }
    summary.dedup();
    chapters.insert(0, ("SUMMARY.md".to_owned(), summary));
    Ok(chapters)
}

/// The texts of the `<summary>…</summary>` of folded blocks, one a line.
fn summaries(content: &str) -> impl Iterator<Item = &str> {
    content.lines().filter_map(|line| {
        let (_, rest) = line.split_once("<summary>")?;
        let (text, _) = rest.split_once("</summary>")?;
        (!text.trim().is_empty() && !text.contains('<')).then(|| text.trim())
    })
}

/// Each `<summary>` whose text the catalog translates, translated.
fn translate_summaries(content: &str, catalog: &Catalog) -> String {
    let mut out = content.to_owned();
    for text in summaries(content).collect::<std::collections::BTreeSet<_>>() {
        if let Some(translation) = translated(catalog, text) {
            out = out.replace(
                &format!("<summary>{text}</summary>"),
                &format!("<summary>{translation}</summary>"),
            );
        }
    }
    out
}

/// A translated chapter that is behind the English says so at its top,
/// with a link to the English page (`../` from `target/book/LANG/`).
fn with_notice(content: &str, status: &stale::Chapter) -> String {
    let english = format!(
        "{}{}",
        "../".repeat(status.path.matches('/').count() + 1),
        status.path.replace(".md", ".html")
    );
    let notice = if status.untranslated() {
        format!(
            "> **Capítulo ainda não traduzido.** O texto abaixo está no original em \
             inglês. ([English]({english}))"
        )
    } else if status.stale() {
        let behind = status.fuzzy.len() + status.missing.len();
        let what = match behind {
            0 => "trechos foram removidos ou reescritos, e o catálogo ainda não foi \
                  atualizado"
                .to_owned(),
            1 => "1 trecho aparece em inglês até ser traduzido".to_owned(),
            n => format!("{n} trechos aparecem em inglês até serem traduzidos"),
        };
        format!(
            "> **Esta tradução está atrás do original em inglês.** O capítulo mudou \
             depois de traduzido: {what}. Na dúvida, vale o original: [English]({english})."
        )
    } else {
        return content.to_owned();
    };
    // After the chapter's title, when it opens with one.
    match content.split_once('\n') {
        Some((first, rest)) if first.starts_with("# ") => format!("{first}\n\n{notice}\n\n{rest}"),
        _ => format!("{notice}\n\n{content}"),
    }
}

/// Problems of the catalog itself that make a translation wrong rather
/// than late: a code span (a command, an identifier, a check name, a task
/// id) that the translation changed or dropped.
fn lint(catalog: &Catalog, po_name: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    for message in catalog.messages() {
        let Some(translation) = translated(catalog, message.msgid()) else {
            continue;
        };
        let (mut english, mut ours) = (code_spans(message.msgid()), code_spans(&translation));
        english.sort();
        ours.sort();
        if english != ours {
            problems.push(Problem::new(
                po_name,
                0,
                format!(
                    "the translation of \"{}\" does not keep its code spans as they are \
                     (English: {english:?}, translation: {ours:?})",
                    stale::excerpt(message.msgid())
                ),
            ));
        }
    }
    problems
}

/// The inline code spans of a message.
fn code_spans(markdown: &str) -> Vec<String> {
    use pulldown_cmark::{Event, Parser};
    Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Code(code) => Some(code.into_string()),
            _ => None,
        })
        .collect()
}

/// A heading whose translation lost the English id breaks every link to
/// it (`lab01-process.md#013--the-sync-pipe`, from any chapter): the
/// translation must keep it with `{#013--the-sync-pipe}`.
fn lost_heading_ids(english: &Book, translated: &Book, po_name: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (en, tr) in english.iter().zip(translated.iter()) {
        let (BookItem::Chapter(en), BookItem::Chapter(tr)) = (en, tr) else {
            continue;
        };
        let ours = crate::markdown::heading_ids(&tr.content);
        let path = en.path.as_ref().map(|p| p.display().to_string());
        // A chapter's title is also its name in SUMMARY.md, where an id
        // would show as text: it is translated without one (links go to
        // the page, not to its title).
        let titles: Vec<String> = crate::markdown::headings(&en.content)
            .into_iter()
            .filter(|h| h.level == 1)
            .map(|h| h.id.unwrap_or_else(|| crate::markdown::heading_id(&h.text)))
            .collect();
        let mut lost: Vec<_> = crate::markdown::heading_ids(&en.content)
            .into_iter()
            .filter(|id| !ours.contains(id) && !titles.contains(id))
            .collect();
        lost.sort();
        for id in lost {
            problems.push(Problem::new(
                po_name,
                0,
                format!(
                    "a translated heading of {} lost its id `{id}` (links to it break): \
                     end the translation with {{#{id}}}",
                    path.as_deref().unwrap_or("?")
                ),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_goes_after_the_title() {
        let stale = stale::Chapter {
            path: "lab01-process.md".into(),
            total: 2,
            translated: 1,
            own: 1,
            missing: vec!["New".into()],
            ..Default::default()
        };
        let out = with_notice("# Lab 01\n\nTexto.\n", &stale);
        assert!(out.starts_with("# Lab 01\n\n> **Esta tradução está atrás"));
        assert!(out.contains("1 trecho aparece em inglês"));
        assert!(out.contains("(../lab01-process.html)"));
        assert!(out.ends_with("\n\nTexto.\n"));

        let untranslated = stale::Chapter {
            path: "sub/x.md".into(),
            total: 1,
            missing: vec!["x".into()],
            ..Default::default()
        };
        let out = with_notice("Texto.", &untranslated);
        assert!(out.starts_with("> **Capítulo ainda não traduzido.**"));
        assert!(out.contains("(../../sub/x.html)"));

        let current = stale::Chapter {
            path: "a.md".into(),
            total: 1,
            translated: 1,
            own: 1,
            ..Default::default()
        };
        assert_eq!(with_notice("# A\nB", &current), "# A\nB");
    }

    #[test]
    fn a_broken_catalog_is_an_error_not_a_panic() {
        let dir = std::env::temp_dir().join(format!("xtask-book-po-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let po = dir.join("xx.po");
        let header = HEADER_FIELDS
            .iter()
            .map(|f| match *f {
                "Plural-Forms" => format!("\"{f}: nplurals=2; plural=(n > 1);\\n\"\n"),
                _ => format!("\"{f}: x\\n\"\n"),
            })
            .collect::<String>();
        let good = format!("msgid \"\"\nmsgstr \"\"\n{header}\nmsgid \"Hello\"\nmsgstr \"Olá\"\n");
        std::fs::write(&po, &good).unwrap();
        let catalog = parse(&po).unwrap();
        assert_eq!(translated(&catalog, "Hello").as_deref(), Some("Olá"));

        std::fs::write(&po, good.replace("\"Language: x\\n\"\n", "")).unwrap();
        let err = parse(&po).err().unwrap().to_string();
        assert!(err.contains("no Language field"), "{err}");

        std::fs::write(&po, format!("{good}\nmsgid \"unterminated\nmsgstr \"x\"\n")).unwrap();
        let err = parse(&po).err().unwrap().to_string();
        assert!(
            err.contains("line 16: not a PO line: msgid \"unterminated"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn po_lines_are_checked() {
        assert_eq!(
            syntax_error("# c\n\nmsgid \"a \\\"b\\\"\"\nmsgstr[0] \"\"\n\"x\"\n"),
            None
        );
        assert_eq!(
            syntax_error("msgid \"a\"\nmsgstr \"b\" c\"\n").unwrap().0,
            2
        );
        assert_eq!(syntax_error("msgid a\n").unwrap().0, 1);
        assert_eq!(syntax_error("msgstr \"ends in \\\"\n").unwrap().0, 1);
    }

    /// A whole translated build of a tiny book: the translation is used,
    /// an English edit shows as a notice (not a problem), a heading keeps
    /// its id, and a broken catalog is a problem.
    #[test]
    fn a_tiny_book_is_translated_and_its_staleness_shown() {
        let root = std::env::temp_dir().join(format!("xtask-book-i18n-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("book/src")).unwrap();
        std::fs::create_dir_all(root.join("book/po")).unwrap();
        std::fs::write(
            root.join("book/book.toml"),
            "[book]\ntitle = \"Tiny\"\nlanguage = \"en\"\n",
        )
        .unwrap();
        std::fs::write(root.join("book/src/SUMMARY.md"), "# Summary\n\n[A](a.md)\n").unwrap();
        std::fs::write(
            root.join("book/src/a.md"),
            "# A\n\n## The pipe\n\nRun `ls` now.\n\nA new sentence.\n",
        )
        .unwrap();
        let header = HEADER_FIELDS
            .iter()
            .map(|f| match *f {
                "Plural-Forms" => format!("\"{f}: nplurals=2; plural=(n > 1);\\n\"\n"),
                _ => format!("\"{f}: xx\\n\"\n"),
            })
            .collect::<String>();
        let po = format!(
            "msgid \"\"\nmsgstr \"\"\n{header}\n\
             #: src/a.md:3\nmsgid \"The pipe\"\nmsgstr \"O pipe {{#the-pipe}}\"\n\n\
             #: src/a.md:5\nmsgid \"Run `ls` now.\"\nmsgstr \"Rode `ls` agora.\"\n\n\
             #: src/a.md:7\nmsgid \"An old sentence.\"\nmsgstr \"Uma frase antiga.\"\n"
        );
        std::fs::write(root.join("book/po/xx.po"), &po).unwrap();

        let outcome = build(&root, "xx");
        assert_eq!(outcome.problems, []);
        let a = outcome.chapters.iter().find(|c| c.path == "a.md").unwrap();
        assert_eq!(a.missing, ["A", "A new sentence."]);
        assert_eq!(a.obsolete, ["An old sentence."]);
        let html = std::fs::read_to_string(root.join("target/book/xx/a.html")).unwrap();
        assert!(html.contains("Rode <code>ls</code> agora."), "{html}");
        assert!(html.contains("id=\"the-pipe\""));
        assert!(html.contains("Esta tradução está atrás do original em inglês"));
        assert!(html.contains("href=\"../a.html\""));

        std::fs::write(
            root.join("book/po/xx.po"),
            format!("{po}msgid \"x\nmsgstr \"\"\n"),
        )
        .unwrap();
        let outcome = build(&root, "xx");
        assert_eq!(outcome.problems.len(), 1, "{:?}", outcome.problems);
        assert!(outcome.problems[0].message.contains("not a valid PO file"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn folded_blocks_summaries_are_messages() {
        let content = "<details>\n<summary>Hint 1</summary>\n\ntext\n</details>\n\
                       <details><summary>Reference solution</summary>\n<summary>a <b>b</b></summary>";
        assert_eq!(
            summaries(content).collect::<Vec<_>>(),
            ["Hint 1", "Reference solution"]
        );
        let mut catalog = Catalog::new(polib::metadata::CatalogMetadata::new());
        catalog.append_or_update(
            polib::message::Message::build_singular()
                .with_msgid("Hint 1".into())
                .with_msgstr("Dica 1".into())
                .done(),
        );
        let out = translate_summaries(content, &catalog);
        assert!(out.contains("<summary>Dica 1</summary>"));
        assert!(out.contains("<summary>Reference solution</summary>"));
    }

    #[test]
    fn code_spans_are_compared() {
        assert_eq!(
            code_spans("Run `cargo xtask check 01` then `ls`."),
            ["cargo xtask check 01", "ls"]
        );
        let mut catalog = Catalog::new(polib::metadata::CatalogMetadata::new());
        for (id, tr) in [
            ("Run `ls` now", "Rode `ls` agora"),
            ("Call `spawn`", "Chame `gerar`"),
        ] {
            catalog.append_or_update(
                polib::message::Message::build_singular()
                    .with_msgid(id.into())
                    .with_msgstr(tr.into())
                    .done(),
            );
        }
        let problems = lint(&catalog, "pt-BR.po");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].to_string().contains("Call `spawn`"));
    }
}
