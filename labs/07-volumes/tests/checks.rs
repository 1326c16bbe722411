//! The checks of lab 07. Each is named `t07_K_…` after the task it checks.
//!
//! Task 07.1 (resolution) is checked through the library, against
//! hostile rootfs layouts whose links point at a host directory holding
//! a random marker. 07.2 (the store) through `dockyard-07 volume …` and
//! the library. From 07.3 on, containers run: `dockyard-07 run` with the
//! probe inside, which reports what it sees and what its writes did
//! (`EROFS` is observed from inside, not inferred from the config).
//! Every run has a state dir of its own in the check's temp dir, and
//! names, tokens, sizes and modes are random.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kit::rootfs::Rootfs;
use kit::{Check, DEADLINE, Output, Running, probe, random, require_root};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

const LAB: &str = "07";
const ENGINE: &str = env!("CARGO_BIN_EXE_dockyard-07");
const EROFS: i64 = 30;

// ------------------------------------------------------------- helpers

/// A check with a state dir and a rootfs holding the probe.
struct Lab {
    check: Check,
    state: PathBuf,
    rootfs: PathBuf,
}

impl Lab {
    fn new() -> Lab {
        let check = Check::new();
        let rootfs = check.dir().join("rootfs");
        Rootfs::create(&rootfs, probe()).expect("make the rootfs");
        Lab {
            state: check.dir().join("state"),
            rootfs,
            check,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(ENGINE);
        cmd.arg("--state-dir").arg(&self.state).args(args);
        cmd
    }

    /// `dockyard-07 --state-dir S ARGS…` to completion, within the deadline.
    fn engine(&self, args: &[&str]) -> Output {
        let hint = format!(
            "`dockyard-07 {}` did not exit: does run wait for its container, \
             and does nothing wait on a FIFO nobody opens?",
            args.join(" ")
        );
        kit::run_or(&mut self.command(args), DEADLINE, &hint)
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.engine(args);
        assert_eq!(
            out.code,
            Some(0),
            "`dockyard-07 {}` failed\n{}",
            args.join(" "),
            out.describe()
        );
        out
    }

    /// `run --rm --rootfs R MOUNTS… -- /probe ACTION…`: the probe's JSON lines.
    fn run(&self, mounts: &[&str], action: &[&str]) -> Output {
        let rootfs = self.rootfs.display().to_string();
        let mut args = vec!["run", "--rm", "--rootfs", &rootfs];
        args.extend(mounts);
        args.push("--");
        args.push("/probe");
        args.extend(action);
        self.engine(&args)
    }

    /// The probe's last line of a run that must have worked.
    fn probe_ok(&self, mounts: &[&str], action: &[&str]) -> Value {
        let out = self.run(mounts, action);
        let json = out.json();
        assert_eq!(
            json["ok"],
            true,
            "the probe's `{}` failed inside the container with {mounts:?}\n{}",
            action.join(" "),
            out.describe()
        );
        json
    }

    fn volumes(&self) -> BTreeSet<String> {
        let out = self.ok(&["volume", "ls", "-q"]);
        out.stdout.lines().map(str::to_owned).collect()
    }

    fn data_of(&self, name: &str) -> PathBuf {
        self.state.join("volumes").join(name).join("_data")
    }

    /// Entries of a state subdir (`containers`, `runtime`), none if absent.
    /// Hidden ones are no container's (ids cannot start with a dot): lab
    /// 05's `.exe-layer`, the empty layer of the sealed re-execution, stays.
    fn entries(&self, sub: &str) -> Vec<String> {
        fs::read_dir(self.state.join(sub))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| !name.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn nothing_left(&self, what: &str) {
        assert_eq!(
            self.entries("containers"),
            Vec::<String>::new(),
            "{what}: a container record is left"
        );
        assert_eq!(
            self.entries("runtime"),
            Vec::<String>::new(),
            "{what}: lab 05's container is left"
        );
    }
}

fn token() -> String {
    random::token(16)
}

/// A host directory with a random marker file, and what it held.
fn host_marker(dir: &Path) -> (PathBuf, String, String) {
    fs::create_dir_all(dir).unwrap();
    let name = format!("marker-{}", random::token(8));
    let content = token();
    fs::write(dir.join(&name), &content).unwrap();
    (dir.to_path_buf(), name, content)
}

/// The marker directory still holds exactly its marker, unchanged.
fn marker_untouched(marker: &(PathBuf, String, String), what: &str) {
    let (dir, name, content) = marker;
    let names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec![name.clone()],
        "{what}: the HOST directory {} was written to — a mount target or a \
         copy followed a symlink of the rootfs out of it",
        dir.display()
    );
    assert_eq!(
        &fs::read_to_string(dir.join(name)).unwrap(),
        content,
        "{what}: the host's marker changed"
    );
}

/// `..` enough times to climb from anywhere in the rootfs to the host's `/`.
fn up_to_root() -> String {
    "../".repeat(24)
}

fn names_in(listing: &Value) -> Vec<String> {
    listing["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect()
}

/// The mount at `point` in a probe report.
fn mount_at<'a>(report: &'a Value, point: &str) -> Option<&'a Value> {
    report["mounts"]
        .as_array()?
        .iter()
        .rfind(|m| m["mount_point"] == point)
}

// ------------------------------------------------------------- 07.1

