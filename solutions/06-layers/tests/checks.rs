//! The checks of lab 06. Each is named `t06_K_…` after the task it checks.
//!
//! Task 06.1 is checked on a mount the check makes with the lab's
//! `overlay::mount_legacy`, looked at from the host through `merged/` (what
//! a container would see as `/`). From 06.2 on, containers run with
//! `dockyard-06 run` (lab 05's runtime on the layer's bundle) and act from
//! inside with the probe; the check then looks at the upper and the lowers
//! from the host. File names and contents a learner could hard-code are
//! random. The diff's snapshot (06.5) is of an upper the check builds by
//! hand, so it is the same on every kernel; containers' diffs are judged by
//! their properties and by a digest that must not change between runs.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use kit::rootfs::Rootfs;
use kit::{Check, DEADLINE, Output, probe, random, require_root};
use layers::changes::{self, Kind};
use layers::diff::{DiffOptions, OPAQUE_MARKER, diff};
use layers::overlay::{self, Dirs, MOUNT_DATA_MAX};
use layers::rwlayer::{self, CreateOptions};
use nix::mount::{MntFlags, umount2};
use nix::sys::stat::{Mode, SFlag, makedev, mknod};
use serde_json::{Value, json};

const LAB: &str = "06";
const BIN: &str = env!("CARGO_BIN_EXE_dockyard-06");

// ------------------------------------------------------------- helpers

/// A check, a layer store and a base layer holding the probe.
struct Setup {
    check: Check,
    root: PathBuf,
    base: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let check = Check::new();
        let base = check.dir().join("base");
        Rootfs::create(&base, probe()).expect("make the base layer");
        Setup {
            root: check.dir().join("store"),
            base,
            check,
        }
    }

    /// A read-only layer `name` holding `files` (path → content).
    fn layer(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.check.dir().join("layers").join(name);
        fs::create_dir_all(&dir).unwrap();
        for (path, content) in files {
            let file = dir.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(&file, content).unwrap();
        }
        dir
    }

    /// `dockyard-06 --root STORE ARGS…`, within the kit's deadline.
    fn dy(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.arg("--root").arg(&self.root).args(args);
        kit::run_or(
            &mut cmd,
            DEADLINE,
            "dockyard-06 did not return: does the container's program end, and \
             does run wait for it and then unmount?",
        )
    }

    /// `run --lower L… [--name ID --keep] -- /probe ARGS…`; must succeed.
    fn run(&self, lowers: &[&Path], keep: Option<&str>, probe_args: &[&str]) -> Output {
        let out = self.run_any(lowers, keep, probe_args);
        assert_eq!(
            out.code,
            Some(0),
            "`dockyard-06 run … /probe {}` failed\n{}",
            probe_args.join(" "),
            out.describe()
        );
        out
    }

    /// `run`, whatever the probe's exit code.
    fn run_any(&self, lowers: &[&Path], keep: Option<&str>, probe_args: &[&str]) -> Output {
        let mut args: Vec<String> = vec!["run".into()];
        for lower in lowers {
            args.push("--lower".into());
            args.push(lower.display().to_string());
        }
        if let Some(id) = keep {
            args.extend(["--name".into(), id.into(), "--keep".into()]);
        }
        args.push("--".into());
        args.push("/probe".into());
        args.extend(probe_args.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.dy(&args)
    }

    fn layer_dir(&self, id: &str) -> PathBuf {
        self.root.join("layers").join(id)
    }

    fn rm(&self, id: &str) {
        let out = self.dy(&["rm", id]);
        assert_eq!(
            out.code,
            Some(0),
            "`dockyard-06 rm {id}` failed\n{}",
            out.describe()
        );
    }
}

/// Every entry below `dir`: path → (type and mode, uid, gid, size, mtime, content).
fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(top: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_file() {
                format!("{:?}", fs::read(&path).unwrap())
            } else if meta.file_type().is_symlink() {
                fs::read_link(&path).unwrap().display().to_string()
            } else {
                String::new()
            };
            let line = format!(
                "{:o} {} {} {} {} {}",
                meta.mode(),
                meta.uid(),
                meta.gid(),
                meta.len(),
                meta.mtime_nsec() + meta.mtime() * 1_000_000_000,
                content
            );
            out.insert(path.strip_prefix(top).unwrap().to_path_buf(), line);
            if meta.is_dir() {
                walk(top, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn is_mounted(path: &Path) -> bool {
    rwlayer::is_mount_point(path)
}

/// An overlay the check mounts itself (06.1), unmounted when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = umount2(&self.0, MntFlags::MNT_DETACH);
    }
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    let p = CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    // SAFETY: valid C strings and a buffer of the length given.
    let rc = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        rc,
        0,
        "setxattr {name} on {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

fn whiteout(path: &Path) {
    mknod(path, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0)).unwrap();
}

fn lchown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
}

