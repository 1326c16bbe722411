//! The checks of lab 09. Each is named `t09_K_…` after the task it checks.
//!
//! Everything here is a pure function of text and files, so the checks
//! call the library (and once the binary) without root. Each check is
//! written against a plausible wrong version of its task, named in its
//! comment: continuation lines joined with a space or trimmed, the
//! escape directive ignored, `${VAR:-x}` read as `${VAR}`, `["a",]`
//! taken for exec form, an ARG before FROM leaking into a stage, a cache
//! key made of modification times… Values a learner could hard-code are
//! random.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use build::ast::{Command, Instruction};
use build::cache::{Digest, keys};
use build::config::{ImageConfig, StageConfig, argv, with_shell};
use build::context::Context;
use build::ignore::Matcher;
use build::lines::logical_lines;
use build::plan::{Base, BuildOptions, Op, Plan, Source, plan};
use build::subst::expand;
use kit::{DEADLINE, insta, random};

const BINARY: &str = env!("CARGO_BIN_EXE_dockyard-09");

// ------------------------------------------------------------- helpers

fn texts(source: &str) -> Vec<String> {
    let (_, lines) = logical_lines(source).unwrap_or_else(|e| panic!("{source:?} must read: {e}"));
    lines.into_iter().map(|l| l.text).collect()
}

fn parsed(source: &str) -> Vec<Instruction> {
    build::parse(source)
        .unwrap_or_else(|e| panic!("this Containerfile must parse: {e}\n{source}"))
        .instructions
        .into_iter()
        .map(|l| l.instruction)
        .collect()
}

fn parse_error(source: &str) -> String {
    match build::parse(source) {
        Ok(tree) => panic!("this Containerfile must be refused, it parsed as {tree:?}:\n{source}"),
        Err(e) => e.to_string(),
    }
}

fn planned(source: &str, args: &[(&str, &str)], target: Option<&str>) -> Plan {
    let file = build::parse(source).unwrap_or_else(|e| panic!("must parse: {e}\n{source}"));
    let options = BuildOptions {
        build_args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        target: target.map(str::to_owned),
    };
    plan(&file, &options).unwrap_or_else(|e| panic!("must plan: {e}\n{source}"))
}

/// The last LABEL value of `name` in the target stage.
fn label(plan: &Plan, name: &str) -> Option<String> {
    let mut found = None;
    for step in &plan.stages[plan.target].steps {
        if let Op::Label(pairs) = &step.op {
            for (k, v) in pairs {
                if k == name {
                    found = Some(v.clone());
                }
            }
        }
    }
    found
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sub(word: &str, vars: &BTreeMap<String, String>) -> String {
    expand(word, '\\', &|n| vars.get(n).cloned())
        .unwrap_or_else(|e| panic!("{word:?} must expand: {e}"))
        .value
}

/// A random printable input biased towards the characters that matter
/// to a Containerfile's syntax.
fn noise(len: usize) -> String {
    const PIECES: &[&str] = &[
        "FROM ",
        "RUN ",
        "COPY ",
        "ADD ",
        "ENV ",
        "ARG ",
        "CMD ",
        "ENTRYPOINT ",
        "LABEL ",
        "VOLUME ",
        "EXPOSE ",
        "USER ",
        "WORKDIR ",
        " AS ",
        "--from=",
        "--chown=",
        "--x",
        "scratch",
        "\\",
        "`",
        "\n",
        "\r\n",
        " ",
        "\t",
        "#",
        "# escape=`\n",
        "# escape=\\\n",
        "=",
        "$",
        "${",
        "}",
        ":-",
        ":+",
        "-",
        "+",
        "\"",
        "'",
        "[",
        "]",
        ",",
        "\"a\"",
        "é",
        "\u{feff}",
        "0",
        "a",
        "Z",
        "http://x",
        "..",
        "/",
        "*",
    ];
    (0..len)
        .map(|_| PIECES[fastrand::usize(..PIECES.len())])
        .collect()
}

/// A context directory: `files` as (path, content).
fn context_dir(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let full = root.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, content).unwrap();
    }
}

fn plan_keys(dir: &Path, source: &str, args: &[(&str, &str)]) -> Vec<Digest> {
    let plan = planned(source, args, None);
    let context = Context::open(dir, None).expect("open the context");
    let keys = keys(&plan, &context).unwrap_or_else(|e| panic!("keys: {e}"));
    plan.order.iter().flat_map(|&i| keys[i].clone()).collect()
}

/// The first index where two key lists differ (`len` if none).
fn first_change(a: &[Digest], b: &[Digest]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len())
}

// ------------------------------------------------------------- 09.1

/// Wrong code this catches: lines joined with a space, the next line's
/// indentation trimmed, the backslash kept, trailing blanks after the
/// backslash not seen, a comment or blank line ending the instruction,
/// `#` mid-line taken for a comment, CRLF left in.
#[test]
fn t09_1_continuation_lines_join_as_buildkit_does() {
    let word = random::token(6);
    let source = format!(
        "FROM scratch\r\n\
         RUN echo {word}\\\r\n\
         done\r\n\
         RUN a \\\n    b\n\
         RUN c \\  \t\n\
         # a comment inside the instruction\n\
         \n\
         \td\n\
         RUN echo x # not a comment\n   \n  # indented comment\n\
         LABEL k=v\\"
    );
    assert_eq!(
        texts(&source),
        [
            "FROM scratch".to_owned(),
            format!("RUN echo {word}done"),
            "RUN a     b".to_owned(),
            "RUN c \td".to_owned(),
            "RUN echo x # not a comment".to_owned(),
            "LABEL k=v".to_owned(),
        ],
        "the escape character and the blanks after it go, the next line is appended as it is \
         (no space added, indentation kept), comment and blank lines inside are skipped"
    );
    // Positions survive the joining: 'd' is on line 9, after a tab.
    let (_, lines) = logical_lines(&source).unwrap();
    let line = &lines[3];
    let at = line.text.find('d').unwrap();
    assert_eq!(
        line.pos_at(at).to_string(),
        "9:2",
        "Line::pos_at of the 'd' of {:?}",
        line.text
    );
    assert_eq!(lines[1].start().to_string(), "2:1");
}

/// Wrong code this catches: the escape directive ignored, read after a
/// comment, or case-sensitive; duplicates accepted.
#[test]
fn t09_1_the_escape_directive_changes_the_continuation_character() {
    let dir = format!("C:\\{}\\", random::token(5));
    let source = format!("# ESCAPE = `\nFROM scratch\nWORKDIR {dir}\nRUN echo a`\n  b\n");
    let (directives, lines) = logical_lines(&source).unwrap();
    assert_eq!(
        directives.escape, '`',
        "`# ESCAPE = \\`` is the escape directive (names are case-insensitive)"
    );
    let got: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    let workdir = format!("WORKDIR {dir}");
    assert_eq!(
        got,
        ["FROM scratch", workdir.as_str(), "RUN echo a  b"],
        "with escape=` a trailing \\ is a plain character and ` continues the line"
    );

    let late = "# a comment first\n# escape=`\nFROM scratch\nRUN a \\\n b\n";
    let (directives, lines) = logical_lines(late).unwrap();
    assert_eq!(
        directives.escape, '\\',
        "a directive after a comment is a comment"
    );
    assert_eq!(lines[1].text, "RUN a  b");

    let blank = "\n# escape=`\nFROM scratch\n";
    assert_eq!(
        logical_lines(blank).unwrap().0.escape,
        '\\',
        "a directive after a blank line is a comment"
    );

    let twice = "# escape=`\n# escape=\\\nFROM scratch\n";
    let err = logical_lines(twice).expect_err("two escape directives must be refused");
    assert_eq!(
        err.to_string(),
        "Containerfile:2:3: only one escape parser directive can be used"
    );

    let bad = "#escape=x\nFROM scratch\n";
    let err = logical_lines(bad).expect_err("escape=x must be refused");
    assert!(
        err.to_string().starts_with("Containerfile:1:9: "),
        "the column of the value: {err}"
    );
}

// ------------------------------------------------------------- 09.2

/// Wrong code this catches: `["a",]` or `['a']` taken for exec form
/// (Docker runs them with the shell), a JSON array of numbers accepted.
#[test]
fn t09_2_exec_form_only_for_a_json_array_of_strings() {
    let word = random::token(5);
    let got = parsed(&format!(
        "FROM scratch\nCMD [\"echo\", \"{word}\"]\nCMD [\"echo\", \"{word}\",]\nRUN ['echo']\n\
         ENTRYPOINT   echo $HOME  \nRUN [\"a\\\"b\"]\n"
    ));
    assert_eq!(
        got[1],
        Instruction::Cmd(Command::Exec(vec!["echo".into(), word.clone()]))
    );
    assert_eq!(
        got[2],
        Instruction::Cmd(Command::Shell(format!("[\"echo\", \"{word}\",]"))),
        "a trailing comma is not JSON: Docker takes the text as shell form"
    );
    assert_eq!(
        got[3],
        Instruction::Run(Command::Shell("['echo']".into())),
        "single quotes are not JSON"
    );
    assert_eq!(
        got[4],
        Instruction::Entrypoint(Command::Shell("echo $HOME".into()))
    );
    assert_eq!(
        got[5],
        Instruction::Run(Command::Exec(vec!["a\"b".into()])),
        "JSON escapes are decoded"
    );
    let err = parse_error("FROM scratch\nCMD [1, 2]\n");
    assert!(err.contains("2:5") && err.contains("strings only"), "{err}");
}

