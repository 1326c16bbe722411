//! What a failing check printed, made readable for a learner.
//!
//! Two things get in the way in libtest's raw output. A snapshot mismatch
//! comes from `insta`, which says "-old snapshot / +new results" (which side
//! is expected?) and "run `cargo insta test`" (a tool the learner does not
//! have): [`tidy`] redraws it as "expected / yours". And the one line that
//! names the problem — the panic message — sits after a `thread '…'
//! panicked at` line and before the detail: [`headline`] finds it, so that
//! `check` can print one short line per failing check before the detail.

/// `output` with each insta snapshot report redrawn as "expected / yours",
/// and insta's own advice and panic location dropped. Anything else is
/// kept as it is.
pub fn tidy(output: &str) -> String {
    let output = strip_ansi(output);
    let lines: Vec<&str> = output.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].contains("Snapshot Summary") {
            let (report, next) = snapshot_report(&lines, i + 1);
            out.extend(report);
            i = next;
        } else {
            out.push(lines[i].to_owned());
            i += 1;
        }
    }
    out.join("\n").trim().to_owned()
}

/// Redraw one insta report that starts at `lines[start]` (just after its
/// "Snapshot Summary" rule). Returns the new lines and where the report
/// ended (after insta's panic message).
fn snapshot_report(lines: &[&str], start: usize) -> (Vec<String>, usize) {
    let mut name = None;
    let mut file = None;
    let mut source = None;
    let mut diff: Vec<(char, &str)> = Vec::new();
    let mut i = start;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if let Some(v) = line.strip_prefix("Snapshot file: ") {
            file = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("Snapshot: ") {
            name = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("Source: ") {
            source = Some(v.trim());
        } else if let Some(entry) = diff_line(line) {
            diff.push(entry);
        } else if line.starts_with("thread '") && line.contains("panicked at") {
            // insta's panic: its location is inside insta, and the next
            // line ("snapshot assertion for 'x' failed in line N") only
            // repeats what the report says.
            if lines
                .get(i)
                .is_some_and(|l| l.starts_with("snapshot assertion"))
            {
                i += 1;
            }
            break;
        }
        // Anything else — rules, "Expression:", "-old snapshot", "+new
        // results", "Stopped on the first failure. Run `cargo insta test`…"
        // — is insta's framing, not the learner's business.
    }
    let name = name.unwrap_or("?");
    let mut out = vec![format!("snapshot `{name}` differs from the expected one")];
    let mut place = file.map(|f| format!("expected: {f}")).unwrap_or_default();
    if let Some(source) = source {
        place.push_str(&format!("; checked at {source}"));
    }
    if !place.is_empty() {
        out.push(format!("({})", place.trim_start_matches("; ")));
    }
    if !diff.iter().any(|(mark, _)| *mark == '-') && diff.iter().any(|(mark, _)| *mark == '+') {
        out.push("(there is no expected snapshot: the file is missing)".to_owned());
    }
    for (mark, text) in diff {
        let label = match mark {
            '-' => "expected │ ",
            '+' => "yours    │ ",
            _ => "         │ ",
        };
        out.push(format!("  {label}{text}"));
    }
    (out, i)
}

/// One line of insta's diff table: `    2       │-line two` is
/// `('-', "line two")`; unchanged lines have the mark `' '`.
fn diff_line(line: &str) -> Option<(char, &str)> {
    let (numbers, rest) = line.split_once('│')?;
    // Left of the bar: up to two line numbers, nothing else.
    if !numbers
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace())
    {
        return None;
    }
    let mut chars = rest.chars();
    let mark = chars.next().unwrap_or(' ');
    match mark {
        '-' | '+' | ' ' => Some((mark, chars.as_str())),
        _ => Some((' ', rest)),
    }
}