/// The entries of a tar archive: path, type, mode, uid, gid, size, mtime,
/// user and group names, link name, content.
fn entries(tar: &[u8]) -> Vec<Value> {
    let mut archive = tar::Archive::new(tar);
    let mut found = Vec::new();
    for entry in archive.entries().expect("a tar archive") {
        let mut entry = entry.expect("a tar entry");
        let header = entry.header().clone();
        let path = entry.path().unwrap().display().to_string();
        let link = entry.link_name().unwrap().map(|l| l.display().to_string());
        let mut content = String::new();
        let _ = entry.read_to_string(&mut content);
        let kind = match header.entry_type() {
            tar::EntryType::Regular => "file",
            tar::EntryType::Directory => "dir",
            tar::EntryType::Symlink => "symlink",
            tar::EntryType::Link => "hardlink",
            tar::EntryType::Char => "char",
            tar::EntryType::Block => "block",
            tar::EntryType::Fifo => "fifo",
            _ => "other",
        };
        found.push(json!({
            "path": path,
            "type": kind,
            "mode": format!("{:o}", header.mode().unwrap()),
            "uid": header.uid().unwrap(),
            "gid": header.gid().unwrap(),
            "size": header.size().unwrap(),
            "mtime": header.mtime().unwrap(),
            "uname": header.username().ok().flatten().unwrap_or(""),
            "gname": header.groupname().ok().flatten().unwrap_or(""),
            "link": link,
            "content": content,
        }));
    }
    found
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let sum = sha2::Sha256::digest(bytes);
    let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

// ------------------------------------------------------------- 06.1

#[test]
fn t06_1_the_mount_data_lists_lowers_top_first_then_upper_and_work() {
    let t = |n| format!("/l/{}", random::token(n));
    let lowers: Vec<PathBuf> = (0..4).map(|_| PathBuf::from(t(8))).collect();
    let (upper, work) = (PathBuf::from(t(9)), PathBuf::from(t(10)));
    let dirs = Dirs {
        lowers: &lowers,
        upper: &upper,
        work: &work,
        userxattr: false,
        volatile: false,
    };
    let data = overlay::mount_data(&dirs).expect("mount_data");
    let top_first: Vec<String> = lowers
        .iter()
        .rev()
        .map(|l| l.display().to_string())
        .collect();
    let mut options: Vec<&str> = data.split(',').collect();
    options.sort();
    let mut expected = vec![
        format!("lowerdir={}", top_first.join(":")),
        format!("upperdir={}", upper.display()),
        format!("workdir={}", work.display()),
    ];
    expected.sort();
    assert_eq!(
        options, expected,
        "the lowers are given bottom-first (base layer first); overlay's lowerdir is \
         top-first, with every path once"
    );
    let rootless = overlay::mount_data(&Dirs {
        userxattr: true,
        ..dirs
    })
    .expect("mount_data with userxattr");
    assert!(
        rootless.split(',').any(|o| o == "userxattr"),
        "with userxattr the options must say so: {rootless:?}"
    );
    let volatile = overlay::mount_data(&Dirs {
        volatile: true,
        ..dirs
    })
    .expect("mount_data with volatile");
    assert!(
        volatile.split(',').any(|o| o == "volatile"),
        "with volatile the options must say so: {volatile:?}"
    );
    // A path overlay's parser would split must be refused, not mangled.
    for bad in [",", ":"] {
        let odd = vec![PathBuf::from(format!(
            "/l/{}{bad}{}",
            random::token(4),
            random::token(4)
        ))];
        let refused = overlay::mount_data(&Dirs {
            lowers: &odd,
            ..dirs
        });
        assert!(
            refused.is_err(),
            "a lower path with {bad:?} must be refused: overlay would read it as two \
             options or two layers; got {refused:?}"
        );
    }
}

#[test]
fn t06_1_the_top_layer_wins_and_writes_go_to_the_upper_only() {
    require_root(LAB);
    let setup = Setup::new();
    let tokens: Vec<String> = (0..3).map(|_| random::token(12)).collect();
    let only = format!("only-{}", random::token(6));
    let l1 = setup.layer("l1", &[("etc/f", &tokens[0]), (&only, "from l1")]);
    let l2 = setup.layer("l2", &[("etc/f", &tokens[1])]);
    let l3 = setup.layer("l3", &[("etc/f", &tokens[2])]);
    let dir = setup.check.dir().join("c");
    let (upper, work, merged) = (dir.join("upper"), dir.join("work"), dir.join("merged"));
    for d in [&upper, &work, &merged] {
        fs::create_dir_all(d).unwrap();
    }
    let before: Vec<_> = [&l1, &l2, &l3].iter().map(|l| fingerprint(l)).collect();
    let lowers = vec![l1.clone(), l2.clone(), l3.clone()];
    let dirs = Dirs {
        lowers: &lowers,
        upper: &upper,
        work: &work,
        userxattr: false,
        volatile: false,
    };
    overlay::mount_legacy(&dirs, &merged).expect("mount the overlay");
    let _mounted = Mounted(merged.clone());
    let seen = fs::read_to_string(merged.join("etc/f")).unwrap();
    assert_eq!(
        seen, tokens[2],
        "the last lower of the (bottom-first) list is the top layer: its etc/f must \
         hide the others' (lowerdir must list l3 first)"
    );
    assert!(
        merged.join(&only).exists(),
        "a file only in l1 must be seen through the overlay"
    );
    // Writes: a new file and a change to a lower file (a copy-up).
    let new = format!("new-{}", random::token(6));
    let text = random::token(20);
    fs::write(merged.join(&new), &text).expect("write a new file through the overlay");
    fs::write(merged.join("etc/f"), &text).expect("change a lower file through the overlay");
    assert_eq!(
        fs::read_to_string(upper.join(&new)).ok().as_deref(),
        Some(text.as_str()),
        "a new file must land in the upper directory"
    );
    assert_eq!(
        fs::read_to_string(upper.join("etc/f")).ok().as_deref(),
        Some(text.as_str()),
        "a changed lower file is copied up: the upper holds the new content"
    );
    let after: Vec<_> = [&l1, &l2, &l3].iter().map(|l| fingerprint(l)).collect();
    assert!(before == after, "the lower layers must never change");
}

// ------------------------------------------------------------- 06.2

#[test]
fn t06_2_a_file_written_in_one_container_is_invisible_to_another() {
    require_root(LAB);
    let setup = Setup::new();
    let lower = setup.layer("app", &[("app/version", &random::token(8))]);
    let before = (fingerprint(&setup.base), fingerprint(&lower));
    let name = format!("/{}", random::token(10));
    let text_a = random::token(16);
    let (a, b) = (random::token(8), random::token(8));
    // A keeps its layer after it exits; B runs on the same lowers meanwhile.
    let out = setup.run(&[&setup.base, &lower], Some(&a), &["write", &name, &text_a]);
    assert_eq!(
        out.json()["ok"],
        true,
        "A's write failed: {}",
        out.describe()
    );
    let out = setup.run_any(&[&setup.base, &lower], Some(&b), &["cat", &name]);
    assert_eq!(
        (out.json()["ok"].clone(), out.json()["errno"].clone()),
        (json!(false), json!(libc::ENOENT)),
        "container B sees {name}, written by container A: each container needs an \
         upper (and work) directory of its own"
    );
    assert_eq!(
        fs::read_to_string(setup.layer_dir(&a).join("upper").join(&name[1..])).ok(),
        Some(text_a.clone()),
        "A's write must be in A's own upper directory"
    );
    assert!(
        !setup.layer_dir(&b).join("upper").join(&name[1..]).exists(),
        "B's upper holds A's file"
    );
    assert!(
        before == (fingerprint(&setup.base), fingerprint(&lower)),
        "the lower layers must never change"
    );
    setup.rm(&a);
    setup.rm(&b);
}

#[test]
fn t06_2_removing_a_container_removes_its_upper_and_keeps_the_lowers() {
    require_root(LAB);
    let setup = Setup::new();
    let victim = format!("{}.conf", random::token(8));
    let lower = setup.layer("app", &[(&format!("etc/{victim}"), &random::token(8))]);
    let before = (fingerprint(&setup.base), fingerprint(&lower));
    let id = random::token(10);
    let written = format!("/tmp/{}", random::token(8));
    let out = setup.run(
        &[&setup.base, &lower],
        Some(&id),
        &[
            "write",
            &written,
            &random::token(8),
            "then",
            "rm",
            &format!("/etc/{victim}"),
            "then",
            "write",
            "/etc/passwd",
            &random::token(8),
        ],
    );
    assert!(
        out.json_lines().iter().all(|l| l["ok"] == true),
        "the container's writes and its rm failed: is the upper writable?\n{}",
        out.describe()
    );
    let dir = setup.layer_dir(&id);
    assert!(
        !is_mounted(&dir.join("merged")),
        "`run --keep` leaves the layer unmounted once the container is gone"
    );
    assert!(
        dir.join("upper").is_dir(),
        "--keep keeps the upper directory"
    );
    setup.rm(&id);
    assert!(
        !dir.exists(),
        "after `rm {id}`, {} (its upper and work) must be gone",
        dir.display()
    );
    assert!(
        before == (fingerprint(&setup.base), fingerprint(&lower)),
        "removing a container must leave its lower layers as they were"
    );
    // Without --keep, run removes the layer by itself.
    setup.run(&[&setup.base], None, &["true"]);
    let left: Vec<_> = fs::read_dir(setup.root.join("layers"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "`run` without --keep leaves {left:?}");
}

/// CVE-2019-5736: `dockyard-06 run` makes its container in its own
/// process, so until the container's program execs, that process is
/// `dockyard-06`. Looked at from the host while the container runs, the
/// engine's `/proc/PID/exe` must be out of a write's reach: it
/// re-executed from a sealed copy of itself (lab 05's `exe.rs`) first.
#[test]
fn t06_2_the_engine_runs_from_a_sealed_copy_of_itself() {
    require_root(LAB);
    let setup = Setup::new();
    let mut cmd = Command::new(BIN);
    cmd.arg("--root").arg(&setup.root).arg("run");
    cmd.arg("--lower").arg(&setup.base);
    cmd.args(["--", "/probe", "sleep", "1"]);
    let (out, exe) = kit::sealed::run_watching_exe(
        &mut cmd,
        DEADLINE,
        "`dockyard-06 run … /probe sleep 1` did not return",
    );
    assert_eq!(
        out.code,
        Some(0),
        "`dockyard-06 run … /probe sleep 1` failed\n{}",
        out.describe()
    );
    kit::sealed::assert_sealed(&exe, "dockyard-06 run");
}

#[test]
fn t06_2_a_failure_at_every_step_leaves_nothing_mounted() {
    require_root(LAB);
    let setup = Setup::new();
    let base = setup.base.display().to_string();
    let steps = [
        rwlayer::STEP_DIRS,
        rwlayer::STEP_MOUNT,
        rwlayer::STEP_RECORD,
        layers::cli::STEP_BUNDLE,
    ];
    for step in steps {
        let id = random::token(10);
        let out = setup.dy(&[
            "run",
            "--lower",
            &base,
            "--name",
            &id,
            "--fail-at",
            step,
            "--",
            "/probe",
            "true",
        ]);
        assert_ne!(
            out.code,
            Some(0),
            "run with step {step:?} failing succeeded"
        );
        assert!(
            out.stderr.contains(step),
            "the error should name the step {step:?}\n{}",
            out.describe()
        );
        let dir = setup.layer_dir(&id);
        assert!(
            !is_mounted(&dir.join("merged")),
            "a failure at {step:?} leaves the overlay mounted"
        );
        assert!(
            !dir.exists(),
            "a failure at {step:?} leaves {}",
            dir.display()
        );
    }
    // A lower that does not exist: a clear error, nothing left.
    let id = random::token(10);
    let missing = setup.check.dir().join(random::token(8));
    let out = setup.dy(&[
        "create",
        "--lower",
        &base,
        "--lower",
        &missing.display().to_string(),
        &id,
    ]);
    assert_ne!(out.code, Some(0), "a missing lower layer must be an error");
    assert!(
        !setup.layer_dir(&id).exists(),
        "a refused create leaves its directory"
    );
}

#[test]
fn t06_2_rm_cleans_up_a_layer_whose_creator_was_killed() {
    require_root(LAB);
    let setup = Setup::new();
    let base = setup.base.display().to_string();
    let before = fingerprint(&setup.base);
    let id = random::token(10);
    let out = setup.dy(&["create", "--lower", &base, &id]);
    assert_eq!(out.code, Some(0), "create failed\n{}", out.describe());
    let dir = setup.layer_dir(&id);
    assert!(
        is_mounted(&dir.join("merged")),
        "create leaves the layer mounted"
    );
    fs::write(dir.join("merged").join(random::token(6)), "x").expect("the merged root is writable");
    // As if create had been SIGKILLed after the mount, before its record.
    fs::remove_file(dir.join("layer.json")).expect("create records the layer in layer.json");
    setup.rm(&id);
    assert!(
        !is_mounted(&dir.join("merged")),
        "rm must unmount a half-made layer"
    );
    assert!(!dir.exists(), "rm must remove a half-made layer");
    assert!(
        before == fingerprint(&setup.base),
        "rm must leave the lower layer as it was"
    );
}

#[test]
fn t06_2_fifty_containers_share_one_copy_of_the_lowers() {
    require_root(LAB);
    let setup = Setup::new();
    const MIB: usize = 1 << 20;
    let size = 8 * MIB;
    let mut big = vec![0u8; size];
    fastrand::fill(&mut big);
    let lower = setup.check.dir().join("big");
    fs::create_dir_all(&lower).unwrap();
    fs::write(lower.join("blob"), &big).unwrap();
    let usage = |dir: &Path| -> u64 {
        fn blocks(path: &Path) -> u64 {
            let meta = fs::symlink_metadata(path).unwrap();
            let mut total = meta.blocks() * 512;
            if meta.is_dir() {
                for entry in fs::read_dir(path).unwrap() {
                    total += blocks(&entry.unwrap().path());
                }
            }
            total
        }
        blocks(dir)
    };
    let store = setup.root.join("layers");
    let ids: Vec<String> = (0..50)
        .map(|i| format!("c{i}-{}", random::token(4)))
        .collect();
    let made: Vec<_> = ids
        .iter()
        .map(|id| {
            setup
                .check
                .within(DEADLINE, "rwlayer::create did not return", || {
                    rwlayer::create(
                        &store,
                        id,
                        &[setup.base.clone(), lower.clone()],
                        &CreateOptions::default(),
                    )
                })
        })
        .collect();
    let mut used = 0;
    for (id, layer) in ids.iter().zip(&made) {
        let layer = layer
            .as_ref()
            .unwrap_or_else(|e| panic!("create {id}: {e}"));
        let mut head = vec![0u8; 4096];
        fs::File::open(layer.rootfs().join("blob"))
            .and_then(|mut f| f.read_exact(&mut head))
            .unwrap_or_else(|e| panic!("{id} cannot read the lower's file: {e}"));
        assert_eq!(
            head,
            big[..4096],
            "{id} sees another content than the lower's"
        );
        used += usage(&layer.upper()) + usage(&layer.dir.join("work"));
    }
    for id in &ids {
        rwlayer::remove(&store, id).unwrap_or_else(|e| panic!("remove {id}: {e}"));
    }
    eprintln!("50 read/write layers over an 8 MiB lower use {used} bytes");
    assert!(
        used < MIB as u64,
        "50 containers' read/write layers use {used} bytes over an 8 MiB lower: the \
         lowers must be shared, not copied (an overlay copies a file up only when it is written)"
    );
}

// ------------------------------------------------------------- 06.3

/// 101 layers with long paths (far more than a page of mount data), each
/// with the same file `/f` of random content and one file of its own,
/// run with `--many-layers HOW`: inside, the top layer's `/f`, all 100
/// files, and the root mount's options as mountinfo shows them.
fn hundred_layers(setup: &Setup, how: &str) -> String {
    let mut lowers = vec![setup.base.clone()];
    let mut top = String::new();
    for i in 0..100 {
        top = random::token(12);
        // Long names, as a real store's (sha256 ids): 100 of them are far
        // more than mount(2)'s one page.
        let name = format!("{i:03}-{}", random::token(48));
        lowers.push(setup.layer(&name, &[("f", &top), (&format!("each/{i:03}"), "")]));
    }
    let dirs_len: usize = lowers.iter().map(|l| l.as_os_str().len() + 1).sum();
    assert!(
        dirs_len > MOUNT_DATA_MAX,
        "the check's layers must not fit in a page"
    );
    let id = random::token(10);
    let mut args: Vec<String> = vec!["run".into(), "--many-layers".into(), how.into()];
    for lower in &lowers {
        args.push("--lower".into());
        args.push(lower.display().to_string());
    }
    args.extend(["--name".into(), id.clone(), "--keep".into(), "--".into()]);
    args.extend(
        [
            "/probe",
            "cat",
            "/f",
            "then",
            "ls",
            "/each",
            "then",
            "cat",
            "/proc/self/mountinfo",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = setup.dy(&args);
    assert_eq!(
        out.code,
        Some(0),
        "`dockyard-06 run --many-layers {how}` with 101 layers failed\n{}",
        out.describe()
    );
    let lines = out.json_lines();
    assert_eq!(
        lines[0]["content"], top,
        "with 101 layers ({how}), /f must come from the last layer of the list (the top)"
    );
    let seen = lines[1]["entries"].as_array().map_or(0, Vec::len);
    assert_eq!(
        seen, 100,
        "every layer's file must be seen ({how}): /each has {seen} of 100"
    );
    let mountinfo = lines[2]["content"].as_str().unwrap_or_default().to_owned();
    setup.rm(&id);
    assert!(
        !setup.layer_dir(&id).exists(),
        "rm must remove the layer's directory, its short links included"
    );
    // The container's `/`: the last mount on "/" (lab 05 mounts nothing over it).
    let root = shared::mountinfo::parse(&mountinfo)
        .into_iter()
        .rev()
        .find(|m| m.mount_point == "/")
        .unwrap_or_else(|| panic!("no / in the container's mountinfo:\n{mountinfo}"));
    assert_eq!(
        root.fs_type, "overlay",
        "the container's / must be the overlay"
    );
    root.super_options
}

/// The `lowerdir` of an overlay's options, as mountinfo shows them: the
/// names in `lowerdir=A:B` and each `lowerdir+=A` (Linux 6.8+ shows the
/// layers one by one when they were given so).
fn shown_lowers(options: &str) -> Vec<String> {
    options
        .split(',')
        .flat_map(|o| {
            if let Some(list) = o.strip_prefix("lowerdir=") {
                list.split(':').map(str::to_owned).collect()
            } else if let Some(one) = o.strip_prefix("lowerdir+=") {
                vec![one.to_owned()]
            } else {
                Vec::new()
            }
        })
        .collect()
}

#[test]
fn t06_3_a_hundred_layers_mount_and_the_top_one_wins() {
    require_root(LAB);
    let setup = Setup::new();
    // The path this kernel must get: lowerdir+ where overlay takes it.
    let plus = shared::overlay::takes_lowerdir_plus(setup.check.dir())
        .unwrap_or_else(|errno| panic!("cannot ask the kernel about lowerdir+: errno {errno}"));
    let options = hundred_layers(&setup, "auto");
    let lowers = shown_lowers(&options);
    assert_eq!(
        lowers.len(),
        101,
        "101 lowers in the root's options: {options}"
    );
    if plus {
        assert!(
            options.contains("lowerdir+=") && lowers.iter().all(|l| l.starts_with('/')),
            "this kernel takes lowerdir+ (Linux 6.8+): the root must be mounted with one \
             absolute lowerdir+ per layer (mount_many), not fall back to short links; \
             did mount_many fail, and the fallback hide it? Options: {options}"
        );
    } else {
        assert!(
            lowers.iter().all(|l| !l.starts_with('/')),
            "this kernel has no lowerdir+: the root must be mounted with short links \
             (relative lowerdir). Options: {options}"
        );
    }
}

#[test]
fn t06_3_short_links_mount_a_hundred_layers_on_any_kernel() {
    require_root(LAB);
    let setup = Setup::new();
    let options = hundred_layers(&setup, "short-links");
    let lowers = shown_lowers(&options);
    assert_eq!(
        lowers.len(),
        101,
        "101 lowers in the root's options: {options}"
    );
    assert!(
        lowers
            .iter()
            .all(|l| !l.starts_with('/') && !l.is_empty() && l.len() <= 32),
        "with short links, lowerdir names each layer by a short link, relative to the \
         links directory the mount is made from (`100:99:…:0`), never by an absolute \
         path. Options: {options}"
    );
    let distinct: std::collections::BTreeSet<&String> = lowers.iter().collect();
    assert_eq!(distinct.len(), 101, "one link per layer: {options}");
}

// ------------------------------------------------------------- 06.4

#[test]
fn t06_4_a_deleted_lower_file_is_a_whiteout_and_a_remade_dir_is_opaque() {
    require_root(LAB);
    let setup = Setup::new();
    let (gone, remade, kept) = (random::token(8), random::token(8), random::token(8));
    let lower = setup.layer(
        "app",
        &[
            (&format!("etc/{gone}"), "old"),
            (&format!("srv/{remade}/a"), "a"),
            (&format!("srv/{remade}/b"), "b"),
            (&format!("srv/{kept}/x"), "x"),
        ],
    );
    let before = fingerprint(&lower);
    let id = random::token(10);
    let new_file = random::token(6);
    setup.run(
        &[&setup.base, &lower],
        Some(&id),
        &[
            "rm",
            &format!("/etc/{gone}"),
            "then",
            "rm",
            &format!("/srv/{remade}"),
            "then",
            "mkdir",
            &format!("/srv/{remade}"),
            "then",
            "write",
            &format!("/srv/{remade}/{new_file}"),
            "c",
            "then",
            "write",
            &format!("/srv/{kept}/y"),
            "y",
        ],
    );
    let upper = setup.layer_dir(&id).join("upper");
    let wh = fs::symlink_metadata(upper.join("etc").join(&gone))
        .expect("the upper has an entry for the deleted file");
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(&wh.file_type()) && wh.rdev() == 0,
        "overlay marks a deleted lower file with a 0/0 character device"
    );
    assert!(
        before == fingerprint(&lower),
        "deleting inside the container must not touch the lower"
    );
    let found: BTreeMap<PathBuf, Kind> = changes::changes(&upper, false)
        .expect("changes of the upper")
        .into_iter()
        .map(|c| (c.path, c.kind))
        .collect();
    let at = |p: String| found.get(Path::new(&p)).copied();
    assert_eq!(at(format!("etc/{gone}")), Some(Kind::Whiteout), "{found:?}");
    assert_eq!(
        at(format!("srv/{remade}")),
        Some(Kind::Dir { opaque: true }),
        "a directory removed and made again is opaque: {found:?}"
    );
    assert_eq!(
        at(format!("srv/{kept}")),
        Some(Kind::Dir { opaque: false }),
        "a directory copied up to hold a new file is not opaque: {found:?}"
    );
    assert_eq!(
        at("srv".into()),
        Some(Kind::Dir { opaque: false }),
        "{found:?}"
    );
    assert_eq!(
        at(format!("srv/{remade}/{new_file}")),
        Some(Kind::File),
        "{found:?}"
    );
    setup.rm(&id);
}

#[test]
fn t06_4_only_a_0_0_device_and_the_mounts_own_xattr_count() {
    require_root(LAB);
    let check = Check::new();
    let upper = check.dir().join("upper");
    fs::create_dir_all(upper.join("trusted")).unwrap();
    fs::create_dir_all(upper.join("user")).unwrap();
    fs::create_dir_all(upper.join("plain")).unwrap();
    set_xattr(&upper.join("trusted"), "trusted.overlay.opaque", b"y");
    set_xattr(&upper.join("user"), "user.overlay.opaque", b"y");
    whiteout(&upper.join("wh"));
    mknod(
        &upper.join("null"),
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o666),
        makedev(1, 3),
    )
    .unwrap();
    let kinds = |userxattr| -> BTreeMap<String, Kind> {
        changes::changes(&upper, userxattr)
            .expect("changes")
            .into_iter()
            .map(|c| (c.path.display().to_string(), c.kind))
            .collect()
    };
    let rootful = kinds(false);
    assert_eq!(rootful["wh"], Kind::Whiteout);
    assert_eq!(
        rootful["null"],
        Kind::Special,
        "only a 0/0 character device is a whiteout; /dev/null's 1/3 is a device"
    );
    assert_eq!(rootful["trusted"], Kind::Dir { opaque: true });
    assert_eq!(
        rootful["user"],
        Kind::Dir { opaque: false },
        "without userxattr, user.overlay.opaque is a container's own xattr, not overlay's"
    );
    assert_eq!(rootful["plain"], Kind::Dir { opaque: false });
    let rootless = kinds(true);
    assert_eq!(
        rootless["user"],
        Kind::Dir { opaque: true },
        "with userxattr, user.overlay.opaque counts"
    );
    assert_eq!(
        rootless["trusted"],
        Kind::Dir { opaque: false },
        "with userxattr, trusted.* is not overlay's"
    );
}

#[test]
fn t06_4_a_rootless_overlay_keeps_its_marks_in_user_xattrs() {
    require_root(LAB);
    let setup = Setup::new();
    let (gone, remade) = (random::token(8), random::token(8));
    let lower = setup.layer(
        "app",
        &[
            (&format!("etc/{gone}"), "old"),
            (&format!("srv/{remade}/a"), "a"),
        ],
    );
    let id = random::token(10);
    let merged = setup.layer_dir(&id).join("merged");
    let m = merged.display();
    // In a user namespace of its own (root mapped to root, as rootless
    // engines map the user's uid): the mount lives and dies with it.
    let script = format!(
        "{BIN} --root {root} create --userxattr --lower {base} --lower {lower} {id} >/dev/null && \
         rm {m}/etc/{gone} && rm -r {m}/srv/{remade} && mkdir {m}/srv/{remade} && \
         echo new > {m}/srv/{remade}/b",
        root = setup.root.display(),
        base = setup.base.display(),
        lower = lower.display(),
    );
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--user",
        "--map-root-user",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
    ]);
    let out = kit::run_or(
        &mut cmd,
        DEADLINE,
        "the rootless overlay did not finish: does create return once it is mounted?",
    );
    assert_eq!(
        out.code,
        Some(0),
        "an overlay with userxattr in a user namespace (`cargo xtask doctor` says whether \
         this kernel allows it)\n{}",
        out.describe()
    );
    let upper = setup.layer_dir(&id).join("upper");
    let found: BTreeMap<PathBuf, Kind> = changes::changes(&upper, true)
        .expect("changes of a rootless upper")
        .into_iter()
        .map(|c| (c.path, c.kind))
        .collect();
    let at = |p: String| found.get(Path::new(&p)).copied();
    assert_eq!(at(format!("etc/{gone}")), Some(Kind::Whiteout), "{found:?}");
    assert_eq!(
        at(format!("srv/{remade}")),
        Some(Kind::Dir { opaque: true }),
        "a rootless overlay marks an opaque directory with user.overlay.opaque: {found:?}"
    );
    let rootful = changes::changes(&upper, false).expect("changes");
    assert!(
        rootful.iter().all(|c| c.kind != Kind::Dir { opaque: true }),
        "read as a rootful upper (trusted.*), nothing is opaque: the prefix must follow the mount"
    );
    setup.rm(&id);
}