/// Wrong code this catches: stage names kept in their case, ENV's legacy
/// form split into words, quotes dropped too early, flags taken for
/// sources.
#[test]
fn t09_2_instructions_become_a_typed_tree() {
    let name = random::token(6);
    let value = format!("{} {}", random::token(4), random::token(4));
    let source = format!(
        "ARG BASE=busybox\n\
         from ${{BASE}} As {upper}\n\
         ENV PATH_{name}  {value}\n\
         ENV A=\"{value}\" B=c\\ d\n\
         LABEL \"k 1\"=v\n\
         COPY --from={name} --chown=1:2 a b /dst/\n\
         ADD [\"x y\", \"/z\"]\n\
         ARG X Y=1\n\
         EXPOSE 80 53/udp\n\
         VOLUME [\"/data\", \"/logs\"]\n\
         VOLUME /a /b\n\
         USER {name}:{name}\n\
         WORKDIR /srv/$X\n",
        upper = name.to_uppercase()
    );
    let got = parsed(&source);
    let Instruction::From(from) = &got[1] else {
        panic!("{:?}", got[1])
    };
    assert_eq!(
        from.image, "${BASE}",
        "substitution is not the parser's job"
    );
    assert_eq!(
        from.alias.as_deref(),
        Some(name.as_str()),
        "stage names are lowercased"
    );
    assert_eq!(
        got[2],
        Instruction::Env(vec![(format!("PATH_{name}"), value.clone())]),
        "legacy ENV: the rest of the line"
    );
    assert_eq!(
        got[3],
        Instruction::Env(vec![
            ("A".into(), format!("\"{value}\"")),
            ("B".into(), "c\\ d".into())
        ]),
        "name=value pairs split outside quotes, quotes and escapes kept for substitution"
    );
    assert_eq!(
        got[4],
        Instruction::Label(vec![("\"k 1\"".into(), "v".into())])
    );
    let Instruction::Copy(copy) = &got[5] else {
        panic!("{:?}", got[5])
    };
    assert_eq!(copy.from.as_deref(), Some(name.as_str()));
    assert_eq!(copy.chown.as_deref(), Some("1:2"));
    assert_eq!(
        (copy.sources.clone(), copy.dest.as_str()),
        (vec!["a".to_owned(), "b".to_owned()], "/dst/")
    );
    let Instruction::Add(add) = &got[6] else {
        panic!("{:?}", got[6])
    };
    assert_eq!(
        (add.sources.clone(), add.dest.as_str()),
        (vec!["x y".to_owned()], "/z")
    );
    assert_eq!(
        got[7],
        Instruction::Arg(vec![("X".into(), None), ("Y".into(), Some("1".into()))])
    );
    assert_eq!(
        got[8],
        Instruction::Expose(vec!["80".into(), "53/udp".into()])
    );
    assert_eq!(
        got[9],
        Instruction::Volume(vec!["/data".into(), "/logs".into()])
    );
    assert_eq!(got[10], Instruction::Volume(vec!["/a".into(), "/b".into()]));
    assert_eq!(got[11], Instruction::User(format!("{name}:{name}")));
    assert_eq!(got[12], Instruction::Workdir("/srv/$X".into()));
}

/// Errors name the line and the column, and say what is wrong.
#[test]
fn t09_2_errors_name_the_line_and_column() {
    let cases = [
        "",
        "# only a comment\n",
        "RUN echo before any FROM\n",
        "FROM scratch\nRUNN echo\n",
        "FROM scratch\nFOO bar\n",
        "FROM scratch\nSHELL [\"/bin/bash\"]\n",
        "FROM a b\n",
        "FROM busybox AS 1st\n",
        "FROM scratch\nCOPY onlyone\n",
        "FROM scratch\nCOPY --form=x a b\n",
        "FROM scratch\nCOPY --from a b\n",
        "FROM scratch\n  ADD   https://example.com/x.tgz /\n",
        "FROM scratch\nENV A=1 B\n",
        "FROM scratch\nENV =1\n",
        "FROM scratch\nENV ALONE\n",
        "FROM scratch\nRUN --mount=type=cache,target=/x make\n",
        "FROM scratch\nCMD\n",
        "FROM scratch\nUSER a b\n",
        "FROM scratch\nRUN cat <<EOF > /x\nhello\nEOF\n",
        "FROM scratch\nRUN echo \\\n  [\\\n  1]\nCMD [\"a\", {}]\n",
    ];
    let mut out = String::new();
    for case in cases {
        let err = build::parse(case).expect_err(case);
        out.push_str(&format!("{case:?}\n  => {err}\n"));
    }
    insta::assert_snapshot!(out);
}

/// The parser never panics: a few thousand random inputs made of the
/// characters that matter. Each either parses or gives an error whose
/// position is inside the input.
#[test]
fn t09_2_the_parser_never_panics() {
    for round in 0..4000 {
        let input = noise(fastrand::usize(1..40));
        let result = std::panic::catch_unwind(|| build::parse(&input));
        match result {
            Err(_) => panic!("round {round}: the parser panicked on {input:?}"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let lines = input.split('\n').count();
                assert!(
                    e.pos.line >= 1 && e.pos.line <= lines && e.pos.col >= 1,
                    "round {round}: error {e} points outside the input {input:?}"
                );
            }
        }
    }
}

// ------------------------------------------------------------- 09.3

/// Wrong code this catches: `${A:-x}` or `${A:+x}` read as `${A}`, the
/// colon forms not treating empty as unset, quotes not removed, `'…'`
/// substituted, an escaped `$` substituted, the used names not recorded.
#[test]
fn t09_3_substitution_follows_the_shell_rules() {
    let (a, b, d) = (random::token(5), random::token(5), random::token(5));
    let set = vars(&[("A", &a), ("B", &b), ("E", "")]);
    let cases: Vec<(String, String)> = vec![
        ("$A".into(), a.clone()),
        ("${A}x".into(), format!("{a}x")),
        ("$A$B".into(), format!("{a}{b}")),
        ("pre-$NOPE-post".into(), "pre--post".into()),
        (format!("${{A:-{d}}}"), a.clone()),
        (format!("${{NOPE:-{d}}}"), d.clone()),
        (format!("${{E:-{d}}}"), d.clone()),
        (format!("${{E-{d}}}"), String::new()),
        (format!("${{NOPE-{d}}}"), d.clone()),
        (format!("${{A:+{d}}}"), d.clone()),
        (format!("${{E:+{d}}}"), String::new()),
        (format!("${{E+{d}}}"), d.clone()),
        (format!("${{NOPE:+{d}}}"), String::new()),
        ("${NOPE:-$B}".into(), b.clone()),
        ("${NOPE:-\"$A x\"}".into(), format!("{a} x")),
        ("'$A'".into(), "$A".into()),
        ("\"$A\"".into(), a.clone()),
        ("\"a\\\"b\\$A\\n\"".into(), "a\"b$A\\n".into()),
        ("\\$A".into(), "$A".into()),
        ("a\\ b".into(), "a b".into()),
        ("$".into(), "$".into()),
        ("cost: $5".into(), "cost: ".into()),
        ("${A}${B:-x}".into(), format!("{a}{b}")),
    ];
    for (word, want) in &cases {
        assert_eq!(
            &sub(word, &set),
            want,
            "substituting {word:?} with A={a:?} B={b:?} E=\"\" and NOPE unset"
        );
    }
    let used = expand("${NOPE:-$B} '$Q' $A", '\\', &|n| set.get(n).cloned())
        .unwrap()
        .used;
    let used: Vec<&str> = used.iter().map(String::as_str).collect();
    assert_eq!(
        used,
        ["A", "B", "NOPE"],
        "the names looked up (none inside single quotes)"
    );
    // With escape=` a backslash is a character.
    let backtick = expand("C:\\dir `$A", '`', &|n| set.get(n).cloned())
        .unwrap()
        .value;
    assert_eq!(backtick, "C:\\dir $A");
}

