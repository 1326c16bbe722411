//! Logical lines to typed instructions ([`crate::ast`]).
//!
//! Each instruction has its own argument syntax, as in BuildKit:
//!
//! - RUN, CMD, ENTRYPOINT: **exec form** when the arguments are a JSON
//!   array of strings, otherwise **shell form**: the text as is. Not a
//!   valid JSON array — `["a",]`, `['a']` — means shell form (the shell
//!   will then fail on it at run time); a valid array of something else
//!   than strings is an error.
//! - COPY, ADD, VOLUME: a JSON array, or words split on whitespace.
//! - ENV, LABEL: `name=value …` (words split on whitespace *outside
//!   quotes*, quotes kept for later), or the legacy `name value` (one
//!   pair, the value is the rest of the line).
//! - ARG: `name[=default] …`.
//! - FROM, COPY, ADD: `--flag=value` words first.

use crate::ast::{Command, Containerfile, Copy, From, Instruction, Located};
use crate::error::{ParseError, ParseErrorKind as Kind, Pos};
use crate::lines::{Line, logical_lines};

/// Instructions Docker has and this builder refuses by name.
const UNSUPPORTED: [&str; 5] = [
    "HEALTHCHECK",
    "MAINTAINER",
    "ONBUILD",
    "SHELL",
    "STOPSIGNAL",
];
const KNOWN: [&str; 13] = [
    "FROM",
    "RUN",
    "COPY",
    "ADD",
    "ENV",
    "ARG",
    "WORKDIR",
    "EXPOSE",
    "CMD",
    "ENTRYPOINT",
    "USER",
    "LABEL",
    "VOLUME",
];

/// Parse a whole Containerfile.
pub fn parse(source: &str) -> Result<Containerfile, ParseError> {
    let (directives, lines) = logical_lines(source)?;
    let mut instructions = Vec::with_capacity(lines.len());
    let mut in_stage = false;
    for line in &lines {
        let located = instruction(line, directives.escape)?;
        match located.instruction {
            Instruction::From(_) => in_stage = true,
            Instruction::Arg(_) => {}
            ref other if !in_stage => {
                return Err(ParseError::new(located.pos, Kind::NoStage(other.keyword())));
            }
            _ => {}
        }
        instructions.push(located);
    }
    if !in_stage {
        let pos = instructions
            .last()
            .map_or(Pos { line: 1, col: 1 }, |l| l.pos);
        return Err(ParseError::new(pos, Kind::Empty));
    }
    Ok(Containerfile {
        directives,
        instructions,
    })
}

/// A word of the arguments and its byte offset in the logical line.
type Word<'a> = (usize, &'a str);

/// Flags found (`name`, `value`), and the words after them.
type Flags<'a> = (Vec<(String, String)>, &'a [Word<'a>]);

/// Words split on whitespace, with their offsets (`base` is the offset
/// of `text` in the line).
fn split_ws(text: &str, base: usize) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push((base + s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((base + s, &text[s..]));
    }
    words
}

/// Words split on whitespace outside quotes, quotes and escapes kept
/// (BuildKit's `parseWords`): `a="b c" d` is `a="b c"`, `d`.
pub fn split_quoted(text: &str, escape: char, base: usize) -> Vec<(usize, String)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut start = None;
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if start.is_none() {
            if c.is_whitespace() {
                continue;
            }
            start = Some(i);
        }
        match quote {
            None if c.is_whitespace() => {
                if blank_ok || !word.is_empty() {
                    words.push((base + start.unwrap_or(i), std::mem::take(&mut word)));
                }
                word.clear();
                start = None;
                blank_ok = false;
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    blank_ok = true;
                }
                if c == escape {
                    // An escape keeps itself and the next character.
                    if let Some((_, next)) = chars.next() {
                        word.push(c);
                        word.push(next);
                    }
                    continue;
                }
                word.push(c);
            }
            Some(q) => {
                if c == q {
                    quote = None;
                }
                if c == escape && q != '\'' {
                    if let Some((_, next)) = chars.next() {
                        word.push(c);
                        word.push(next);
                    }
                    continue;
                }
                word.push(c);
            }
        }
    }
    if let Some(s) = start
        && (blank_ok || !word.is_empty())
    {
        words.push((base + s, word));
    }
    words
}

