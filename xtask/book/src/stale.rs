//! Which translated messages are behind the English, chapter by chapter.
//!
//! A translation is a gettext catalog (`book/po/LANG.po`) keyed by the
//! English text itself: when a sentence of the English changes, its old
//! `msgid` no longer matches anything and the new one has no translation.
//! mdbook-i18n-helpers then shows the new English sentence in the
//! translated book, silently. This module makes it loud, per chapter:
//!
//! - **missing**: a message of the current English that the catalog does
//!   not translate (no entry, or an empty `msgstr`);
//! - **fuzzy**: an entry `msgmerge` flagged `#, fuzzy` (the English changed
//!   a little; the old translation is kept but not used);
//! - **obsolete**: an entry whose `msgid` the English no longer has (the
//!   English changed and no `msgmerge` ran yet, or the text went away); it
//!   is filed under the chapters its `#:` references name.
//!
//! Staleness is *reported*, never a failure: the English moves on first
//! and the translation follows; meanwhile the translated chapter shows a
//! notice (see `i18n.rs`) and the English for what is missing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use polib::catalog::Catalog;

/// The state of one chapter's translation.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Chapter {
    /// `lab01-process.md`, relative to `book/src` (`SUMMARY.md` holds the
    /// chapter names and part titles).
    pub path: String,
    /// Messages in the current English.
    pub total: usize,
    /// Of those, how many the catalog translates (not fuzzy).
    pub translated: usize,
    /// Of those, how many occur in no other chapter: a shared message
    /// ("Goal", a chapter's name in `SUMMARY.md`) says nothing about
    /// whether *this* chapter was translated.
    pub own: usize,
    pub fuzzy: Vec<String>,
    pub missing: Vec<String>,
    pub obsolete: Vec<String>,
}

impl Chapter {
    /// Never translated: none of its own text has (or had) a translation.
    /// Such a chapter is shown in English, and is not "stale".
    pub fn untranslated(&self) -> bool {
        self.own == 0 && self.obsolete.is_empty()
    }

    /// Translated, but behind the English.
    pub fn stale(&self) -> bool {
        let behind = !self.fuzzy.is_empty() || !self.missing.is_empty();
        !self.untranslated() && (behind || !self.obsolete.is_empty())
    }

    /// One line: `lab01-process.md: 410/420 translated, 3 fuzzy, …`.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{}: {}/{} translated",
            self.path, self.translated, self.total
        );
        for (n, what) in [
            (self.fuzzy.len(), "fuzzy"),
            (self.missing.len(), "missing"),
            (self.obsolete.len(), "obsolete"),
        ] {
            if n > 0 {
                let _ = write!(line, ", {n} {what}");
            }
        }
        if self.untranslated() {
            line.push_str(" (not translated: shown in English)");
        } else if self.stale() {
            line.push_str(" — STALE: behind the English");
        }
        line
    }
}

/// The messages of the current English: `(chapter, msgids)` in book order.
pub type Source = Vec<(String, Vec<String>)>;

/// Compare `catalog` with the current English messages, per chapter.
pub fn report(catalog: &Catalog, source: &Source) -> Vec<Chapter> {
    // How many chapters each current message occurs in.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (_, ids) in source {
        for id in ids.iter().collect::<HashSet<_>>() {
            *seen.entry(id.as_str()).or_default() += 1;
        }
    }
    let mut chapters: Vec<Chapter> = Vec::new();
    let mut index = BTreeMap::new();
    for (path, ids) in source {
        let mut chapter = Chapter {
            path: path.clone(),
            total: ids.len(),
            ..Chapter::default()
        };
        for id in ids {
            match catalog.find_message(None, id, None) {
                Some(m) if m.flags().is_fuzzy() => chapter.fuzzy.push(id.clone()),
                Some(m) if m.is_translated() => {
                    chapter.translated += 1;
                    if seen.get(id.as_str()) == Some(&1) {
                        chapter.own += 1;
                    }
                }
                _ => chapter.missing.push(id.clone()),
            }
        }
        index.insert(path.clone(), chapters.len());
        chapters.push(chapter);
    }
    for message in catalog.messages() {
        // An entry with no translation going away loses nothing (a catalog
        // made by `msginit`/`msgmerge` lists every message, most empty).
        let id = message.msgid();
        if id.is_empty() || seen.contains_key(id) || !message.is_translated() {
            continue;
        }
        for path in chapters_of(message.source()) {
            let i = *index.entry(path.clone()).or_insert_with(|| {
                // A chapter that went away altogether.
                chapters.push(Chapter {
                    path,
                    ..Chapter::default()
                });
                chapters.len() - 1
            });
            chapters[i].obsolete.push(id.to_owned());
        }
    }
    chapters
}