/// Wrong code this catches: a missing `}` or quote accepted, an unknown
/// modifier silently read as `${A}`, a panic on `${` at the end.
#[test]
fn t09_3_bad_substitutions_are_errors() {
    let empty: BTreeMap<String, String> = BTreeMap::new();
    for (word, says) in [
        ("${A", "missing '}'"),
        ("${A:-x", "missing '}'"),
        ("${A:?x}", "unsupported modifier"),
        ("${A%x}", "unsupported modifier"),
        ("${}", "needs a variable name"),
        ("${", "needs a variable name"),
        ("\"abc", "double-quote"),
        ("'abc", "single-quote"),
    ] {
        match expand(word, '\\', &|n| empty.get(n).cloned()) {
            Ok(e) => panic!("{word:?} must be an error, it gave {:?}", e.value),
            Err(e) => assert!(
                e.to_string().contains(says),
                "{word:?}: {e} (expected it to say {says:?})"
            ),
        }
    }
    for round in 0..4000 {
        let input = noise(fastrand::usize(1..20));
        if std::panic::catch_unwind(|| expand(&input, '\\', &|_| Some("v".into()))).is_err() {
            panic!("round {round}: expand panicked on {input:?}");
        }
    }
}

// ------------------------------------------------------------- 09.4

/// Wrong code this catches: an ARG before FROM visible inside the stage,
/// FROM not seeing it, `ARG NAME` inside not taking the global's value.
#[test]
fn t09_4_an_arg_before_from_reaches_only_from_lines() {
    let (v, base) = (random::token(6), random::token(6));
    let leak = format!("ARG V={v}\nARG BASE={base}\nFROM ${{BASE}}\nLABEL v=${{V:-unset}}\n");
    let plan = planned(&leak, &[], None);
    assert_eq!(
        plan.stages[0].base,
        Base::Image(base.clone()),
        "FROM ${{BASE}} uses the global ARG"
    );
    assert_eq!(
        label(&plan, "v").as_deref(),
        Some("unset"),
        "an ARG before the first FROM is not in scope inside the stage"
    );
    let brought =
        format!("ARG V={v}\nFROM scratch\nARG V\nLABEL v=$V\nFROM scratch\nLABEL v=${{V:-gone}}\n");
    let plan = planned(&brought, &[], None);
    assert_eq!(
        plan.stages[0].steps[1].op,
        Op::Label(vec![("v".into(), v.clone())]),
        "`ARG V` brings the global value in"
    );
    assert_eq!(
        label(&plan, "v").as_deref(),
        Some("gone"),
        "an ARG's scope ends at the next FROM"
    );
    let given = random::token(6);
    let plan = planned(&brought, &[("V", &given)], None);
    assert_eq!(
        plan.stages[0].steps[1].op,
        Op::Label(vec![("v".into(), given)]),
        "--build-arg wins over the global default"
    );
}

/// Wrong code this catches: a default winning over `--build-arg`, ARG
/// winning over ENV, RUN not given the ARGs in scope, undeclared
/// build-args consumed, ENV pairs seeing each other.
#[test]
fn t09_4_build_args_defaults_env_and_run() {
    let (x, y) = (random::token(5), random::token(5));
    let source = "FROM scratch\nARG A=default\nARG B\nENV C=env\nARG C=arg\nENV D=1 E=$D\nENV D=2 F=$D\n\
                  LABEL a=$A b=${B:-none} c=$C\nRUN true\n";
    let plan = planned(source, &[("A", &x), ("UNUSED", &y)], None);
    let steps = &plan.stages[0].steps;
    assert_eq!(
        steps[6].op,
        Op::Label(vec![
            ("a".into(), x.clone()),
            ("b".into(), "none".into()),
            ("c".into(), "env".into())
        ]),
        "--build-arg beats a default; an ARG without value or build-arg is empty; ENV beats ARG"
    );
    assert_eq!(
        steps[4].op,
        Op::Env(vec![("D".into(), "1".into()), ("E".into(), String::new())]),
        "ENV pairs see the ENV before the line"
    );
    assert_eq!(
        steps[5].op,
        Op::Env(vec![("D".into(), "2".into()), ("F".into(), "1".into())])
    );
    let Op::Run { env, .. } = &steps[7].op else {
        panic!("{:?}", steps[7].op)
    };
    assert_eq!(
        env,
        &vec![
            ("A".to_owned(), x.clone()),
            ("C".to_owned(), "arg".to_owned())
        ],
        "RUN gets the ARGs in scope that have a value, in order"
    );
    assert_eq!(
        plan.unused_args,
        ["UNUSED"],
        "a --build-arg no ARG declares is reported"
    );
}

/// Wrong code this catches: `--target` ignored, stages the target does
/// not need built, `--from=0` not resolved, ENV not inherited by
/// `FROM stage`, cycles accepted.
#[test]
fn t09_4_stages_target_and_order() {
    let word = random::token(6);
    let source = format!(
        "FROM busybox AS base\nENV W={word}\nFROM base AS build\nRUN make\nFROM scratch AS unused\n\
         FROM scratch AS final\nCOPY --from=build /out /\nCOPY --from=0 /etc /etc\nCOPY --from=alpine /x /\nLABEL w=${{W:-no}}\n\
         FROM build AS test\nLABEL w=$W\n"
    );
    let plan = planned(&source, &[], Some("final"));
    assert_eq!(plan.target, 3);
    assert_eq!(
        plan.order,
        [0, 1, 3],
        "the target after the stages it needs; the unused one not built"
    );
    let froms: Vec<&Source> = plan.stages[3]
        .steps
        .iter()
        .filter_map(|s| match &s.op {
            Op::Copy { from, .. } => Some(from),
            _ => None,
        })
        .collect();
    assert_eq!(
        froms,
        [
            &Source::Stage(1),
            &Source::Stage(0),
            &Source::Image("alpine".into())
        ]
    );
    assert_eq!(
        label(&plan, "w").as_deref(),
        Some("no"),
        "ENV does not cross into an unrelated stage"
    );
    let plan = planned(&source, &[], None);
    assert_eq!(
        (plan.target, plan.order.clone()),
        (4, vec![0, 1, 4]),
        "default target: the last stage"
    );
    assert_eq!(
        label(&plan, "w").as_deref(),
        Some(word.as_str()),
        "FROM a stage inherits its ENV"
    );

    let mut out = String::new();
    for (case, target) in [
        ("FROM scratch AS a\nFROM scratch AS a\n", None),
        ("FROM scratch AS a\n", Some("b")),
        ("FROM scratch AS a\nCOPY --from=a /x /y\n", None),
        ("FROM scratch\nCOPY --from=3 /x /y\n", None),
        ("ARG B\nFROM $B\n", None),
        ("FROM scratch\nLABEL a=${X\n", None),
    ] {
        let file = build::parse(case).unwrap();
        let options = BuildOptions {
            build_args: BTreeMap::new(),
            target: target.map(str::to_owned),
        };
        let err = build::plan::plan(&file, &options).expect_err(case);
        out.push_str(&format!("{case:?} target={target:?}\n  => {err}\n"));
    }
    insta::assert_snapshot!(out);
    // Planning never panics on what parses.
    for round in 0..3000 {
        let input = noise(fastrand::usize(1..40));
        if let Ok(file) = build::parse(&input) {
            let result =
                std::panic::catch_unwind(|| build::plan::plan(&file, &BuildOptions::default()));
            assert!(result.is_ok(), "round {round}: plan panicked on {input:?}");
        }
    }
}

// ------------------------------------------------------------- 09.5

/// Wrong code this catches: gitignore semantics (`*.md` matching in
/// subdirectories), `*` crossing `/`, parents not checked, the first
/// match deciding instead of the last, `**` requiring a directory.
#[test]
fn t09_5_dockerignore_patterns_match_as_docker_does() {
    let dir = random::token(5);
    let cases: Vec<(String, &str, bool)> = vec![
        ("*.md".into(), "README.md", true),
        ("*.md".into(), "docs/a.md", false),
        ("**/*.md".into(), "docs/x/a.md", true),
        ("**/*.md".into(), "a.md", true),
        (dir.clone(), &*format!("{dir}/x/y").leak(), true),
        (format!("{dir}/*"), &*format!("{dir}/x/y").leak(), true),
        ("*/temp*".into(), "a/temporary", true),
        ("*/temp*".into(), "a/b/temporary", false),
        ("temp?".into(), "temp1", true),
        ("temp?".into(), "temp/", false),
        ("[a-c]x".into(), "bx", true),
        ("[^a-c]x".into(), "bx", false),
        ("a/**/z".into(), "a/z", true),
        ("a/**/z".into(), "a/b/c/z", true),
        ("a/**".into(), "a/b/c", true),
        ("*.md\n!README.md".into(), "README.md", false),
        ("!README.md\n*.md".into(), "README.md", true),
        ("docs\n!docs/keep".into(), "docs/keep", false),
        ("docs\n!docs/keep".into(), "docs/other", true),
        ("docs\n!docs/keep\ndocs/keep".into(), "docs/keep", true),
        ("/a//b/./c/".into(), "a/b/c/d", true),
        ("  # not a comment".into(), "# not a comment", true),
        ("# a comment\n\n".into(), "# a comment", false),
        ("\\*".into(), "*", true),
        ("\\*".into(), "x", false),
    ];
    // Any pattern, however broken, is read and matched without panicking.
    for round in 0..3000 {
        let patterns = noise(fastrand::usize(1..12));
        let path = noise(fastrand::usize(1..8));
        let result = std::panic::catch_unwind(|| Matcher::parse(&patterns).excluded(&path));
        assert!(
            result.is_ok(),
            "round {round}: .dockerignore {patterns:?} panicked on {path:?}"
        );
    }
    for (patterns, path, want) in &cases {
        let matcher = Matcher::parse(patterns);
        assert_eq!(
            matcher.excluded(path),
            *want,
            ".dockerignore {patterns:?}: is {path:?} excluded? (Docker says {want})"
        );
    }
}