#[test]
fn t06_4_an_unpacked_layers_whiteouts_and_opaque_dirs_hide_the_lower_files() {
    require_root(LAB);
    let setup = Setup::new();
    let (gone, dir, kept) = (random::token(8), random::token(8), random::token(8));
    let bottom = setup.layer(
        "bottom",
        &[
            (&format!("etc/{gone}"), "old"),
            (&format!("srv/{dir}/{kept}"), "old"),
        ],
    );
    // A layer as lab 08 unpacks one: `.wh.NAME` and `.wh..wh..opq` become
    // overlay's marks.
    let top = setup.layer("top", &[(&format!("srv/{dir}/new"), "new")]);
    fs::create_dir_all(top.join("etc")).unwrap();
    changes::make_whiteout(&top.join("etc").join(&gone)).expect("make_whiteout");
    changes::make_opaque(&top.join("srv").join(&dir), false).expect("make_opaque");
    let found: BTreeMap<PathBuf, Kind> = changes::changes(&top, false)
        .expect("changes of the unpacked layer")
        .into_iter()
        .map(|c| (c.path, c.kind))
        .collect();
    assert_eq!(
        found.get(&Path::new("etc").join(&gone)),
        Some(&Kind::Whiteout)
    );
    assert_eq!(
        found.get(&Path::new("srv").join(&dir)),
        Some(&Kind::Dir { opaque: true })
    );
    let out = setup.run_any(
        &[&setup.base, &bottom, &top],
        None,
        &[
            "ls",
            &format!("/srv/{dir}"),
            "then",
            "cat",
            &format!("/etc/{gone}"),
        ],
    );
    let lines = out.json_lines();
    let names: Vec<&str> = lines
        .first()
        .and_then(|l| l["entries"].as_array())
        .map(|e| e.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        ["new"],
        "an opaque directory in a higher layer hides the lower's entries\n{}",
        out.describe()
    );
    assert_eq!(
        lines.get(1).map(|l| l["errno"].clone()),
        Some(json!(libc::ENOENT)),
        "a whiteout in a higher layer hides the lower's file\n{}",
        out.describe()
    );
}