/// The chapters a `#:` reference list names: `src/a.md:12 src/b.md:3`
/// gives `a.md`, `b.md` (each once).
pub fn chapters_of(references: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for reference in references.split_whitespace() {
        let file = reference
            .rsplit_once(':')
            .filter(|(_, line)| line.chars().all(|c| c.is_ascii_digit()))
            .map_or(reference, |(file, _)| file);
        // The title (`book/book.toml`) is filed with the chapter names.
        let file = match file {
            "book/book.toml" => "SUMMARY.md",
            file => file.strip_prefix("src/").unwrap_or(file),
        }
        .to_owned();
        if !out.contains(&file) {
            out.push(file);
        }
    }
    out
}

/// The message as one short line, for a report.
pub fn excerpt(msgid: &str) -> String {
    let line: String = msgid.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(70) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// The detailed report `--check` prints: each stale chapter with its
/// messages (a few of each kind).
pub fn details(language: &str, chapters: &[Chapter]) -> String {
    const SHOWN: usize = 5;
    let mut out = String::new();
    for chapter in chapters {
        let _ = writeln!(out, "{language}: {}", chapter.summary());
        if !chapter.stale() {
            continue;
        }
        for (what, list) in [
            ("fuzzy", &chapter.fuzzy),
            ("missing", &chapter.missing),
            ("obsolete", &chapter.obsolete),
        ] {
            for id in list.iter().take(SHOWN) {
                let _ = writeln!(out, "    {what}: {}", excerpt(id));
            }
            if list.len() > SHOWN {
                let _ = writeln!(out, "    {what}: … and {} more", list.len() - SHOWN);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use polib::message::{Message, MessageFlags};
    use polib::metadata::CatalogMetadata;

    fn catalog(entries: &[(&str, &str, &str, bool)]) -> Catalog {
        let mut catalog = Catalog::new(CatalogMetadata::new());
        for (id, translation, source, fuzzy) in entries {
            let mut flags = MessageFlags::new();
            if *fuzzy {
                flags.add_flag("fuzzy");
            }
            catalog.append_or_update(
                Message::build_singular()
                    .with_msgid(id.to_string())
                    .with_msgstr(translation.to_string())
                    .with_source(source.to_string())
                    .with_flags(flags)
                    .done(),
            );
        }
        catalog
    }

    fn source(chapters: &[(&str, &[&str])]) -> Source {
        chapters
            .iter()
            .map(|(path, ids)| {
                (
                    path.to_string(),
                    ids.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn an_up_to_date_translation_is_not_stale() {
        let c = catalog(&[
            ("Hello", "Olá", "src/a.md:1", false),
            ("World", "Mundo", "src/a.md:3", false),
        ]);
        let r = report(&c, &source(&[("a.md", &["Hello", "World"])]));
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].translated, r[0].total), (2, 2));
        assert!(!r[0].stale() && !r[0].untranslated());
        assert_eq!(r[0].summary(), "a.md: 2/2 translated");
    }

    #[test]
    fn an_english_edit_shows_as_missing_here_and_obsolete_there() {
        // The English sentence "World" became "The world": the catalog
        // still has the old one (obsolete), the new one has no entry.
        let c = catalog(&[
            ("Hello", "Olá", "src/a.md:1", false),
            ("World", "Mundo", "src/a.md:3 src/b.md:9", false),
        ]);
        let r = report(
            &c,
            &source(&[("a.md", &["Hello", "The world"]), ("b.md", &["Hello"])]),
        );
        assert_eq!(r[0].missing, ["The world"]);
        assert_eq!(r[0].obsolete, ["World"]);
        assert!(r[0].stale());
        assert!(
            r[0].summary()
                .contains("1/2 translated, 1 missing, 1 obsolete — STALE")
        );
        // b.md's own text is translated; its reference to the old
        // sentence makes it stale too.
        assert_eq!((r[1].translated, r[1].obsolete.len()), (1, 1));
        assert!(r[1].stale());
    }

    #[test]
    fn fuzzy_and_empty_entries_do_not_count_as_translated() {
        let c = catalog(&[
            ("Hello", "Olá", "src/a.md:1", false),
            ("World", "Mundo", "src/a.md:3", true),
            ("Again", "", "src/a.md:5", false),
        ]);
        let r = report(&c, &source(&[("a.md", &["Hello", "World", "Again"])]));
        assert_eq!(r[0].translated, 1);
        assert_eq!(r[0].fuzzy, ["World"]);
        assert_eq!(r[0].missing, ["Again"]);
        assert!(r[0].stale());
    }

    #[test]
    fn a_chapter_with_no_translation_is_untranslated_not_stale() {
        let c = catalog(&[
            ("Hello", "Olá", "src/a.md:1", false),
            ("Goal", "Objetivo", "src/a.md:2 src/b.md:2", false),
            ("Other", "", "src/b.md:4", false),
            ("Gone, never translated", "", "src/b.md:6", false),
        ]);
        let r = report(
            &c,
            &source(&[("a.md", &["Hello", "Goal"]), ("b.md", &["Goal", "Other"])]),
        );
        // b.md shares "Goal" with a.md: that does not make it translated,
        // and an untranslated entry that went away is not obsolete.
        assert_eq!((r[1].translated, r[1].own), (1, 0));
        assert!(r[1].obsolete.is_empty());
        assert!(r[1].untranslated() && !r[1].stale());
        assert!(
            r[1].summary()
                .ends_with("(not translated: shown in English)")
        );
        assert!(!r[0].untranslated() && !r[0].stale());
    }

    #[test]
    fn entries_of_a_removed_chapter_are_reported_under_its_name() {
        let c = catalog(&[
            ("Hello", "Olá", "src/a.md:1", false),
            ("Gone", "Foi", "src/old.md:2", false),
        ]);
        let r = report(&c, &source(&[("a.md", &["Hello"])]));
        assert_eq!(r[1].path, "old.md");
        assert_eq!(r[1].obsolete, ["Gone"]);
    }

    #[test]
    fn references_and_excerpts() {
        assert_eq!(
            chapters_of("src/a.md:12 src/b.md:3\nsrc/a.md:40"),
            ["a.md", "b.md"]
        );
        assert_eq!(chapters_of("src/SUMMARY.md"), ["SUMMARY.md"]);
        assert_eq!(chapters_of("book/book.toml"), ["SUMMARY.md"]);
        assert_eq!(excerpt("two\n  lines"), "two lines");
        assert_eq!(excerpt(&"x".repeat(80)), format!("{}…", "x".repeat(70)));
    }

    #[test]
    fn details_list_the_messages_of_stale_chapters_only() {
        let c = catalog(&[("Hello", "Olá", "src/a.md:1", false)]);
        let text = details(
            "pt-BR",
            &report(
                &c,
                &source(&[("a.md", &["Hello", "New"]), ("b.md", &["X"])]),
            ),
        );
        assert!(text.contains("pt-BR: a.md: 1/2 translated, 1 missing"));
        assert!(text.contains("    missing: New\n"));
        assert!(!text.contains("missing: X"));
    }
}