/// The context walk keeps what is not excluded, and the directories that
/// hold an exception.
#[test]
fn t09_5_the_context_leaves_out_what_is_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let keep = format!("{}.txt", random::token(5));
    context_dir(
        tmp.path(),
        &[
            (".dockerignore", "*.log\nbuild\n!build/keep\n"),
            ("Containerfile", "FROM scratch\n"),
            (&keep, "a"),
            ("x.log", "b"),
            ("build/out", "c"),
            ("build/keep", "d"),
            ("src/app.log", "e"),
        ],
    );
    let context = Context::open(tmp.path(), None).unwrap();
    let entries = context.entries().unwrap();
    let mut want: Vec<String> = vec![
        ".dockerignore".into(),
        "Containerfile".into(),
        "build".into(),
        "build/keep".into(),
        keep,
        "src".into(),
        "src/app.log".into(),
    ];
    want.sort();
    assert_eq!(
        entries, want,
        "`*.log` is only at the top; `build` goes but its exception stays"
    );
    // A Containerfile.dockerignore next to -f wins over .dockerignore.
    fs::write(tmp.path().join("Containerfile.dockerignore"), "src\n").unwrap();
    let context = Context::open(tmp.path(), Some(&tmp.path().join("Containerfile"))).unwrap();
    assert!(context.entries().unwrap().contains(&"x.log".to_owned()));
}

// ------------------------------------------------------------- 09.6

const CACHED_FILE: &str =
    "FROM busybox\nENV A=1\nRUN echo one\nCOPY src/ /src/\nRUN echo two\nCMD [\"sh\"]\n";

/// Wrong code this catches: a key made of modification times or of the
/// owner, a key without the parent (a change not reaching later steps),
/// content not hashed, mode bits left out, an ignored file counted.
#[test]
fn t09_6_a_changed_source_invalidates_its_step_and_every_later_one() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let content = random::token(12);
    context_dir(
        dir,
        &[
            ("src/a", &content),
            ("src/b/c", "c"),
            ("src/skip.tmp", "x"),
            (".dockerignore", "**/*.tmp\n"),
        ],
    );
    let before = plan_keys(dir, CACHED_FILE, &[]);
    assert_eq!(before.len(), 6);
    assert_eq!(
        before,
        plan_keys(dir, CACHED_FILE, &[]),
        "the same context gives the same keys"
    );

    // New modification times, same content: every step is cached.
    let file = fs::File::options()
        .write(true)
        .open(dir.join("src/a"))
        .unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(fastrand::u64(100..100_000)))
        .unwrap();
    drop(file);
    assert_eq!(
        plan_keys(dir, CACHED_FILE, &[]),
        before,
        "touching a file changes no key: keys are made of content"
    );

    // An ignored file changes: nothing does.
    fs::write(dir.join("src/skip.tmp"), random::token(8)).unwrap();
    assert_eq!(
        plan_keys(dir, CACHED_FILE, &[]),
        before,
        "a file .dockerignore excludes is not part of any key"
    );

    // The content changes: COPY (step 4, index 3) and every step after it.
    fs::write(dir.join("src/b/c"), random::token(8)).unwrap();
    let after = plan_keys(dir, CACHED_FILE, &[]);
    assert_eq!(
        first_change(&before, &after),
        3,
        "the COPY's key is the first to change"
    );
    assert!(
        after[3..].iter().zip(&before[3..]).all(|(a, b)| a != b),
        "…and every key after it changes"
    );

    // Mode bits are content too.
    let mut perms = fs::metadata(dir.join("src/a")).unwrap().permissions();
    perms.set_mode(perms.mode() ^ 0o111);
    fs::set_permissions(dir.join("src/a"), perms).unwrap();
    let chmodded = plan_keys(dir, CACHED_FILE, &[]);
    assert_eq!(
        first_change(&after, &chmodded),
        3,
        "chmod +x changes what COPY makes"
    );
}

/// Wrong code this catches: every build-arg hashed into every key, the
/// unsubstituted text hashed (a changed build-arg a COPY uses missed),
/// RUN not depending on the ARGs in scope, an edit not reaching later
/// stages through COPY --from.
#[test]
fn t09_6_keys_follow_the_parent_chain_and_the_args_a_step_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (one, two) = (random::token(5), random::token(5));
    context_dir(dir, &[(&one, "1"), (&two, "2")]);
    let source = "FROM busybox AS b\nARG SRC\nARG OTHER\nCOPY ${SRC} /x\nLABEL l=1\nRUN true\n\
                  FROM scratch\nCOPY --from=b /x /x\n";
    let base = plan_keys(dir, source, &[("SRC", &one), ("OTHER", "a")]);
    let other = plan_keys(dir, source, &[("SRC", &one), ("OTHER", "b")]);
    // Keys: 0 FROM, 1 ARG SRC, 2 ARG OTHER, 3 COPY, 4 LABEL, 5 RUN, 6 FROM scratch, 7 COPY --from.
    assert_eq!(
        first_change(&base, &other),
        2,
        "ARG OTHER's own step holds its value"
    );
    let src = plan_keys(dir, source, &[("SRC", &two), ("OTHER", "a")]);
    assert_eq!(first_change(&base, &src), 1);
    assert_ne!(
        base[3], src[3],
        "COPY ${{SRC}} with another SRC is another step"
    );
    assert_eq!(base[6], src[6], "FROM scratch starts the same");
    assert_ne!(base[7], src[7], "COPY --from=b depends on stage b's result");

    // An arg a step does not use leaves it alone — compare the chains from the same parent.
    let parse = |s: &str| planned(s, &[("SRC", &one), ("OTHER", "a")], None);
    let with_other = parse(source);
    let p = build::cache::sha256(b"parent");
    let copy = &with_other.stages[0].steps[2];
    let without = parse(&source.replace("ARG OTHER\n", ""));
    assert_eq!(
        build::cache::step_key(&p, copy, None),
        build::cache::step_key(&p, &without.stages[0].steps[1], None),
        "COPY ${{SRC}} does not use OTHER: same key after the same parent"
    );
    let run = &with_other.stages[0].steps[4];
    assert_ne!(
        build::cache::step_key(&p, run, None),
        build::cache::step_key(&p, &without.stages[0].steps[3], None),
        "RUN's environment holds every ARG in scope: OTHER is part of its key"
    );
    // Whitespace is not an instruction.
    let spaced = parse(&source.replace("LABEL l=1", "LABEL    l=1  "));
    assert_eq!(
        build::cache::step_key(&p, &with_other.stages[0].steps[3], None),
        build::cache::step_key(&p, &spaced.stages[0].steps[3], None)
    );
}

/// `dockyard-09 plan` prints BuildKit-like steps, each with its key, and
/// refuses a source outside the context.
#[test]
fn t09_6_plan_prints_each_step_with_its_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    context_dir(dir, &[("src/a", "a"), ("Containerfile", CACHED_FILE)]);
    let out = kit::run_or(
        std::process::Command::new(BINARY).arg("plan").arg(dir),
        DEADLINE,
        "`dockyard-09 plan DIR` did not finish",
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "#1 [1/6] FROM busybox", "{}", out.stdout);
    assert_eq!(lines[6], "#4 [4/6] COPY src/ /src/");
    assert!(
        lines[7].starts_with("#4 key sha256:") && lines[7].len() == "#4 key sha256:".len() + 64,
        "{}",
        lines[7]
    );
    fs::write(
        dir.join("Containerfile"),
        "FROM scratch\nCOPY ../etc/passwd /\n",
    )
    .unwrap();
    let out = kit::run_or(
        std::process::Command::new(BINARY).arg("plan").arg(dir),
        DEADLINE,
        "`dockyard-09 plan DIR` did not finish",
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("Containerfile:2:1")
            && out.stderr.contains("outside the build context"),
        "{}",
        out.stderr
    );
}

// ------------------------------------------------------------- 09.7