// ------------------------------------------------------------- 06.5

/// An upper made by hand, the same on every kernel.
fn hand_made_upper(dir: &Path, uid: u32, gid: u32) -> BTreeMap<&'static str, String> {
    let mut contents = BTreeMap::new();
    let mut file = |path: &'static str, mode: u32| {
        let text = random::token(16);
        let full = dir.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(&full, &text).unwrap();
        fs::set_permissions(&full, fs::Permissions::from_mode(mode)).unwrap();
        contents.insert(path, text);
    };
    file("etc/hosts", 0o644);
    file("usr/bin/tool", 0o755);
    file("srv/new/c", 0o600);
    file("opt/p/q/r", 0o644);
    file("home/u/owned", 0o640);
    // A whiteout: etc/motd was deleted.
    whiteout(&dir.join("etc/motd"));
    // srv/new: removed and made again; opt/p opaque, and opt/p/q too (nested).
    set_xattr(&dir.join("srv/new"), "trusted.overlay.opaque", b"y");
    set_xattr(&dir.join("opt/p"), "trusted.overlay.opaque", b"y");
    set_xattr(&dir.join("opt/p/q"), "trusted.overlay.opaque", b"y");
    // A whiteout inside an opaque directory's sibling.
    whiteout(&dir.join("opt/gone"));
    symlink("../usr/bin/tool", dir.join("etc/tool")).unwrap();
    fs::hard_link(dir.join("usr/bin/tool"), dir.join("usr/bin/tool2")).unwrap();
    // A file owned by someone: ids must be kept, as the container saw them.
    lchown(&dir.join("home/u"), uid, gid);
    lchown(&dir.join("home/u/owned"), uid, gid);
    for d in [
        "", "etc", "usr", "usr/bin", "srv", "srv/new", "opt", "opt/p", "opt/p/q", "home", "home/u",
    ] {
        fs::set_permissions(dir.join(d), fs::Permissions::from_mode(0o755)).unwrap();
    }
    contents
}