#[test]
fn t07_1_targets_resolve_inside_the_rootfs() {
    require_root(LAB);
    let lab = Lab::new();
    let rootfs = lab.rootfs.canonicalize().unwrap();
    let marker = host_marker(&lab.check.dir().join(format!("host-{}", random::token(6))));
    let host = marker.0.canonicalize().unwrap();
    let host_text = host.display().to_string();
    // The same path, inside the rootfs: where every link below must end.
    let inside = PathBuf::from(&host_text);
    let (abs, rel, chain, c2, c3) = (
        format!("abs-{}", random::token(6)),
        format!("rel-{}", random::token(6)),
        format!("chain-{}", random::token(6)),
        format!("c2-{}", random::token(6)),
        format!("c3-{}", random::token(6)),
    );
    symlink(&host, rootfs.join(&abs)).unwrap(); // /abs -> /tmp/…/host-X
    symlink(
        format!("{}{}", up_to_root(), &host_text[1..]),
        rootfs.join(&rel),
    )
    .unwrap();
    fs::create_dir(rootfs.join("etc/sub")).unwrap();
    symlink(format!("../../{c2}"), rootfs.join("etc/sub").join(&chain)).unwrap();
    symlink(format!("/etc/../{c3}"), rootfs.join(&c2)).unwrap();
    symlink(
        format!("{}{}", up_to_root(), &host_text[1..]),
        rootfs.join(&c3),
    )
    .unwrap();
    symlink("loop", rootfs.join("loop")).unwrap();
    // Inside the rootfs, the host directory's path holds one more link:
    // resolving on the host (canonicalize) never sees it.
    let last = format!("/final-{}", random::token(6));
    fs::create_dir_all(rootfs.join(&host_text[1..])).unwrap();
    symlink(&last, rootfs.join(&host_text[1..]).join("next")).unwrap();
    let cases = [
        (format!("/{abs}"), inside.clone(), "an absolute link"),
        (
            format!("/{rel}"),
            inside.clone(),
            "a relative link with ../../..",
        ),
        (
            format!("/etc/sub/{chain}"),
            inside.clone(),
            "a chain of three links",
        ),
        (
            format!("/{rel}/new/dir"),
            inside.join("new/dir"),
            "a link, then missing directories",
        ),
        (
            "/etc/sub/../sub".to_string(),
            PathBuf::from("/etc/sub"),
            "a .. inside the rootfs",
        ),
        (
            "/bin/sh/..".to_string(),
            PathBuf::from("/bin"),
            "a .. after a link to a file",
        ),
    ];
    for (target, expected, what) in &cases {
        let resolved = lab
            .check
            .within(DEADLINE, "target_in did not return", || {
                volumes::resolve::target_in(&rootfs, Path::new(target))
            })
            .unwrap_or_else(|e| panic!("{what}: target_in({target}) failed: {e}"));
        // busybox may be missing: /bin/sh is then not a link.
        if target.starts_with("/bin/sh") && !lab.rootfs.join("bin/sh").exists() {
            continue;
        }
        assert_eq!(
            &resolved,
            expected,
            "{what}: {target} should resolve to {} inside the rootfs (links \
             followed as if the rootfs were /; .. never above it)",
            expected.display()
        );
    }
    let looped = volumes::resolve::target_in(&rootfs, Path::new("/loop/x"));
    assert!(
        looped
            .as_ref()
            .is_err_and(|e| e.to_string().contains("symbolic links")),
        "a link to itself must end with 'too many levels of symbolic links', got {looped:?}"
    );
    marker_untouched(&marker, "resolving targets");
    assert!(
        !rootfs.join(&abs).join("new").exists() && !host.join("new").exists(),
        "resolving must not create anything"
    );
    // What lab 05's runtime does with such a target when the engine
    // has not resolved it (a link on the way: followed inside the rootfs;
    // the target itself a link: refused) is observed through the whole
    // engine in 07.3's t07_3_hostile_targets_never_reach_the_host.
}

// ------------------------------------------------------------- 07.2

#[test]
fn t07_2_volume_create_ls_inspect_rm_prune() {
    require_root(LAB);
    let lab = Lab::new();
    let name = format!("vol-{}", random::token(8));
    let out = lab.ok(&["volume", "create", &name]);
    assert_eq!(out.stdout.trim(), name, "volume create prints the name");
    assert!(
        lab.data_of(&name).is_dir(),
        "no {}",
        lab.data_of(&name).display()
    );
    fs::write(lab.data_of(&name).join("kept"), "x").unwrap();
    lab.ok(&["volume", "create", &name]);
    assert!(
        lab.data_of(&name).join("kept").exists(),
        "creating an existing volume again must return it, untouched"
    );
    let out = lab.ok(&["volume", "create"]);
    let unnamed = out.stdout.trim().to_string();
    assert!(
        unnamed.len() == 64 && unnamed.chars().all(|c| c.is_ascii_hexdigit()),
        "a volume without a name gets 64 random hex digits, got {unnamed:?}"
    );
    assert_eq!(
        lab.volumes(),
        BTreeSet::from([name.clone(), unnamed.clone()])
    );
    let out = lab.ok(&["volume", "inspect", &name]);
    let inspect: Value = serde_json::from_str(&out.stdout).expect("inspect prints JSON");
    assert_eq!(inspect[0]["Name"], name.as_str());
    assert_eq!(inspect[0]["Driver"], "local");
    assert_eq!(
        inspect[0]["Mountpoint"],
        lab.data_of(&name).display().to_string()
    );
    assert_eq!(inspect[0]["Labels"], serde_json::json!({}));
    // An anonymous volume (as `run -v /data` makes one), through the library.
    let store = volumes::store::Store::new(&lab.state);
    let anonymous = volumes::store::anonymous_name();
    store.create(&anonymous, true).unwrap();
    let out = lab.ok(&["volume", "inspect", &anonymous]);
    assert!(
        out.stdout.contains(volumes::store::ANONYMOUS_LABEL),
        "an anonymous volume has Docker's label"
    );
    let out = lab.ok(&["volume", "prune"]);
    assert!(
        out.stdout.contains(&anonymous),
        "prune removes unused anonymous volumes"
    );
    assert_eq!(
        lab.volumes(),
        BTreeSet::from([name.clone(), unnamed.clone()]),
        "prune (without --all) keeps named volumes"
    );
    lab.ok(&["volume", "rm", &unnamed]);
    assert!(
        !lab.state.join("volumes").join(&unnamed).exists(),
        "volume rm leaves its directory"
    );
    lab.ok(&["volume", "prune", "--all"]);
    assert_eq!(
        lab.volumes(),
        BTreeSet::new(),
        "prune --all removes unused named volumes"
    );
    let out = lab.engine(&["volume", "rm", &name]);
    assert_ne!(
        out.code,
        Some(0),
        "removing a volume that is gone succeeded"
    );
    assert!(
        out.stderr.contains("no such volume"),
        "say 'no such volume': {}",
        out.stderr
    );
}