fn config_after(steps: &[&str]) -> ImageConfig {
    let source = format!("FROM scratch\n{}\n", steps.join("\n"));
    let plan = planned(&source, &[], None);
    let mut stage = StageConfig::default();
    for step in &plan.stages[0].steps {
        stage.apply(&step.op, "1970-01-01T00:00:00Z");
    }
    stage.config
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Wrong code this catches: shell form not wrapped in `/bin/sh -c`, CMD
/// appended when `run` gives arguments, `--entrypoint` keeping CMD, an
/// ENTRYPOINT not clearing an inherited CMD (or clearing this stage's).
#[test]
fn t09_7_entrypoint_and_cmd_combine_as_docker_runs_them() {
    let word = random::token(6);
    let c = config_after(&[&format!("CMD echo {word}")]);
    assert_eq!(
        argv(&c, None, &[]).unwrap(),
        strings(&["/bin/sh", "-c", &format!("echo {word}")])
    );
    let c = config_after(&[
        "ENTRYPOINT [\"/app\", \"-v\"]",
        &format!("CMD [\"{word}\"]"),
    ]);
    assert_eq!(
        argv(&c, None, &[]).unwrap(),
        strings(&["/app", "-v", &word]),
        "CMD gives ENTRYPOINT's arguments"
    );
    assert_eq!(
        argv(&c, None, &strings(&["x"])).unwrap(),
        strings(&["/app", "-v", "x"]),
        "run's arguments replace CMD"
    );
    assert_eq!(
        argv(&c, Some(strings(&["/bin/sh"])), &[]).unwrap(),
        strings(&["/bin/sh"]),
        "--entrypoint replaces ENTRYPOINT and clears CMD"
    );
    assert_eq!(
        argv(&c, Some(strings(&["/bin/sh"])), &strings(&["-c", "id"])).unwrap(),
        strings(&["/bin/sh", "-c", "id"])
    );
    let c = config_after(&["ENTRYPOINT app --serve"]);
    assert_eq!(
        with_shell(&Command::Shell("app --serve".into())),
        strings(&["/bin/sh", "-c", "app --serve"])
    );
    assert_eq!(
        argv(&c, None, &strings(&["--port", "1"])).unwrap(),
        strings(&["/bin/sh", "-c", "app --serve", "--port", "1"])
    );
    // CMD then ENTRYPOINT in the same stage: the CMD stays.
    let c = config_after(&[&format!("CMD [\"{word}\"]"), "ENTRYPOINT [\"/app\"]"]);
    assert_eq!(argv(&c, None, &[]).unwrap(), strings(&["/app", &word]));
    // Inherited CMD (from the base image): cleared by this stage's ENTRYPOINT.
    let mut stage = StageConfig::from_base(ImageConfig {
        cmd: Some(strings(&["sh"])),
        ..Default::default()
    });
    let plan = planned("FROM busybox\nENTRYPOINT [\"/app\"]\n", &[], None);
    stage.apply(&plan.stages[0].steps[0].op, "1970-01-01T00:00:00Z");
    assert_eq!(
        stage.config.cmd, None,
        "an ENTRYPOINT clears the CMD the stage inherited"
    );
    assert_eq!(argv(&stage.config, None, &[]).unwrap(), strings(&["/app"]));
    assert!(
        argv(&ImageConfig::default(), None, &[]).is_err(),
        "no ENTRYPOINT and no CMD: no command"
    );
    assert!(
        argv(&c, Some(vec![]), &[]).is_err(),
        "--entrypoint \"\" with no arguments: no command"
    );
}

/// History entries as BuildKit writes them (`docker history --no-trunc`).
#[test]
fn t09_7_history_entries_as_buildkit_writes_them() {
    let source = "FROM busybox\nARG V=1\nENV A=x B=\"y z\"\nRUN echo $A\nCOPY --chown=1:1 a b /dst/\nWORKDIR app\nWORKDIR /\n\
                  EXPOSE 8080 53/udp\nUSER nobody\nLABEL k=v\nVOLUME /data\nENTRYPOINT [\"/bin/app\"]\nCMD serve --port \"8080\"\n";
    let plan = planned(source, &[], None);
    let mut stage = StageConfig::default();
    for step in &plan.stages[0].steps {
        stage.apply(&step.op, "2000-01-01T00:00:00Z");
    }
    let lines: Vec<String> = stage
        .history
        .iter()
        .map(|h| {
            format!(
                "{}{}",
                h.created_by,
                if h.empty_layer {
                    "   (empty layer)"
                } else {
                    ""
                }
            )
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
    assert_eq!(build::config::rfc3339(946_684_800), "2000-01-01T00:00:00Z");
    assert_eq!(
        build::config::rfc3339(1_700_000_000),
        "2023-11-14T22:13:20Z"
    );
}

// ------------------------------------------------------------- 09.8

/// Wrong code this catches: the shell form passed as one argv word, the
/// command substituted at build time, ARGs overriding ENV, ARGs missing
/// from the environment, no PATH in a scratch stage, a cwd of "" instead
/// of "/".
#[test]
fn t09_8_what_a_run_step_runs() {
    use build::runspec::{DEFAULT_PATH, run_process};
    let (x, y, e) = (random::token(5), random::token(5), random::token(5));
    let source = format!(
        "FROM scratch\nARG X={x}\nARG SAME={y}\nENV SAME={e}\nARG NOVALUE\nRUN echo $X $SAME\nWORKDIR /w/{x}\nUSER 1000:1000\n\
         RUN [\"/bin/tool\", \"$X\"]\n"
    );
    let plan = planned(&source, &[], None);
    let mut stage = StageConfig::from_base(ImageConfig::scratch());
    let mut processes = Vec::new();
    for step in &plan.stages[0].steps {
        if let Op::Run { command, env } = &step.op {
            processes.push(run_process(&stage.config, command, env));
        }
        stage.apply(&step.op, "1970-01-01T00:00:00Z");
    }
    let first = &processes[0];
    assert_eq!(
        first.args,
        strings(&["/bin/sh", "-c", "echo $X $SAME"]),
        "shell form, not substituted by the builder"
    );
    assert_eq!(
        first.env,
        vec![
            DEFAULT_PATH.to_owned(),
            format!("SAME={e}"),
            format!("X={x}")
        ],
        "the image's Env (a scratch stage has PATH), then the ARGs ENV does not set"
    );
    assert_eq!(
        (first.cwd.as_str(), first.user.as_str()),
        ("/", ""),
        "no WORKDIR: /; no USER: root"
    );
    let second = &processes[1];
    assert_eq!(
        second.args,
        strings(&["/bin/tool", "$X"]),
        "exec form as written"
    );
    assert_eq!(second.cwd, format!("/w/{x}"));
    assert_eq!(second.user, "1000:1000");
    // An image with its own PATH keeps it.
    let config = ImageConfig {
        env: strings(&["PATH=/opt/bin", "A=1"]),
        ..Default::default()
    };
    let p = run_process(
        &config,
        &Command::Shell("true".into()),
        &[("A".into(), "2".into()), ("B".into(), "3".into())],
    );
    assert_eq!(p.env, strings(&["PATH=/opt/bin", "A=1", "B=3"]));
}

// ------------------------------------------------------------- 09.9

/// The entries of a layer tar: path → (uid, content).
fn tar_entries(path: &Path) -> BTreeMap<String, (u64, String)> {
    let mut archive = tar::Archive::new(fs::File::open(path).expect("open the layer tar"));
    let mut out = BTreeMap::new();
    for entry in archive.entries().expect("read the layer tar") {
        let mut entry = entry.expect("a tar entry");
        let name = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches('/')
            .to_owned();
        let uid = entry.header().uid().unwrap_or(u64::MAX);
        let mut content = String::new();
        let _ = std::io::Read::read_to_string(&mut entry, &mut content);
        out.insert(name, (uid, content));
    }
    out
}

/// The probe's report among the lines of `file`. fd 1 is the whole test
/// binary's: while it points at `file`, the harness's `test … ok` lines
/// and the output of containers of checks running meanwhile land there
/// too, so the report is the line that is a JSON object with `argv`.
fn probe_report(file: &Path) -> serde_json::Value {
    let text = fs::read_to_string(file).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("argv").is_some())
        .unwrap_or_else(|| panic!("no probe report in {text:?}"))
}

/// Run `f` with the process's fd 1 on `file`: the container writes its
/// output there (it inherits the runtime's stdout).
fn with_stdout_in<T>(file: &Path, f: impl FnOnce() -> T) -> T {
    // fd 1 is the process's: two checks redirecting it at once would
    // restore each other's. One at a time.
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    // The harness prints each check's result on fd 1 as it ends (other
    // checks run meanwhile): holding the stdout lock keeps those lines
    // out of `file` — they wait, and go where they belong after. (The
    // checks' own prints are captured by the harness, not written here.)
    let stdout = std::io::stdout();
    let mut held = stdout.lock();
    let _ = std::io::Write::flush(&mut held);
    let out = fs::File::create(file).unwrap();
    // SAFETY: plain fd calls; fd 1 is put back before returning.
    let saved = unsafe { libc::dup(1) };
    assert!(saved >= 0, "dup(1)");
    unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&out), 1) };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    unsafe {
        libc::dup2(saved, 1);
        libc::close(saved);
    }
    drop(held);
    result.unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Wrong code this catches: the layer written into a lower, the step's