/// `--name=value` flags at the start of `words`, checked against
/// `allowed`; returns them and the words after them.
fn flags<'a>(
    line: &Line,
    instruction: &'static str,
    words: &'a [Word<'a>],
    allowed: &[&str],
) -> Result<Flags<'a>, ParseError> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut rest = words;
    while let Some(((offset, word), tail)) = rest.split_first() {
        let Some(flag) = word.strip_prefix("--") else {
            break;
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (flag, None),
        };
        let at = line.pos_at(*offset);
        if !allowed.contains(&name) {
            return Err(ParseError::new(
                at,
                Kind::UnknownFlag {
                    instruction,
                    flag: name.to_owned(),
                },
            ));
        }
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return Err(ParseError::new(at, Kind::FlagValue(name.to_owned())));
        };
        if found.iter().any(|(n, _)| n == name) {
            return Err(ParseError::new(at, Kind::DuplicateFlag(name.to_owned())));
        }
        found.push((name.to_owned(), value.to_owned()));
        rest = tail;
    }
    Ok((found, rest))
}

fn flag(flags: &[(String, String)], name: &str) -> Option<String> {
    flags
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// A JSON array of strings, `Ok(None)` if `text` is not a JSON array at
/// all (then it is shell form), an error if it is one of other things.
// ANCHOR: json_array
pub fn json_array(text: &str) -> Result<Option<Vec<String>>, Kind> {
    // TASK 09.2: exec form only for a valid JSON array of strings
    let text = text.trim_start();
    if !text.starts_with('[') {
        return Ok(None);
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(text) else {
        return Ok(None);
    };
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(Kind::NotStringArray),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
    // END TASK 09.2
}
// ANCHOR_END: json_array

/// `name=value …` or the legacy `name value` (ENV, LABEL).
fn pairs(
    line: &Line,
    keyword: &'static str,
    rest: &str,
    base: usize,
    escape: char,
) -> Result<Vec<(String, String)>, ParseError> {
    let words = split_quoted(rest, escape, base);
    let Some((first_at, first)) = words.first() else {
        return Err(ParseError::new(line.start(), Kind::NoArguments(keyword)));
    };
    if !first.contains('=') {
        // Legacy form: one pair, the value is the rest of the line.
        let name_end = rest.find(char::is_whitespace);
        let Some(name_end) = name_end else {
            return Err(ParseError::new(
                line.pos_at(*first_at),
                Kind::LegacyPair(keyword),
            ));
        };
        let value = rest[name_end..].trim();
        return Ok(vec![(rest[..name_end].to_owned(), value.to_owned())]);
    }
    let mut out = Vec::with_capacity(words.len());
    for (at, word) in words {
        let Some((name, value)) = word.split_once('=') else {
            return Err(ParseError::new(line.pos_at(at), Kind::NoEquals(word)));
        };
        if name.is_empty() {
            return Err(ParseError::new(line.pos_at(at), Kind::BlankName(keyword)));
        }
        out.push((name.to_owned(), value.to_owned()));
    }
    Ok(out)
}

/// A command in exec or shell form.
fn command(
    line: &Line,
    keyword: &'static str,
    rest: &str,
    rest_at: usize,
) -> Result<Command, ParseError> {
    if rest.is_empty() {
        return Err(ParseError::new(line.start(), Kind::NoArguments(keyword)));
    }
    match json_array(rest) {
        Ok(Some(args)) => Ok(Command::Exec(args)),
        Ok(None) => Ok(Command::Shell(rest.to_owned())),
        Err(kind) => Err(ParseError::new(line.pos_at(rest_at), kind)),
    }
}

/// A list: a JSON array of strings, or words (COPY, ADD, VOLUME).
fn list(line: &Line, rest: &str, rest_at: usize) -> Result<Vec<(usize, String)>, ParseError> {
    match json_array(rest) {
        Ok(Some(items)) => Ok(items.into_iter().map(|s| (rest_at, s)).collect()),
        Ok(None) => Ok(split_ws(rest, rest_at)
            .into_iter()
            .map(|(at, w)| (at, w.to_owned()))
            .collect()),
        Err(kind) => Err(ParseError::new(line.pos_at(rest_at), kind)),
    }
}

fn is_url(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    ["http://", "https://", "git://", "git@", "ssh://"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// The one edit-distance-1 instruction name `word` may be a typo of.
fn suggestion(word: &str) -> Option<&'static str> {
    fn distance(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for i in 1..=a.len() {
            let mut prev = row[0];
            row[0] = i;
            for j in 1..=b.len() {
                let here = row[j];
                row[j] = (row[j] + 1)
                    .min(row[j - 1] + 1)
                    .min(prev + usize::from(a[i - 1] != b[j - 1]));
                prev = here;
            }
        }
        row[b.len()]
    }
    let upper = word.to_ascii_uppercase();
    KNOWN.iter().copied().find(|k| distance(&upper, k) == 1)
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`: a heredoc, which BuildKit reads from
/// the lines that follow (this parser does not).
fn is_heredoc(word: &str) -> bool {
    word.strip_prefix("<<")
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '"' | '\'' | '_'))
}

/// One logical line to one instruction.
pub fn instruction(line: &Line, escape: char) -> Result<Located, ParseError> {
    let text = line.text.as_str();
    let keyword_end = text.find(char::is_whitespace).unwrap_or(text.len());
    let rest_at =
        keyword_end + (text[keyword_end..].len() - text[keyword_end..].trim_start().len());
    let keyword = &text[..keyword_end];
    if ["RUN", "COPY", "ADD"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(keyword))
        && let Some((at, _)) = split_ws(&text[rest_at..], rest_at)
            .into_iter()
            .find(|(_, w)| is_heredoc(w))
    {
        return Err(ParseError::new(line.pos_at(at), Kind::Heredoc));
    }
    let instruction = arguments(line, keyword, rest_at, escape)?;
    Ok(Located {
        pos: line.start(),
        text: text.to_owned(),
        instruction,
    })
}

/// The instruction named `keyword` (as written), its arguments starting
/// at byte `rest_at` of the line.
// ANCHOR: arguments
fn arguments(
    line: &Line,
    keyword: &str,
    rest_at: usize,
    escape: char,
) -> Result<Instruction, ParseError> {
    let text = line.text.as_str();
    let rest = text[rest_at..].trim_end();
    let start = line.start();
    // TASK 09.2: the instruction from its keyword and arguments
    let words = split_ws(rest, rest_at);
    let upper = keyword.to_ascii_uppercase();
    let instruction = match upper.as_str() {
        "FROM" => {
            let (flags, args) = flags(line, "FROM", &words, &["platform"])?;
            let alias = match args {
                [(_, image)] => (*image, None),
                [(_, image), (_, as_), (at, name)] if as_.eq_ignore_ascii_case("as") => {
                    let name = name.to_ascii_lowercase();
                    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
                        && name.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c)
                        });
                    if !valid {
                        return Err(ParseError::new(line.pos_at(*at), Kind::StageName(name)));
                    }
                    (*image, Some(name))
                }
                _ => return Err(ParseError::new(start, Kind::FromArguments)),
            };
            Instruction::From(From {
                image: alias.0.to_owned(),
                alias: alias.1,
                platform: flag(&flags, "platform"),
            })
        }
        "RUN" | "CMD" | "ENTRYPOINT" => {
            let keyword: &'static str = KNOWN
                .iter()
                .find(|k| **k == upper)
                .copied()
                .unwrap_or("RUN");
            if let Some((at, word)) = words.first()
                && word.starts_with("--")
                && keyword == "RUN"
            {
                return Err(ParseError::new(
                    line.pos_at(*at),
                    Kind::RunFlag(word.split('=').next().unwrap_or(word).to_owned()),
                ));
            }
            let command = command(line, keyword, rest, rest_at)?;
            match keyword {
                "RUN" => Instruction::Run(command),
                "CMD" => Instruction::Cmd(command),
                _ => Instruction::Entrypoint(command),
            }
        }
        "COPY" | "ADD" => {
            let is_add = upper == "ADD";
            let name = if is_add { "ADD" } else { "COPY" };
            let allowed: &[&str] = if is_add {
                &["chown", "chmod"]
            } else {
                &["from", "chown", "chmod"]
            };
            let (flags, args) = flags(line, name, &words, allowed)?;
            let args_at = args.first().map_or(rest.len() + rest_at, |(at, _)| *at);
            let items = list(line, text[args_at.min(text.len())..].trim_end(), args_at)?;
            if items.len() < 2 {
                return Err(ParseError::new(start, Kind::TwoArguments(name)));
            }
            let (dest, sources) = items.split_last().expect("two items or more");
            for (at, source) in sources {
                if is_url(source) {
                    let kind = if is_add {
                        Kind::AddUrl(source.clone())
                    } else {
                        Kind::CopyUrl(source.clone())
                    };
                    return Err(ParseError::new(line.pos_at(*at), kind));
                }
            }
            let copy = Copy {
                from: flag(&flags, "from"),
                chown: flag(&flags, "chown"),
                chmod: flag(&flags, "chmod"),
                sources: sources.iter().map(|(_, s)| s.clone()).collect(),
                dest: dest.1.clone(),
            };
            if is_add {
                Instruction::Add(copy)
            } else {
                Instruction::Copy(copy)
            }
        }
        "ENV" => Instruction::Env(pairs(line, "ENV", rest, rest_at, escape)?),
        "LABEL" => Instruction::Label(pairs(line, "LABEL", rest, rest_at, escape)?),
        "ARG" => {
            let words = split_quoted(rest, escape, rest_at);
            if words.is_empty() {
                return Err(ParseError::new(start, Kind::NoArguments("ARG")));
            }
            let mut args = Vec::with_capacity(words.len());
            for (at, word) in words {
                let (name, default) = match word.split_once('=') {
                    Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                    None => (word, None),
                };
                if name.is_empty() {
                    return Err(ParseError::new(line.pos_at(at), Kind::BlankName("ARG")));
                }
                args.push((name, default));
            }
            Instruction::Arg(args)
        }
        "WORKDIR" | "USER" if rest.is_empty() => {
            let keyword = if upper == "USER" { "USER" } else { "WORKDIR" };
            return Err(ParseError::new(start, Kind::ExactlyOne(keyword)));
        }
        "WORKDIR" => Instruction::Workdir(rest.to_owned()),
        "USER" => match words.as_slice() {
            [(_, user)] => Instruction::User((*user).to_owned()),
            _ => return Err(ParseError::new(start, Kind::ExactlyOne("USER"))),
        },
        "EXPOSE" | "VOLUME" => {
            let is_volume = upper == "VOLUME";
            let items: Vec<String> = if is_volume {
                list(line, rest, rest_at)?
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect()
            } else {
                words.iter().map(|(_, w)| (*w).to_owned()).collect()
            };
            if items.is_empty() {
                return Err(ParseError::new(
                    start,
                    Kind::NoArguments(if is_volume { "VOLUME" } else { "EXPOSE" }),
                ));
            }
            if is_volume {
                Instruction::Volume(items)
            } else {
                Instruction::Expose(items)
            }
        }
        other => {
            if let Some(name) = UNSUPPORTED.iter().find(|u| **u == other) {
                return Err(ParseError::new(start, Kind::Unsupported(name)));
            }
            let word = keyword.to_owned();
            return Err(ParseError::new(
                start,
                Kind::UnknownInstruction {
                    suggestion: suggestion(&word),
                    word,
                },
            ));
        }
    };
    Ok(instruction)
    // END TASK 09.2
}
// ANCHOR_END: arguments