#[test]
fn t07_2_volume_names_are_one_safe_path_component() {
    require_root(LAB);
    let lab = Lab::new();
    fs::create_dir_all(lab.state.join("volumes")).unwrap();
    let escape = format!("escape-{}", random::token(6));
    let bad = [
        format!("../{escape}"),
        format!("a/../../{escape}"),
        format!("sub/{escape}"),
        "..".to_string(),
        format!("{escape}/"),
        format!(".{escape}"),
        format!("-{escape}"),
        format!("{escape} x"),
    ];
    for name in &bad {
        let out = lab.engine(&["volume", "create", "--", name]);
        assert_eq!(
            out.code,
            Some(125),
            "`volume create {name:?}` should fail as an engine error (125)\n{}",
            out.describe()
        );
        assert!(
            out.stderr.contains("invalid volume name"),
            "`volume create {name:?}`: say 'invalid volume name' and why: {}",
            out.stderr
        );
        let out = lab.engine(&["volume", "rm", "--", name]);
        assert!(
            out.stderr.contains("invalid volume name"),
            "`volume rm {name:?}`: {}",
            out.stderr
        );
    }
    for place in [
        lab.state.join(&escape),
        lab.check.dir().join(&escape),
        lab.state.join("volumes/sub"),
    ] {
        assert!(!place.exists(), "a bad name made {}", place.display());
    }
    assert_eq!(lab.volumes(), BTreeSet::new());
}

// ------------------------------------------------------------- 07.3

#[test]
fn t07_3_bad_mount_input_is_a_clear_error() {
    require_root(LAB);
    let lab = Lab::new();
    let dir = lab.check.dir().display().to_string();
    let missing = format!("/nonexistent-{}", random::token(8));
    let vol = format!("v{}", random::token(6));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["-v".into(), format!("rel-{}/d:/x", random::token(4))],
            "relative",
        ),
        (vec!["-v".into(), "./data:/x".into()], "relative"),
        (vec!["-v".into(), format!("{missing}:/x")], "does not exist"),
        (vec!["-v".into(), format!("{dir}:/x:rx")], "unknown option"),
        (
            vec!["-v".into(), format!("{vol}:/x:ro,bogus")],
            "unknown option",
        ),
        (vec!["-v".into(), format!("{vol}:relative/x")], "absolute"),
        (vec!["-v".into(), format!("{vol}:/a/../../b")], "'..'"),
        (vec!["-v".into(), format!("a:b:c:/x")], "expected"),
        (
            vec![
                "--mount".into(),
                format!("type=bind,source={dir},target=/x,bogus=1"),
            ],
            "unknown option",
        ),
        (
            vec!["--mount".into(), format!("type=bind,source=rel,target=/x")],
            "relative",
        ),
        (
            vec![
                "--mount".into(),
                format!("type=bind,source={missing},target=/x"),
            ],
            "does not exist",
        ),
        (
            vec!["--mount".into(), "type=bind,target=/x".into()],
            "source",
        ),
        (
            vec!["--mount".into(), "type=nfs,target=/x".into()],
            "unknown type",
        ),
        (
            vec![
                "--mount".into(),
                format!("type=volume,source=../{vol},target=/x"),
            ],
            "invalid volume name",
        ),
        (
            vec![
                "--mount".into(),
                format!("type=volume,source={vol},target=/x,tmpfs-size=1m"),
            ],
            "cannot be used",
        ),
        (
            vec![
                "--mount".into(),
                "type=tmpfs,target=/x,tmpfs-size=lots".into(),
            ],
            "tmpfs-size",
        ),
        (
            vec![
                "--mount".into(),
                "type=tmpfs,target=/x,tmpfs-mode=999".into(),
            ],
            "tmpfs-mode",
        ),
        (
            vec![
                "--mount".into(),
                format!("type=tmpfs,source={vol},target=/x"),
            ],
            "cannot be used",
        ),
        (
            vec!["--mount".into(), format!("type=volume,source={vol}")],
            "target",
        ),
    ];
    for (mount, expected) in &cases {
        let mut args: Vec<&str> = mount.iter().map(String::as_str).collect();
        args.extend(["--", "/probe", "true"]);
        let rootfs = lab.rootfs.display().to_string();
        let mut all = vec!["run", "--rm", "--rootfs", &rootfs];
        all.extend(args);
        let out = lab.engine(&all);
        assert_eq!(
            out.code,
            Some(125),
            "`run {}` should be refused as an engine error (125)\n{}",
            mount.join(" "),
            out.describe()
        );
        assert!(
            out.stderr.contains(expected),
            "`run {}`: the error should say {expected:?}: {:?}",
            mount.join(" "),
            out.stderr
        );
        assert!(
            out.json_lines().is_empty(),
            "`run {}` ran the program anyway",
            mount.join(" ")
        );
    }
    assert_eq!(
        lab.volumes(),
        BTreeSet::new(),
        "a refused run made a volume"
    );
    lab.nothing_left("refused runs");
}