/// upper not kept (the next step cannot stack on it), a failed command
/// taken for a success, a failed step leaving its layer or mount behind,
/// the process of 09.8 not reaching the container, a diff that is not
/// deterministic.
#[test]
fn t09_9_a_run_step_on_an_overlay_becomes_a_layer() {
    use build::runspec::{DEFAULT_PATH, RunProcess};
    use build::step::run_step;
    kit::require_root("09");
    let check = kit::Check::new();
    let base = check.dir().join("base");
    kit::rootfs::Rootfs::create(&base, kit::probe()).expect("make the base layer");
    let work = check.dir().join("work");
    let (token, dir, value) = (random::token(12), random::token(6), random::token(8));
    let uid = random::int(1000..=60000);
    let process = |args: &[&str], cwd: &str, user: &str| RunProcess {
        args: strings(args),
        env: vec![DEFAULT_PATH.to_owned(), format!("BUILD_VALUE={value}")],
        cwd: cwd.to_owned(),
        user: user.to_owned(),
    };
    let hint = "the RUN step did not finish: does its container start (the exec FIFO opened) and get waited for?";
    let step = |id: &str, lowers: &[PathBuf], p: RunProcess| {
        check.within(DEADLINE, hint, || run_step(&work, id, lowers, &p, 0))
    };

    // One step: a file written, seen in the layer, not in the base.
    let user = format!("{uid}:{uid}");
    let report = check.dir().join("report.json");
    let one = with_stdout_in(&report, || {
        step(
            "one",
            std::slice::from_ref(&base),
            process(&["/probe", "report"], "/", ""),
        )
    })
    .unwrap_or_else(|e| panic!("RUN /probe report: {e}"));
    let seen = probe_report(&report);
    assert_eq!(
        seen["hostname"], "buildkitsandbox",
        "a RUN container's host name: {seen}"
    );
    assert_eq!(
        seen["env"]["BUILD_VALUE"], value,
        "the RunProcess's env reaches the container: {}",
        seen["env"]
    );
    let interfaces: Vec<&str> = seen["interfaces"]
        .as_array()
        .map(|all| all.iter().filter_map(|i| i["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        interfaces,
        ["lo"],
        "a RUN container has no network but its own lo"
    );
    assert_eq!(
        tar_entries(&one.tar).len(),
        0,
        "a RUN that writes nothing gives an empty layer"
    );

    let wrote = step(
        "two",
        std::slice::from_ref(&base),
        process(&["/probe", "write", "f", &token], &format!("/{dir}"), &user),
    )
    .unwrap_or_else(|e| panic!("RUN /probe write: {e}"));
    let entries = tar_entries(&wrote.tar);
    let file = format!("{dir}/f");
    assert_eq!(
        entries.get(&file),
        Some(&(u64::from(uid), token.clone())),
        "the layer holds {file} written by uid {uid} in the working directory /{dir}: {entries:?}"
    );
    assert!(
        !base.join(&file).exists(),
        "the base layer was written: a lower is never written"
    );
    let bytes = fs::read(&wrote.tar).unwrap();
    assert_eq!(
        wrote.digests.diff_id,
        build::cache::sha256(&bytes).to_string(),
        "diff_id is the tar's sha256"
    );

    // The same step again: the same layer, byte for byte.
    let again = step(
        "three",
        std::slice::from_ref(&base),
        process(&["/probe", "write", "f", &token], &format!("/{dir}"), &user),
    )
    .unwrap();
    assert_eq!(
        again.digests.diff_id, wrote.digests.diff_id,
        "a RUN step's layer is deterministic"
    );

    // A step on top of it: the kept upper is a lower; a removal is a whiteout.
    let rm_out = check.dir().join("rm.json");
    let removed = with_stdout_in(&rm_out, || {
        step(
            "four",
            &[base.clone(), wrote.layer_dir.clone()],
            process(&["/probe", "rm", &format!("/{file}")], "/", ""),
        )
    })
    .unwrap_or_else(|e| {
        panic!(
            "RUN /probe rm on the previous step's layer: {e}: {:?}",
            fs::read_to_string(&rm_out)
        )
    });
    let entries = tar_entries(&removed.tar);
    assert!(
        entries.contains_key(&format!("{dir}/.wh.f")),
        "removing a file of the layer below leaves a whiteout: {entries:?}"
    );
    assert!(
        wrote.layer_dir.join(&file).exists(),
        "the lower step's layer is untouched"
    );

    // A failing command fails the step, and leaves nothing.
    let code = random::int(2..=100);
    let err = step(
        "five",
        std::slice::from_ref(&base),
        process(&["/probe", "exit", &code.to_string()], "/", ""),
    )
    .expect_err("a RUN whose command exits non-zero must fail");
    assert!(
        err.to_string().contains(&format!("exit code: {code}")),
        "{err}"
    );
    assert!(
        !work.join("layers/five").exists(),
        "a failed step's layer is removed"
    );
    assert!(!work.join("diffs/five").exists());
}

// ------------------------------------------------------------- 09.10

/// Wrong code this catches: a directory source copied as itself
/// (`/app/src/x` instead of `/app/x`), a single file copied into a
/// directory named like the destination, the destination not relative to
/// WORKDIR, the owner of the context kept instead of root or `--chown`,
/// modes lost, a symlink followed, times leaking into the layer.
#[test]
fn t09_10_a_copy_layer_holds_the_sources_as_docker_copies_them() {
    use build::copy::{copy_layer, destination, targets};
    use std::os::unix::fs::PermissionsExt;
    kit::require_root("09");
    let check = kit::Check::new();
    let ctx = check.dir().join("context");
    let (a, b, name) = (random::token(10), random::token(10), random::token(6));
    context_dir(
        &ctx,
        &[
            ("src/main.rs", &a),
            ("src/lib/x.rs", &b),
            ("one.txt", &name),
            ("two.txt", "2"),
            ("skip.log", "s"),
        ],
    );
    fs::write(ctx.join(".dockerignore"), "*.log\n").unwrap();
    fs::set_permissions(ctx.join("src/main.rs"), fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", ctx.join("src/link")).unwrap();
    let context = Context::open(&ctx, None).unwrap();
    let entries = context.entries().unwrap();

    assert_eq!(destination("/srv", "app/"), "/srv/app");
    assert_eq!(destination("/srv", "/abs"), "/abs");
    assert_eq!(
        destination("", "../../x"),
        "/x",
        "a destination never leaves the layer"
    );

    let map = |sources: &[&str], dest: &str| -> Vec<(String, String)> {
        targets(&context, &entries, &strings(sources), dest).unwrap()
    };
    let got = map(&["src"], "app/");
    assert!(
        got.contains(&("src/main.rs".into(), "app/main.rs".into())),
        "a directory's contents: {got:?}"
    );
    assert!(
        got.contains(&("src/lib/x.rs".into(), "app/lib/x.rs".into())),
        "{got:?}"
    );
    assert_eq!(
        map(&["one.txt"], &format!("/{name}")),
        [("one.txt".to_owned(), name.clone())],
        "one file to a file path"
    );
    assert_eq!(
        map(&["one.txt"], "/d/"),
        [("one.txt".to_owned(), "d/one.txt".to_owned())],
        "into a directory"
    );
    let both = map(&["one.txt", "two.txt"], "/d");
    assert_eq!(
        both,
        [
            ("one.txt".to_owned(), "d/one.txt".to_owned()),
            ("two.txt".to_owned(), "d/two.txt".to_owned())
        ],
        "several sources: the destination is a directory"
    );
    let star = map(&["*.txt"], "/w");
    assert_eq!(
        star.len(),
        2,
        "a wildcard: the destination is a directory: {star:?}"
    );
    assert!(
        map(&["."], "/").iter().all(|(e, _)| e != "skip.log"),
        "an ignored file is not copied"
    );

    let work = check.dir().join("work");
    let uid = random::int(1000..=60000);
    let layer = copy_layer(
        &work,
        "c1",
        &context,
        &strings(&["src/"]),
        "/app/",
        (uid, uid),
        0,
    )
    .unwrap_or_else(|e| panic!("COPY src/ /app/: {e}"));
    let entries_of = tar_entries(&layer.tar);
    assert_eq!(
        entries_of.get("app/main.rs"),
        Some(&(u64::from(uid), a.clone())),
        "{entries_of:?}"
    );
    assert_eq!(
        entries_of.get("app/lib/x.rs").map(|e| e.0),
        Some(u64::from(uid)),
        "--chown reaches every entry"
    );
    assert!(
        entries_of.contains_key("app/link"),
        "the symlink is in the layer: {entries_of:?}"
    );
    assert!(
        !entries_of.keys().any(|k| k.starts_with("app/src")),
        "contents, not the directory: {entries_of:?}"
    );
    let mut archive = tar::Archive::new(fs::File::open(&layer.tar).unwrap());
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let header = entry.header();
        if path == "app/main.rs" {
            assert_eq!(
                header.mode().unwrap() & 0o7777,
                0o750,
                "a file keeps its permission bits"
            );
        }
        if path == "app/link" {
            assert!(
                header.entry_type().is_symlink(),
                "a symlink is copied as a symlink"
            );
            assert_eq!(
                entry.link_name().unwrap().unwrap().to_string_lossy(),
                "/etc/passwd"
            );
        }
        assert_eq!(
            header.mtime().unwrap(),
            0,
            "{path}: the layer's times are the build's, not the files'"
        );
    }
    // New times on the sources, the same layer.
    let file = fs::File::options()
        .write(true)
        .open(ctx.join("src/main.rs"))
        .unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(fastrand::u64(100..100_000)))
        .unwrap();
    drop(file);
    let again = copy_layer(
        &work,
        "c2",
        &context,
        &strings(&["src/"]),
        "/app/",
        (uid, uid),
        0,
    )
    .unwrap();
    assert_eq!(
        again.digests.diff_id, layer.digests.diff_id,
        "a COPY layer depends on content, not times"
    );
    let root = copy_layer(
        &work,
        "c3",
        &context,
        &strings(&["one.txt"]),
        &format!("/{name}"),
        (0, 0),
        0,
    )
    .unwrap();
    assert_eq!(
        tar_entries(&root.tar).get(&name).map(|e| e.0),
        Some(0),
        "owned by root without --chown"
    );
}

// ------------------------------------------------------------- 09.11

/// Wrong code this catches: a manifest that is not the same for the same
/// input (times, order, the state dir leaking in), the cache not used on
/// a rebuild or used after a source changed, `--no-cache` ignored, the
/// tag not in index.json, the config not listing the layers' diff_ids.
#[test]
fn t09_11_a_build_is_cached_and_reproducible() {
    use build::builder::{Request, build, write_layout};
    kit::require_root("09");
    let check = kit::Check::new();
    let ctx = check.dir().join("context");
    let token = random::token(10);
    context_dir(&ctx, &[("src/a", &random::token(8))]);
    fs::copy(kit::probe(), ctx.join("probe")).expect("copy the probe into the context");
    fs::write(
        ctx.join("Containerfile"),
        format!(
            "FROM scratch\nCOPY probe /probe\nCOPY src/ /src/\nRUN [\"/probe\", \"write\", \"/x\", \"{token}\"]\n\
             WORKDIR /app\nENV T={token}\nCMD [\"/probe\", \"report\"]\n"
        ),
    )
    .unwrap();
    let tag = format!("app:{}", random::token(4));
    let run = |state: &str, out: &str, no_cache: bool, epoch: u64| -> (String, Vec<bool>) {
        let file = build::parse(&fs::read_to_string(ctx.join("Containerfile")).unwrap()).unwrap();
        let plan = plan(&file, &BuildOptions::default()).unwrap();
        let context = Context::open(&ctx, None).unwrap();
        let request = Request {
            plan: &plan,
            context: &context,
            work: check.dir().join(state),
            no_cache,
            epoch,
        };
        let hint = "the build did not finish: does each RUN container start and get waited for?";
        let built = check
            .within(DEADLINE * 3, hint, || build(&request, &mut std::io::sink()))
            .unwrap_or_else(|e| panic!("build: {e}"));
        let digest = write_layout(&built, &check.dir().join(out), Some(&tag), epoch).unwrap();
        (
            digest,
            built.steps.iter().map(|(_, cached)| *cached).collect(),
        )
    };
    let (first, cached) = run("state", "out1", false, 0);
    assert_eq!(
        cached,
        [false, false, false, false],
        "a first build runs COPY, COPY, RUN, WORKDIR"
    );
    let (second, cached) = run("state", "out2", false, 0);
    assert_eq!(
        cached,
        [true, true, true, true],
        "a rebuild of the same input takes every step from the cache"
    );
    assert_eq!(second, first, "the same input, the same manifest digest");
    let (elsewhere, _) = run("other-state", "out3", false, 0);
    assert_eq!(
        elsewhere, first,
        "another builder (state dir) gives the same digest: reproducible"
    );

    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(check.dir().join("out1/index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], first.as_str());
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        tag.as_str()
    );
    let blob = |d: &str| {
        fs::read(
            check
                .dir()
                .join("out1/blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
        )
        .unwrap()
    };
    let manifest: serde_json::Value = serde_json::from_slice(&blob(&first)).unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 4);
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().unwrap().len(),
        4,
        "one diff_id per layer"
    );
    assert_eq!(config["config"]["Env"][1], format!("T={token}"));
    assert_eq!(
        blob(&first).len() as u64,
        index["manifests"][0]["size"].as_u64().unwrap()
    );

    // A source changes: its COPY and every layer after it are rebuilt.
    fs::write(ctx.join("src/a"), random::token(9)).unwrap();
    let (changed, cached) = run("state", "out4", false, 0);
    assert_eq!(
        cached,
        [true, false, false, false],
        "COPY probe cached; COPY src/ and what follows rebuilt"
    );
    assert_ne!(changed, first);
    let (again, cached) = run("state", "out5", true, 0);
    assert_eq!(
        cached,
        [false, false, false, false],
        "--no-cache runs every step"
    );
    assert_eq!(again, changed, "…and gives the same image");
    let (later, _) = run("state", "out6", false, 1_700_000_000);
    assert_ne!(
        later, changed,
        "SOURCE_DATE_EPOCH is the image's time: another epoch, another digest"
    );
}

// ------------------------------------------------------------- 09.12–09.14: lab 08's store

/// A base image in `store` named `name`, loaded from a `docker save`
/// archive the kit makes (busybox, the probe, `/marker` holding `marker`;
/// `BASE=<base_env>` in its Env): nothing comes from a registry.
fn load_base(check: &kit::Check, store: &images::Store, name: &str, base_env: &str, marker: &str) {
    let rootfs = check.dir().join(format!("rootfs-{}", random::token(6)));
    kit::rootfs::Rootfs::create(&rootfs, kit::probe()).expect("make the base rootfs");
    fs::write(rootfs.join("marker"), marker).unwrap();
    let archive = check.dir().join(format!("{}.tar", random::token(6)));
    let config = serde_json::json!({ "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", format!("BASE={base_env}")],
        "Cmd": ["/bin/sh"],
    }});
    kit::image::docker_save(&archive, &[name], &[rootfs.as_path()], &[], config)
        .expect("write the docker-save archive");
    images::archive::load(store, &archive).unwrap_or_else(|e| panic!("load {archive:?}: {e}"));
    fs::remove_dir_all(&rootfs).unwrap();
}