/// Set every entry's mtime and atime below `dir` to `secs`.
fn touch_all(dir: &Path, secs: i64) {
    let time = nix::sys::time::TimeSpec::new(secs, 0);
    for path in fingerprint(dir).keys() {
        let _ = nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            &dir.join(path),
            &time,
            &time,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        );
    }
}

#[test]
fn t06_5_the_diff_is_an_oci_layer_matching_the_snapshot() {
    require_root(LAB);
    let check = Check::new();
    let upper = check.dir().join("upper");
    fs::create_dir(&upper).unwrap();
    let (uid, gid) = (random::int(1000..=60000), random::int(1000..=60000));
    let contents = hand_made_upper(&upper, uid, gid);
    touch_all(&upper, i64::from(random::int(1_000_000..=1_700_000_000)));
    let mtime = u64::from(random::int(1..=1_700_000_000));
    let mut tar = Vec::new();
    let opts = DiffOptions {
        mtime,
        ..DiffOptions::default()
    };
    let digests = check
        .within(DEADLINE, "diff did not return", || {
            diff(&upper, &mut tar, &opts)
        })
        .expect("diff");
    let mut listed = entries(&tar);
    for entry in &mut listed {
        let path = entry["path"]
            .as_str()
            .unwrap()
            .trim_end_matches('/')
            .to_string();
        assert_eq!(
            entry["mtime"], mtime,
            "{path}: every mtime must be DiffOptions::mtime, not the host file's"
        );
        assert_eq!(
            entry["uname"], "",
            "{path}: no user names (they are the host's /etc/passwd's)"
        );
        assert_eq!(entry["gname"], "", "{path}: no group names");
        if path.starts_with("home/u") {
            assert_eq!(
                (entry["uid"].clone(), entry["gid"].clone()),
                (json!(uid), json!(gid)),
                "{path}: owner kept"
            );
            entry["uid"] = json!("[uid]");
            entry["gid"] = json!("[gid]");
        }
        if let Some(text) = contents.get(path.as_str()) {
            assert_eq!(entry["content"], *text, "{path}: the file's content");
            entry["content"] = json!("[content]");
        }
        entry["mtime"] = json!("[mtime]");
        entry.as_object_mut().unwrap().remove("uname");
        entry.as_object_mut().unwrap().remove("gname");
    }
    kit::insta::assert_json_snapshot!("hand_made_upper_diff", listed);
    assert_eq!(
        digests.diff_id,
        sha256_hex(&tar),
        "diff_id is the sha256 of the tar"
    );
    assert_eq!(
        digests.digest, digests.diff_id,
        "uncompressed: digest = diff_id"
    );
    assert_eq!(digests.size, tar.len() as u64);
    // The same change again, with other host times: the same digest.
    touch_all(&upper, i64::from(random::int(1_000_000..=1_700_000_000)));
    let mut again = Vec::new();
    let second = diff(&upper, &mut again, &opts).expect("diff");
    assert_eq!(
        second, digests,
        "the same upper must give the same digest (host mtimes must not leak)"
    );
    // gzip: the digest is the compressed bytes', the diff_id the tar's.
    let mut gz = Vec::new();
    let zipped = diff(
        &upper,
        &mut gz,
        &DiffOptions {
            gzip: true,
            ..opts.clone()
        },
    )
    .expect("diff --gzip");
    assert_eq!(
        zipped.diff_id, digests.diff_id,
        "gzip does not change the diff_id"
    );
    assert_eq!(
        zipped.digest,
        sha256_hex(&gz),
        "the digest is of the compressed bytes"
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut unzipped)
        .expect("a gzip stream");
    assert!(unzipped == tar, "the gzip stream holds the same tar");
}