/// A bind mount shows a host dir or file inside, and writes land on the
/// host; the engine runs from a sealed copy of itself (CVE-2019-5736)
/// while the container runs.
#[test]
fn t07_3_a_bind_mount_shows_a_host_file() {
    require_root(LAB);
    let lab = Lab::new();
    let (dir, name, content) = host_marker(&lab.check.dir().join("host"));
    let target = format!("/mnt-{}", random::token(6));
    let short = format!("{}:{target}", dir.display());
    let long = format!("type=bind,source={},target={target}", dir.display());
    for (flag, spec) in [("-v", &short), ("--mount", &long)] {
        let seen = lab.probe_ok(&[flag, spec], &["cat", &format!("{target}/{name}")]);
        assert_eq!(
            seen["content"],
            content.as_str(),
            "{flag} {spec}: the host file's content"
        );
        let written = token();
        lab.probe_ok(&[flag, spec], &["write", &format!("{target}/w"), &written]);
        assert_eq!(
            fs::read_to_string(dir.join("w")).unwrap(),
            written,
            "{flag} {spec}: a write inside lands in the host dir"
        );
        fs::remove_file(dir.join("w")).unwrap();
    }
    // A bind of one file.
    let file = format!("/etc/f-{}", random::token(6));
    let seen = lab.probe_ok(
        &["-v", &format!("{}:{file}", dir.join(&name).display())],
        &["cat", &file],
    );
    assert_eq!(seen["content"], content.as_str(), "a bind of a single file");
    // CVE-2019-5736: until the container's program execs, its first
    // process is `dockyard-07` itself. Looked at from the host while the
    // container runs, the engine's binary must be out of a write's reach.
    let rootfs = lab.rootfs.display().to_string();
    let run = [
        "run", "--rm", "--rootfs", &rootfs, "-v", &short, "--", "/probe", "sleep", "1",
    ];
    let (out, exe) = kit::sealed::run_watching_exe(
        &mut lab.command(&run),
        DEADLINE,
        "`dockyard-07 run … /probe sleep 1` did not exit",
    );
    assert_eq!(
        out.code,
        Some(0),
        "`dockyard-07 run … /probe sleep 1` failed\n{}",
        out.describe()
    );
    kit::sealed::assert_sealed(&exe, "dockyard-07 run");
    lab.nothing_left("bind mounts");
}

#[test]
fn t07_3_read_only_mounts_fail_writes_with_erofs_inside() {
    require_root(LAB);
    let lab = Lab::new();
    let (dir, name, content) = host_marker(&lab.check.dir().join("host"));
    let vol = format!("ro-{}", random::token(8));
    let t = format!("/ro-{}", random::token(6));
    let cases = [
        (
            "-v",
            format!("{}:{t}:ro", dir.display()),
            format!("{}:{t}", dir.display()),
        ),
        (
            "--mount",
            format!("type=bind,source={},target={t},readonly", dir.display()),
            format!("type=bind,source={},target={t}", dir.display()),
        ),
        ("-v", format!("{vol}:{t}:ro"), format!("{vol}:{t}")),
        (
            "--mount",
            format!("type=volume,source={vol},target={t},ro=true"),
            format!("type=volume,source={vol},target={t}"),
        ),
        (
            "--mount",
            format!("type=tmpfs,target={t},readonly"),
            format!("type=tmpfs,target={t}"),
        ),
    ];
    for (flag, ro, rw) in &cases {
        let file = format!("{t}/{name}");
        let out = lab.run(&[flag, ro], &["write", &file, "overwritten"]);
        let json = out.json();
        assert_eq!(
            json["errno"].as_i64(),
            Some(EROFS),
            "{flag} {ro}: a write inside must fail with EROFS (30) — `ro` must reach \
             the OCI mount's options; got {json}\n{}",
            out.describe()
        );
        // The same mount read-write: the write works, so EROFS above was `ro`.
        lab.probe_ok(&[flag, rw], &["write", &format!("{t}/rw-check"), "x"]);
    }
    assert_eq!(
        fs::read_to_string(dir.join(&name)).unwrap(),
        content,
        "a read-only bind let the host file change"
    );
    lab.nothing_left("read-only mounts");
}