/// Build `ctx`'s Containerfile with `store`; which steps with a layer
/// came from the cache.
fn build_in(
    check: &kit::Check,
    store: &images::Store,
    ctx: &Path,
    state: &str,
) -> Result<(build::builder::Built, Vec<bool>), String> {
    use build::builder::{Request, build_with};
    let file = build::parse(&fs::read_to_string(ctx.join("Containerfile")).unwrap()).unwrap();
    let plan = plan(&file, &BuildOptions::default()).unwrap();
    let context = Context::open(ctx, None).unwrap();
    let request = Request {
        plan: &plan,
        context: &context,
        work: check.dir().join(state),
        no_cache: false,
        epoch: 0,
    };
    let hint = "the build did not finish: does each RUN container start and get waited for?";
    let built = check
        .within(DEADLINE * 3, hint, || {
            build_with(&request, Some(store), &mut std::io::sink())
        })
        .map_err(|e| e.to_string())?;
    let cached = built.steps.iter().map(|(_, c)| *c).collect();
    Ok((built, cached))
}

/// Wrong code this catches: a cache key of `FROM name` made of the name
/// (after the name moves to another image, the old steps are reused on
/// the wrong base); the base image's layers or config not used (the RUN
/// needs the base's `/probe`; the config's Env must carry `BASE`); the
/// commit not in the store, or its config not what the process gets.
#[test]
fn t09_12_from_an_image_of_the_store_and_the_commit() {
    kit::require_root("09");
    let check = kit::Check::new();
    let store = images::Store::open(&check.dir().join("state")).unwrap();
    let base = format!("base{}:{}", random::token(4), random::token(4));
    let base_env = random::token(8);
    load_base(&check, &store, &base, &base_env, "m");
    let ctx = check.dir().join("context");
    let (token, dir) = (random::token(10), random::token(6));
    let uid = random::int(1000..=60000);
    context_dir(
        &ctx,
        &[(
            "Containerfile",
            &format!(
                "FROM {base}\nENV T={token}\nWORKDIR /{dir}\nRUN [\"/probe\", \"write\", \"/{dir}/made\", \"{token}\"]\n\
                 USER {uid}:{uid}\nENTRYPOINT [\"/probe\"]\nCMD [\"report\"]\n"
            ),
        )],
    );
    let (built, cached) =
        build_in(&check, &store, &ctx, "work").unwrap_or_else(|e| panic!("build FROM {base}: {e}"));
    assert_eq!(
        cached,
        [false, false],
        "WORKDIR and RUN run on a first build"
    );
    let image = store.resolve(&base).unwrap();
    let base_dirs = store.layer_dirs(&image).unwrap();
    assert_eq!(
        built
            .layers
            .iter()
            .map(|l| l.dir.clone())
            .take(1)
            .collect::<Vec<_>>(),
        base_dirs,
        "the stage starts with the base image's unpacked layer (the store's directory)"
    );
    assert_eq!(built.layers.len(), 3, "base layer + WORKDIR + RUN");

    let app = format!("app{}:{}", random::token(4), random::token(4));
    let digest = build::base::commit(&built, &store, Some(&app), 0)
        .unwrap_or_else(|e| panic!("commit into the store: {e}"));
    let committed = store
        .resolve(&app)
        .unwrap_or_else(|e| panic!("{app} in the store: {e}"));
    assert_eq!(committed.manifest_digest, digest);
    assert_eq!(
        committed.manifest.layers()[0],
        image.manifest.layers()[0],
        "the base layer's blob is reused as it is"
    );
    // The image runs with lab 08's `run` (`dockyard-08 --state-dir STATE
    // run APP`, its code called here): the probe says what it got.
    let report = check.dir().join("report.json");
    let hint = "`dockyard-08 run` of the built image did not finish";
    let state = check.dir().join("state").display().to_string();
    let cli = <images::cli::Cli as clap::Parser>::parse_from([
        "dockyard-08",
        "--state-dir",
        &state,
        "run",
        &app,
    ]);
    let code = with_stdout_in(&report, || {
        check.within(DEADLINE, hint, || images::cli::main(cli))
    });
    assert_eq!(
        code,
        0,
        "dockyard-08 run {app}: {:?}",
        fs::read_to_string(&report)
    );
    let seen = probe_report(&report);
    assert_eq!(
        seen["argv"],
        serde_json::json!(["/probe", "report"]),
        "ENTRYPOINT ++ CMD"
    );
    assert_eq!(seen["env"]["T"], token.as_str(), "ENV reaches the process");
    assert_eq!(
        seen["env"]["BASE"],
        base_env.as_str(),
        "the base image's Env is kept"
    );
    assert_eq!(seen["cwd"], format!("/{dir}"), "WORKDIR");
    assert_eq!(seen["uid"], uid, "USER");

    let (_, cached) = build_in(&check, &store, &ctx, "work").unwrap();
    assert_eq!(
        cached,
        [true, true],
        "the same base: every step from the cache"
    );
    // The name now points at another image: nothing built on the old one
    // may be reused.
    load_base(&check, &store, &base, &random::token(9), "m");
    let (_, cached) = build_in(&check, &store, &ctx, "work").unwrap();
    assert_eq!(
        cached,
        [false, false],
        "{base} now names another image: the cache key of FROM is the image's digest, not its name"
    );
}