/// The one line that says what went wrong: the first line of the panic
/// message (after `thread '…' panicked at …:`), or else the first line
/// that is not libtest's or Rust's framing. A bare `assert_eq!` failure
/// gets its two values, so that even the short line says something.
pub fn headline(output: &str) -> String {
    let lines: Vec<&str> = output.lines().map(str::trim_end).collect();
    let after_panic = lines
        .iter()
        .position(|l| l.starts_with("thread '") && l.contains("panicked at"))
        .and_then(|i| lines.get(i + 1..))
        .and_then(|rest| rest.iter().find(|l| !l.trim().is_empty()));
    let first = after_panic.or_else(|| {
        lines
            .iter()
            .find(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
    });
    let Some(first) = first else {
        return "(it printed nothing)".to_owned();
    };
    let mut line = first.trim().to_owned();
    if line.starts_with("assertion `left") && line.ends_with("failed") {
        let value = |side: &str| {
            lines
                .iter()
                .find_map(|l| l.trim_start().strip_prefix(side))
                .map(str::trim)
        };
        if let (Some(left), Some(right)) = (value("left:"), value("right:")) {
            line = format!("{line} (left: {left}, right: {right})");
        }
    }
    shorten(&line, 150)
}

fn shorten(line: &str, max: usize) -> String {
    if line.chars().count() <= max {
        return line.to_owned();
    }
    let cut: String = line.chars().take(max - 1).collect();
    format!("{cut}…")
}

/// Drop terminal colour codes (`ESC [ … m`), which insta may print.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What insta 1.49 prints for a mismatch under `INSTA_UPDATE=no`.
    const INSTA: &str = "\
━━━━━━━━━━━━ Snapshot Summary ━━━━━━━━━━━━
Snapshot file: tests/snapshots/checks__exit.snap
Snapshot: exit
Source: tests/checks.rs:12
────────────────────────────────────────────
Expression: \"line one\\nline two changed\\nthree\"
────────────────────────────────────────────
-old snapshot
+new results
────────────┬───────────────────────────────
    1     1 │ line one
    2       │-line two
          2 │+line two changed
    3     3 │ three
────────────┴───────────────────────────────
Stopped on the first failure. Run `cargo insta test` to run all snapshots.

thread 't01_1_snap' (27001) panicked at /root/.cargo/registry/src/x/insta-1.49.0/src/runtime.rs:734:13:
snapshot assertion for 'exit' failed in line 12";

    #[test]
    fn a_snapshot_mismatch_reads_expected_and_yours() {
        let tidy = tidy(INSTA);
        assert_eq!(
            tidy,
            "snapshot `exit` differs from the expected one\n\
             (expected: tests/snapshots/checks__exit.snap; checked at tests/checks.rs:12)\n  \
             \x20        │ line one\n  \
             expected │ line two\n  \
             yours    │ line two changed\n  \
             \x20        │ three"
        );
        assert!(!tidy.contains("cargo insta"));
        assert_eq!(
            headline(&tidy),
            "snapshot `exit` differs from the expected one"
        );
    }

    #[test]
    fn other_output_is_kept() {
        let out = "thread 't' (1) panicked at tests/checks.rs:3:5:\nboom\nmore";
        assert_eq!(tidy(out), out);
        assert_eq!(tidy("\x1b[31mred\x1b[0m"), "red");
    }

    #[test]
    fn the_headline_is_the_panic_message() {
        let eq = "\nthread 't01_8' (9) panicked at tests/checks.rs:2:24:\n\
                  assertion `left == right` failed\n  left: 127\n right: 126\n\
                  note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";
        assert_eq!(
            headline(eq),
            "assertion `left == right` failed (left: 127, right: 126)"
        );
        let named = "thread 't' (9) panicked at a.rs:1:1:\n\
                     assertion `left == right` failed: exit code of a missing program\n  left: 127";
        assert_eq!(
            headline(named),
            "assertion `left == right` failed: exit code of a missing program"
        );
        assert_eq!(
            headline("the test binary ran over 10s"),
            "the test binary ran over 10s"
        );
        assert_eq!(headline(""), "(it printed nothing)");
        assert!(headline(&"x".repeat(400)).ends_with('…'));
    }
}