#[test]
fn t07_3_a_tmpfs_has_its_size_and_mode_and_is_gone_after() {
    require_root(LAB);
    let lab = Lab::new();
    let t = format!("/tmpfs-{}", random::token(6));
    let pages = random::int(16..=512);
    let mode = [0o700, 0o750, 0o1770, 0o711, 0o755][random::int(0..=4) as usize];
    let kib = pages * 4;
    for size in [format!("{}", pages * 4096), format!("{kib}k")] {
        let spec = format!("type=tmpfs,target={t},tmpfs-size={size},tmpfs-mode={mode:o}");
        let out = lab.run(
            &["--mount", &spec],
            &["write", &format!("{t}/left"), "x", "then", "report"],
        );
        let report = out.json();
        let mount = mount_at(&report, &t)
            .unwrap_or_else(|| panic!("no mount at {t} inside\n{}", out.describe()));
        assert_eq!(mount["fs_type"], "tmpfs", "{spec}: {mount}");
        let supers = mount["super_options"].as_str().unwrap_or_default();
        assert!(
            supers.split(',').any(|o| o == format!("size={kib}k")),
            "{spec}: the size should be {kib}k: {supers}"
        );
        assert!(
            supers.split(',').any(|o| o == format!("mode={mode:o}")),
            "{spec}: the mode should be {mode:o}: {supers}"
        );
        let options = mount["options"].as_str().unwrap_or_default();
        for flag in ["nosuid", "nodev", "noexec"] {
            assert!(
                options.split(',').any(|o| o == flag),
                "{spec}: a tmpfs is {flag}, as Docker's: {options}"
            );
        }
    }
    // The next container at the same target sees an empty directory, and
    // nothing reached the rootfs.
    let listed = lab.probe_ok(&[], &["ls", &t]);
    assert_eq!(
        names_in(&listed),
        Vec::<String>::new(),
        "the tmpfs's file outlived its container"
    );
    let on_disk = fs::read_dir(lab.rootfs.join(&t[1..])).map_or(0, |d| d.flatten().count());
    assert_eq!(on_disk, 0, "a tmpfs write reached the rootfs on disk");
    lab.nothing_left("tmpfs");
}

#[test]
fn t07_3_data_outlives_its_container_and_anonymous_volumes_do_not() {
    require_root(LAB);
    let lab = Lab::new();
    let vol = format!("data-{}", random::token(8));
    let t = format!("/data-{}", random::token(6));
    let secret = token();
    lab.probe_ok(
        &["-v", &format!("{vol}:{t}")],
        &["write", &format!("{t}/f"), &secret],
    );
    assert!(
        lab.volumes().contains(&vol),
        "the named volume is gone after its container"
    );
    let seen = lab.probe_ok(
        &["--mount", &format!("source={vol},target=/elsewhere")],
        &["cat", "/elsewhere/f"],
    );
    assert_eq!(
        seen["content"],
        secret.as_str(),
        "the next container reads what the first wrote"
    );
    // Anonymous: removed with `run --rm`, kept without it until `rm -v`.
    lab.probe_ok(&["-v", "/anon"], &["write", "/anon/f", "x"]);
    assert_eq!(
        lab.volumes(),
        BTreeSet::from([vol.clone()]),
        "run --rm leaves its anonymous volume"
    );
    let id = format!("keep-{}", random::token(6));
    let rootfs = lab.rootfs.display().to_string();
    lab.ok(&[
        "run", "--name", &id, "--rootfs", &rootfs, "-v", "/anon", "--", "/probe", "true",
    ]);
    assert_eq!(
        lab.volumes().len(),
        2,
        "a container without --rm keeps its anonymous volume"
    );
    lab.ok(&["rm", "-v", &id]);
    assert_eq!(
        lab.volumes(),
        BTreeSet::from([vol.clone()]),
        "rm -v removes the anonymous volume"
    );
    lab.nothing_left("volumes");
}