#[test]
fn t06_5_a_rootless_upper_gives_the_containers_ids() {
    require_root(LAB);
    let check = Check::new();
    let upper = check.dir().join("upper");
    fs::create_dir_all(upper.join("d")).unwrap();
    fs::write(upper.join("d/f"), random::token(8)).unwrap();
    let shift = random::int(100_000..=200_000) & !0xffff;
    let (uid, gid) = (random::int(1..=999), random::int(1..=999));
    lchown(&upper.join("d"), shift, shift);
    lchown(&upper.join("d/f"), shift + uid, shift + gid);
    let mut tar = Vec::new();
    let opts = DiffOptions {
        id_shift: shift,
        ..DiffOptions::default()
    };
    diff(&upper, &mut tar, &opts).expect("diff with id_shift");
    let listed = entries(&tar);
    let f = listed
        .iter()
        .find(|e| e["path"] == "d/f")
        .expect("d/f in the layer");
    assert_eq!(
        (f["uid"].clone(), f["gid"].clone()),
        (json!(uid), json!(gid)),
        "a rootless upper holds host ids (first id {shift}): the layer must hold the container's"
    );
    let d = listed
        .iter()
        .find(|e| e["path"].as_str().unwrap().trim_end_matches('/') == "d")
        .unwrap();
    assert_eq!((d["uid"].clone(), d["gid"].clone()), (json!(0), json!(0)));
    // A file owned by a host id below the container's range is an error.
    lchown(&upper.join("d/f"), 0, 0);
    assert!(
        diff(&upper, std::io::sink(), &opts).is_err(),
        "a host id outside the container's range cannot be mapped: refuse it"
    );
}