/// Wrong code this catches: `COPY --from` reading the build context (the
/// context holds the same paths with other contents), or the image's
/// layers not used for `--from=image`.
#[test]
fn t09_13_copy_from_a_stage_or_an_image_reads_its_filesystem() {
    kit::require_root("09");
    let check = kit::Check::new();
    let store = images::Store::open(&check.dir().join("state")).unwrap();
    let base = format!("base{}:{}", random::token(4), random::token(4));
    let (marker, made) = (random::token(12), random::token(12));
    load_base(&check, &store, &base, "b", &marker);
    let ctx = check.dir().join("context");
    context_dir(
        &ctx,
        &[
            ("made", "the context's, not the stage's"),
            ("marker", "the context's, not the image's"),
            (
                "Containerfile",
                &format!(
                    "FROM scratch AS one\nCOPY probe /probe\nRUN [\"/probe\", \"write\", \"/made\", \"{made}\"]\n\
                     FROM scratch\nCOPY --from=one /made /got\nCOPY --from={base} /marker /from-image\n"
                ),
            ),
        ],
    );
    fs::copy(kit::probe(), ctx.join("probe")).unwrap();
    let (built, _) =
        build_in(&check, &store, &ctx, "work").unwrap_or_else(|e| panic!("build: {e}"));
    assert_eq!(built.layers.len(), 2, "two COPY layers in the last stage");
    assert_eq!(
        tar_entries(&built.layers[0].tar)
            .get("got")
            .map(|e| e.1.clone()),
        Some(made),
        "COPY --from=one copies the stage's /made (written by its RUN), not the context's"
    );
    assert_eq!(
        tar_entries(&built.layers[1].tar)
            .get("from-image")
            .map(|e| e.1.clone()),
        Some(marker),
        "COPY --from={base} copies the image's /marker"
    );
}

/// A tar entry's owner and content.
fn owners(path: &Path) -> BTreeMap<String, (u64, u64, String)> {
    let mut archive = tar::Archive::new(fs::File::open(path).unwrap());
    let mut out = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches('/')
            .to_owned();
        let (uid, gid) = (entry.header().uid().unwrap(), entry.header().gid().unwrap());
        let mut content = String::new();
        let _ = std::io::Read::read_to_string(&mut entry, &mut content);
        out.insert(name, (uid, gid, content));
    }
    out
}

/// Wrong code this catches: ADD copying the archive instead of unpacking
/// it, or unpacking it without lab 08's checks (an entry `../escape`
/// written outside the layer); `--chown=name` looked up in the host's
/// files or refused, a missing group not taken as the uid.
#[test]
fn t09_14_add_unpacks_safely_and_chown_takes_names() {
    kit::require_root("09");
    let check = kit::Check::new();
    let store = images::Store::open(&check.dir().join("state")).unwrap();
    let ctx = check.dir().join("context");
    let (inner, user, group) = (random::token(12), random::token(7), random::token(7));
    let (uid, gid) = (random::int(1000..=30000), random::int(30001..=60000));
    context_dir(
        &ctx,
        &[
            (
                "passwd",
                &format!(
                    "root:x:0:0:root:/root:/bin/sh\n{user}:x:{uid}:{uid}::/home/{user}:/bin/sh\n"
                ),
            ),
            ("group", &format!("root:x:0:\n{group}:x:{gid}:\n")),
            ("f", "f"),
            (
                "Containerfile",
                &format!(
                    "FROM scratch\nADD files.tgz /opt/\nCOPY passwd group /etc/\n\
                     COPY --chown={user}:{group} f /f\nCOPY --chown={user} f /g\n"
                ),
            ),
        ],
    );
    let mut gz = tar::Builder::new(flate2::write::GzEncoder::new(
        fs::File::create(ctx.join("files.tgz")).unwrap(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(inner.len() as u64);
    header.set_mode(0o640);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    gz.append_data(&mut header, "d/x", inner.as_bytes())
        .unwrap();
    gz.into_inner().unwrap().finish().unwrap();

    let (built, _) =
        build_in(&check, &store, &ctx, "work").unwrap_or_else(|e| panic!("build: {e}"));
    let added = owners(&built.layers[0].tar);
    assert_eq!(
        added.get("opt/d/x").map(|e| e.2.clone()),
        Some(inner),
        "ADD unpacks a local tar.gz into the destination: {:?}",
        added.keys()
    );
    assert!(
        !added.contains_key("opt/files.tgz"),
        "ADD unpacks, it does not copy the archive"
    );
    let f = owners(&built.layers[2].tar);
    assert_eq!(
        f.get("f").map(|e| (e.0, e.1)),
        Some((u64::from(uid), u64::from(gid))),
        "--chown={user}:{group}: the image's /etc/passwd and /etc/group"
    );
    let g = owners(&built.layers[3].tar);
    assert_eq!(
        g.get("g").map(|e| (e.0, e.1)),
        Some((u64::from(uid), u64::from(uid))),
        "--chown={user}: the gid is the uid, as Docker does"
    );

    // A hostile archive: an entry that climbs out.
    let evil_ctx = check.dir().join("evil");
    context_dir(
        &evil_ctx,
        &[("Containerfile", "FROM scratch\nADD evil.tar /\n")],
    );
    let mut evil = tar::Builder::new(fs::File::create(evil_ctx.join("evil.tar")).unwrap());
    let mut header = tar::Header::new_gnu();
    let name = b"../../../escape";
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_size(4);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    evil.append(&header, &b"evil"[..]).unwrap();
    evil.into_inner().unwrap();
    let err = build_in(&check, &store, &evil_ctx, "evil-work").err();
    assert!(
        err.as_ref().is_some_and(|e| e.contains("escape")),
        "ADD of an archive with a ../ entry fails, naming the entry: {err:?}"
    );
    for dir in [
        check.dir().to_path_buf(),
        check.dir().join("evil-work"),
        check.dir().join("evil-work/diffs"),
    ] {
        assert!(
            !dir.join("escape").exists(),
            "{:?} written outside the layer",
            dir.join("escape")
        );
    }
}