/// The container's pid, from its record.
fn container_pid(lab: &Lab, id: &str) -> i32 {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let text = fs::read_to_string(lab.state.join("containers").join(id).join("record.json"))
            .unwrap_or_default();
        if let Some(pid) = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|r| r["pid"].as_i64())
        {
            return pid as i32;
        }
        assert!(
            Instant::now() < deadline,
            "the record of {id} never got a pid"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn t07_3_two_containers_share_a_volume_and_a_volume_in_use_stays() {
    require_root(LAB);
    let lab = Lab::new();
    let vol = format!("shared-{}", random::token(8));
    let (one, two) = (token(), token());
    let id = format!("first-{}", random::token(6));
    let rootfs = lab.rootfs.display().to_string();
    let spec = format!("{vol}:/shared");
    let mut first = Running::start(&mut lab.command(&[
        "run",
        "--rm",
        "--name",
        &id,
        "--rootfs",
        &rootfs,
        "-v",
        &spec,
        "--",
        "/probe",
        "write",
        "/shared/one",
        &one,
        "then",
        "signals",
        "then",
        "cat",
        "/shared/two",
    ]));
    let hint = "the first container did not write to the volume";
    assert_eq!(first.next_json_or(DEADLINE, hint)["ok"], true, "{hint}");
    assert_eq!(
        first.next_json_or(DEADLINE, "the probe never got ready")["ready"],
        true
    );
    let seen = lab.probe_ok(
        &["-v", &spec],
        &["cat", "/shared/one", "then", "write", "/shared/two", &two],
    );
    assert_eq!(seen["ok"], true);
    // In use by a running container: refused, data intact.
    let out = lab.engine(&["volume", "rm", &vol]);
    assert_ne!(
        out.code,
        Some(0),
        "a volume in use by a running container was removed"
    );
    assert!(
        out.stderr.contains("in use") && out.stderr.contains(&id),
        "say it is in use, and by which container: {}",
        out.stderr
    );
    let out = lab.engine(&["volume", "prune", "--all"]);
    assert!(!out.stdout.contains(&vol), "prune removed a volume in use");
    assert!(
        lab.data_of(&vol).join("one").exists(),
        "the volume's data went"
    );
    kill(Pid::from_raw(container_pid(&lab, &id)), Signal::SIGTERM).unwrap();
    let _ = first.next_json_or(DEADLINE, "the first container never got its SIGTERM");
    let last = first.next_json_or(
        DEADLINE,
        "the first container did not read the second's file",
    );
    assert_eq!(
        last["content"],
        two.as_str(),
        "the first container sees the second's write: {last}"
    );
    first.finish_or(DEADLINE, "the first container did not exit");
    // In use by a stopped container (no --rm) too, until it is removed.
    let stopped = format!("stopped-{}", random::token(6));
    lab.ok(&[
        "run", "--name", &stopped, "--rootfs", &rootfs, "-v", &spec, "--", "/probe", "true",
    ]);
    let out = lab.engine(&["volume", "rm", &vol]);
    assert!(
        out.code != Some(0) && out.stderr.contains(&stopped),
        "a volume of a stopped container was removed: {}",
        out.stderr
    );
    lab.ok(&["rm", &stopped]);
    lab.ok(&["volume", "rm", &vol]);
    assert_eq!(lab.volumes(), BTreeSet::new());
    lab.nothing_left("shared volume");
}

#[test]
fn t07_3_hostile_targets_never_reach_the_host() {
    require_root(LAB);
    let lab = Lab::new();
    let rootfs = lab.rootfs.canonicalize().unwrap();
    let marker = host_marker(&lab.check.dir().join(format!("host-{}", random::token(6))));
    let host_text = marker.0.canonicalize().unwrap().display().to_string();
    let (abs, rel, chain) = (
        format!("abs-{}", random::token(6)),
        format!("rel-{}", random::token(6)),
        format!("chain-{}", random::token(6)),
    );
    symlink(&host_text, rootfs.join(&abs)).unwrap();
    symlink(
        format!("{}{}", up_to_root(), &host_text[1..]),
        rootfs.join(&rel),
    )
    .unwrap();
    fs::create_dir(rootfs.join("etc/sub")).unwrap();
    symlink(format!("../../hop-{chain}"), rootfs.join("etc/sub/hop")).unwrap();
    symlink(
        format!("/etc/../{rel}"),
        rootfs.join(format!("hop-{chain}")),
    )
    .unwrap();
    symlink("/etc/sub/hop", rootfs.join(&chain)).unwrap();
    let bind = lab.check.dir().join("bind");
    fs::create_dir(&bind).unwrap();
    // Every link leads to the same directory: all of them first, then the
    // missing directories below it (a mount point made in the image is an
    // empty directory of the image, with nothing to seed).
    for sub in ["", "/new/dir"] {
        for link in [&abs, &rel, &chain] {
            let t = format!("/{link}{sub}");
            let vol = format!("v{}", random::token(8));
            let written = token();
            for spec in [
                vec!["-v".to_string(), format!("{vol}:{t}")],
                vec!["-v".to_string(), format!("{}:{t}", bind.display())],
                vec!["--mount".to_string(), format!("type=tmpfs,target={t}")],
            ] {
                let spec: Vec<&str> = spec.iter().map(String::as_str).collect();
                let out = lab.run(
                    &spec,
                    &["write", &format!("{t}/w"), &written, "then", "ls", &t],
                );
                let listed = out.json();
                assert_eq!(
                    listed["ok"],
                    true,
                    "{spec:?}: the container could not use {t}\n{}",
                    out.describe()
                );
                assert!(
                    !names_in(&listed).contains(&marker.1),
                    "{spec:?}: the container sees the HOST's marker at {t}: the mount went to the host"
                );
                marker_untouched(&marker, &format!("{spec:?}"));
            }
            assert_eq!(
                fs::read_to_string(lab.data_of(&vol).join("w")).unwrap(),
                written,
                "-v {vol}:{t}: the write is in the volume"
            );
            assert_eq!(
                fs::read_to_string(bind.join("w")).unwrap(),
                written,
                "{t}: the write is in the bind source"
            );
        }
    }
    lab.nothing_left("hostile targets");
}

#[test]
fn t07_3_a_failure_at_every_step_leaves_nothing() {
    require_root(LAB);
    let lab = Lab::new();
    let bind = lab.check.dir().join("bind");
    fs::create_dir(&bind).unwrap();
    let kept = format!("kept-{}", random::token(6));
    lab.ok(&["volume", "create", &kept]);
    let rootfs = lab.rootfs.display().to_string();
    let bind_spec = format!("{}:/b", bind.display());
    for step in volumes::engine::step_names() {
        let fresh = format!("fresh-{}", random::token(6));
        let (fresh_spec, kept_spec) = (format!("{fresh}:/f"), format!("{kept}:/k"));
        let out = lab.engine(&[
            "run",
            "--rm",
            "--fail-at",
            step,
            "--rootfs",
            &rootfs,
            "-v",
            "/anon",
            "-v",
            &fresh_spec,
            "-v",
            &kept_spec,
            "-v",
            &bind_spec,
            "--mount",
            "type=tmpfs,target=/t",
            "--",
            "/probe",
            "true",
        ]);
        assert_eq!(
            out.code,
            Some(125),
            "run failing at {step:?} should be an engine error\n{}",
            out.describe()
        );
        assert!(
            out.stderr.contains(step),
            "the error should name the step {step:?}: {}",
            out.stderr
        );
        assert!(
            out.json_lines().is_empty(),
            "the program ran although {step:?} failed"
        );
        assert_eq!(
            lab.volumes(),
            BTreeSet::from([kept.clone()]),
            "after a failure at {step:?}: the anonymous volume and the volume this run made must go, the existing one stay"
        );
        lab.nothing_left(step);
    }
    // The leak guard (on drop) proves no mount, cgroup or process is left.
}

// ------------------------------------------------------------- 07.4

/// Fill `dir` (in the rootfs) with an image's content: random files, a
/// subdirectory with a mode and owner of its own, a symlink. Returns
/// (file name, content) of the top file.
fn image_content(dir: &Path) -> (String, String) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    let name = format!("f-{}", random::token(6));
    let content = token();
    fs::write(dir.join(&name), &content).unwrap();
    fs::write(dir.join("sub/inner"), "inner").unwrap();
    fs::set_permissions(dir.join("sub"), fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::chown(dir.join("sub"), Some(4321), Some(4322)).unwrap();
    symlink(format!("/{name}"), dir.join("link")).unwrap();
    (name, content)
}

#[test]
fn t07_4_a_new_volume_starts_with_the_images_content() {
    require_root(LAB);
    let lab = Lab::new();
    let t = format!("/seed-{}", random::token(6));
    let (name, content) = image_content(&lab.rootfs.join(&t[1..]));
    fs::set_permissions(lab.rootfs.join(&t[1..]), fs::Permissions::from_mode(0o711)).unwrap();
    let vol = format!("new-{}", random::token(8));
    let seen = lab.probe_ok(
        &["-v", &format!("{vol}:{t}")],
        &["cat", &format!("{t}/{name}")],
    );
    assert_eq!(
        seen["content"],
        content.as_str(),
        "a new volume shows the image's file at its mount point"
    );
    let data = lab.data_of(&vol);
    assert_eq!(
        fs::read_to_string(data.join(&name)).unwrap(),
        content,
        "the image's file is in the volume"
    );
    let sub = fs::metadata(data.join("sub")).expect("the image's subdirectory is in the volume");
    assert_eq!(
        (sub.mode() & 0o7777, sub.uid(), sub.gid()),
        (0o750, 4321, 4322),
        "mode and owner are copied"
    );
    assert_eq!(
        fs::metadata(&data).unwrap().mode() & 0o7777,
        0o711,
        "the volume's root takes the image directory's mode"
    );
    assert_eq!(
        fs::read_link(data.join("link")).unwrap(),
        PathBuf::from(format!("/{name}")),
        "a link is copied as a link"
    );
    // Anonymous volumes are new every time: seeded too.
    let seen = lab.probe_ok(&["-v", &t], &["cat", &format!("{t}/sub/inner")]);
    assert_eq!(seen["content"], "inner", "an anonymous volume is seeded");
    // nocopy: an empty volume.
    let empty = format!("empty-{}", random::token(8));
    let listed = lab.probe_ok(&["-v", &format!("{empty}:{t}:nocopy")], &["ls", &t]);
    assert_eq!(
        names_in(&listed),
        Vec::<String>::new(),
        "nocopy: the volume stays empty"
    );
    lab.nothing_left("seeding");
}

#[test]
fn t07_4_an_existing_volumes_data_is_never_overwritten() {
    require_root(LAB);
    let lab = Lab::new();
    let vol = format!("old-{}", random::token(8));
    let t = format!("/data-{}", random::token(6));
    let written = token();
    // First run: the image has nothing at the target; the container writes.
    lab.probe_ok(
        &["-v", &format!("{vol}:{t}")],
        &["write", &format!("{t}/f"), &written],
    );
    // The image now has content there, with the same file name.
    fs::write(lab.rootfs.join(&t[1..]).join("f"), "from the image").unwrap();
    fs::write(lab.rootfs.join(&t[1..]).join("extra"), "from the image").unwrap();
    let listed = lab.probe_ok(
        &["-v", &format!("{vol}:{t}")],
        &["cat", &format!("{t}/f"), "then", "ls", &t],
    );
    assert_eq!(
        names_in(&listed),
        vec!["f".to_string()],
        "an existing volume was seeded again (its content merged with the image's)"
    );
    assert_eq!(
        fs::read_to_string(lab.data_of(&vol).join("f")).unwrap(),
        written,
        "an existing volume's data was overwritten by the image's"
    );
    lab.nothing_left("no overwrite");
}

#[test]
fn t07_4_seeding_reads_the_rootfs_never_the_host() {
    require_root(LAB);
    let lab = Lab::new();
    let rootfs = lab.rootfs.canonicalize().unwrap();
    let marker = host_marker(&lab.check.dir().join(format!("host-{}", random::token(6))));
    let host_text = marker.0.canonicalize().unwrap().display().to_string();
    // The image's /data is a link that, followed on the host, is the
    // marker dir; inside the rootfs it is a directory of the image's own.
    let inside = rootfs.join(&host_text[1..]);
    let (name, content) = image_content(&inside);
    // And a link inside the image's directory to the host's marker file.
    symlink(marker.0.join(&marker.1), inside.join("leak")).unwrap();
    for (i, link) in [
        host_text.clone(),
        format!("{}{}", up_to_root(), &host_text[1..]),
    ]
    .iter()
    .enumerate()
    {
        let t = format!("/data{i}-{}", random::token(6));
        symlink(link, rootfs.join(&t[1..])).unwrap();
        let vol = format!("seeded-{}", random::token(8));
        lab.probe_ok(&["-v", &format!("{vol}:{t}")], &["true"]);
        let data = lab.data_of(&vol);
        assert!(
            !data.join(&marker.1).exists(),
            "{t} -> {link}: the volume holds the HOST's marker: the copy followed the link on the host"
        );
        assert_eq!(
            fs::read_to_string(data.join(&name)).unwrap_or_default(),
            content,
            "{t}: the volume should hold the image's own directory"
        );
        let leak = fs::symlink_metadata(data.join("leak")).expect("the image's link is copied");
        assert!(
            leak.file_type().is_symlink(),
            "{t}: a link in the image was followed (the host file's content copied)"
        );
        marker_untouched(&marker, "seeding");
    }
    lab.nothing_left("seeding through links");
}

// ------------------------------------------------------------- 07.5

#[test]
fn t07_5_an_engine_killed_mid_run_is_cleaned_up_by_the_next() {
    require_root(LAB);
    let lab = Lab::new();
    let rootfs = lab.rootfs.display().to_string();
    let named = format!("named-{}", random::token(6));
    let named_spec = format!("{named}:/n");
    for (step, remove) in [
        (volumes::engine::STEP_SEED, true),
        (volumes::engine::STEP_START, true),
        (volumes::engine::STEP_START, false),
    ] {
        let id = format!("killed-{}", random::token(6));
        let mut args = vec![
            "run",
            "--name",
            &id,
            "--pause-at",
            step,
            "--rootfs",
            &rootfs,
        ];
        if remove {
            args.push("--rm");
        }
        args.extend([
            "-v",
            "/anon",
            "-v",
            &named_spec,
            "--mount",
            "type=tmpfs,target=/t",
            "--",
            "/probe",
            "true",
        ]);
        let mut engine = Running::start(&mut lab.command(&args));
        let paused = engine.next_json_or(DEADLINE, "the engine never reached its pause point");
        assert_eq!(paused["before"], step, "{paused}");
        let container = (step == volumes::engine::STEP_START).then(|| container_pid(&lab, &id));
        kill(Pid::from_raw(engine.pid()), Signal::SIGKILL).unwrap();
        let _ = engine.finish_or(DEADLINE, "the engine did not die of SIGKILL");
        assert_eq!(
            lab.entries("volumes").len(),
            2,
            "paused before {step}: both volumes should exist by then"
        );
        // Any command of the next engine recovers; `ps` is the mildest.
        let out = lab.ok(&["ps"]);
        if let Some(pid) = container {
            // The container was ours (the check is the subreaper): reap it.
            let gone = lab.check.within(
                DEADLINE,
                "the killed engine's container was not killed by the next run",
                || nix::sys::wait::waitpid(Pid::from_raw(pid), None),
            );
            assert!(gone.is_ok(), "{gone:?}");
        }
        assert_eq!(
            lab.entries("runtime"),
            Vec::<String>::new(),
            "killed before {step}: lab 05's container is left"
        );
        if remove {
            assert!(
                !out.stdout.contains(&id),
                "killed before {step}, --rm: the record is left: {}",
                out.stdout
            );
            assert_eq!(
                lab.volumes(),
                BTreeSet::from([named.clone()]),
                "killed before {step}, --rm: the anonymous volume must go, the named one stay"
            );
        } else {
            assert!(
                out.stdout.contains(&id) && out.stdout.contains("exited"),
                "killed, no --rm: the container is listed as exited: {}",
                out.stdout
            );
            lab.ok(&["rm", "-v", &id]);
        }
        lab.ok(&["volume", "rm", &named]);
        lab.nothing_left(step);
    }
    // Killed at a random moment: during the runtime's create too, when the
    // container's first process is between clone and its exec FIFO.
    for round in 0..6 {
        let id = format!("random-{}", random::token(6));
        let args = [
            "run",
            "--rm",
            "--name",
            &id,
            "--rootfs",
            &rootfs,
            "-v",
            "/anon",
            "-v",
            &named_spec,
            "--mount",
            "type=tmpfs,target=/t",
            "--",
            "/probe",
            "true",
        ];
        let engine = Running::start(&mut lab.command(&args));
        std::thread::sleep(Duration::from_millis(u64::from(random::int(0..=40))));
        let _ = kill(Pid::from_raw(engine.pid()), Signal::SIGKILL);
        let _ = engine.finish_or(DEADLINE, "the engine did not die of SIGKILL");
        lab.ok(&["ps"]);
        reap_orphans(&lab);
        let what = format!("killed at random (round {round})");
        assert_eq!(
            lab.entries("runtime"),
            Vec::<String>::new(),
            "{what}: lab 05's container is left"
        );
        assert_eq!(
            lab.entries("containers"),
            Vec::<String>::new(),
            "{what}: the record is left"
        );
        let left = lab.volumes();
        assert!(
            left.iter().all(|v| v == &named),
            "{what}: the anonymous volume is left: {left:?}"
        );
        if left.contains(&named) {
            lab.ok(&["volume", "rm", &named]);
        }
    }
    // The leak guard (on drop): no process, cgroup or mount is left.
}

/// The killed engines' containers were re-parented to the check (a child
/// subreaper): reap the ones the next engine killed.
fn reap_orphans(lab: &Lab) {
    let me = std::process::id() as i32;
    lab.check.within(
        DEADLINE,
        "a killed engine's container was not killed by the next run",
        || {
            let deadline = Instant::now() + DEADLINE;
            loop {
                let orphans: Vec<_> = kit::procs::descendants()
                    .into_iter()
                    .filter(|p| p.ppid == me)
                    .collect();
                for orphan in orphans.iter().filter(|p| p.is_zombie()) {
                    let _ = nix::sys::wait::waitpid(Pid::from_raw(orphan.pid), None);
                }
                if orphans.iter().all(|p| p.is_zombie()) || Instant::now() > deadline {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        },
    );
}