#[test]
fn t06_5_two_containers_making_the_same_change_give_the_same_digest() {
    require_root(LAB);
    let setup = Setup::new();
    let (gone, dir, text) = (random::token(8), random::token(8), random::token(24));
    let lower = setup.layer(
        "app",
        &[
            (&format!("etc/{gone}"), "old"),
            (&format!("srv/{dir}/a"), "a"),
        ],
    );
    let change = [
        "rm".to_string(),
        format!("/etc/{gone}"),
        "then".into(),
        "rm".into(),
        format!("/srv/{dir}"),
        "then".into(),
        "mkdir".into(),
        format!("/srv/{dir}"),
        "then".into(),
        "write".into(),
        format!("/srv/{dir}/b"),
        text.clone(),
    ];
    let change: Vec<&str> = change.iter().map(String::as_str).collect();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let id = random::token(10);
        setup.run(&[&setup.base, &lower], Some(&id), &change);
        let out_file = setup.check.dir().join(format!("{id}.tar"));
        let out = setup.dy(&["diff", &id, "-o", &out_file.display().to_string()]);
        assert_eq!(out.code, Some(0), "diff failed\n{}", out.describe());
        let digests = out.json();
        let tar = fs::read(&out_file).unwrap();
        let listed = entries(&tar);
        let find = |p: &str| {
            listed
                .iter()
                .find(|e| e["path"].as_str().unwrap().trim_end_matches('/') == p)
                .cloned()
        };
        let wh = find(&format!("etc/.wh.{gone}"))
            .unwrap_or_else(|| panic!("no etc/.wh.{gone} in {listed:#?}"));
        assert_eq!(
            wh["type"], "file",
            "a whiteout is an empty regular file in a layer, not a device"
        );
        assert_eq!(wh["size"], 0);
        assert!(
            find(&format!("etc/{gone}")).is_none(),
            "the whiteout device itself must not be in the layer"
        );
        assert!(
            find(&format!("srv/{dir}/{OPAQUE_MARKER}")).is_some(),
            "srv/{dir} was removed and made again: the layer needs srv/{dir}/{OPAQUE_MARKER}"
        );
        assert_eq!(
            find(&format!("srv/{dir}/b")).map(|e| e["content"].clone()),
            Some(json!(text))
        );
        seen.push(digests["diffId"].clone());
        setup.rm(&id);
    }
    assert_eq!(
        seen[0], seen[1],
        "the same change in two containers must give the same diff_id (sorted entries, \
         fixed mtimes, no host names)"
    );
}
