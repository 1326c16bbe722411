//! The checks of lab 08. Each is named `t08_K_…` after the task it checks.
//!
//! 08.1 and 08.2 are checked through the library (a blob, a layer: no
//! container needed); 08.3 drives `dockyard-08` the way a user does, with
//! a `docker save` archive the kit makes from busybox and the probe (no
//! download); 08.4 calls the pure config function with random values, and
//! then observes the result from inside a container with the probe.
//!
//! Every hostile layer aims at a file *outside* the unpack directory but
//! inside the check's temp dir, so a wrong unpacker is caught writing
//! there and the host itself is never at risk.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use images::config::{self, RunOptions, UserFiles};
use images::store::Store;
use images::unpack::{self, Limits, Options};
use kit::rootfs::Rootfs;
use kit::{Check, DEADLINE, Report, probe, random, require_root};
use serde_json::{Value, json};

const LAB: &str = "08";
const BIN: &str = env!("CARGO_BIN_EXE_dockyard-08");

// ------------------------------------------------------------- helpers

/// A tar stream written header by header, so that names the `tar` crate
/// refuses to write (`..`, absolute paths) can be made: hostile layers.
#[derive(Default)]
struct RawTar(Vec<u8>);

impl RawTar {
    fn entry(
        &mut self,
        name: &str,
        kind: tar::EntryType,
        link: &str,
        data: &[u8],
        mode: u32,
    ) -> &mut RawTar {
        assert!(
            name.len() < 100 && link.len() < 100,
            "short names only: {name}"
        );
        let mut header = tar::Header::new_gnu();
        {
            let old = header.as_old_mut();
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(1_600_000_000);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        self.0.extend_from_slice(header.as_bytes());
        self.0.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.0.extend(std::iter::repeat_n(0u8, pad));
        self
    }
    fn file(&mut self, name: &str, data: &[u8]) -> &mut RawTar {
        self.entry(name, tar::EntryType::Regular, "", data, 0o644)
    }
    fn dir(&mut self, name: &str) -> &mut RawTar {
        self.entry(name, tar::EntryType::Directory, "", b"", 0o755)
    }
    fn symlink(&mut self, name: &str, target: &str) -> &mut RawTar {
        self.entry(name, tar::EntryType::Symlink, target, b"", 0o777)
    }
    fn hardlink(&mut self, name: &str, target: &str) -> &mut RawTar {
        self.entry(name, tar::EntryType::Link, target, b"", 0o644)
    }
    fn bytes(&self) -> Vec<u8> {
        let mut out = self.0.clone();
        out.extend(std::iter::repeat_n(0u8, 1024));
        out
    }
}

fn layer_name() -> String {
    kit::image::sha256(random::token(16).as_bytes())
}

/// Unpack `bytes` as the layer `name` into `dest`.
fn unpack_bytes(
    name: &str,
    bytes: &[u8],
    dest: &Path,
    privileged: bool,
    limits: Limits,
) -> images::Result<unpack::Unpacked> {
    let options = Options { limits, privileged };
    unpack::unpack_with(name, &mut &bytes[..], None, dest, &options)
}

/// Every file under `dir` (relative paths), for "nothing else changed".
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `dockyard-08 --state-dir STATE ARGS…` under the kit's deadline.
fn dockyard(state: &Path, args: &[&str]) -> kit::Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--state-dir").arg(state).args(args);
    kit::run_or(
        &mut cmd,
        DEADLINE * 3,
        &format!("`dockyard-08 {}` did not return", args.join(" ")),
    )
}

fn ok(out: &kit::Output, what: &str) -> String {
    assert_eq!(
        out.code,
        Some(0),
        "`dockyard-08 {what}` failed:\n{}",
        out.describe()
    );
    out.stdout.clone()
}

/// Every blob in the store hashes to its name.
fn assert_blobs_true(state: &Path) {
    let blobs = state.join("images/blobs/sha256");
    for entry in fs::read_dir(&blobs).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = fs::read(entry.path()).unwrap();
        assert_eq!(
            kit::image::sha256(&bytes),
            format!("sha256:{name}"),
            "blobs/sha256/{name} does not hash to its name: a blob must be checked before it gets its name"
        );
    }
}

/// A rootfs with busybox and the probe, plus a top layer with the image's
/// own files: a user and a group with random names and ids, a work dir,
/// a marker file with random content.
struct Fixture {
    archive: kit::image::Archive,
    name: String,
    user: (String, u32, u32),
    group: (String, u32),
    workdir: String,
    img_var: String,
    marker: String,
    extra_gid: u32,
}

fn fixture(dir: &Path, config: impl FnOnce(&Fixture) -> Value) -> Fixture {
    let base = dir.join("base");
    if !base.exists() {
        Rootfs::create(&base, probe()).expect("make the base rootfs");
    }
    let top = dir.join(format!("top-{}", random::token(6)));
    let user = (
        format!("u{}", random::token(6)),
        random::int(1000..=60000),
        random::int(1000..=60000),
    );
    let group = (format!("g{}", random::token(6)), random::int(1000..=60000));
    let workdir = format!("/w{}", random::token(6));
    let marker = random::token(24);
    fs::create_dir_all(top.join("etc")).unwrap();
    fs::create_dir_all(top.join(workdir.trim_start_matches('/'))).unwrap();
    fs::write(
        top.join("etc/passwd"),
        format!(
            "root:x:0:0:root:/root:/bin/sh\n{}:x:{}:{}::/home/{}:/bin/sh\n",
            user.0, user.1, user.2, user.0
        ),
    )
    .unwrap();
    // The user's group by name, and one more group that lists the user.
    let extra_gid = random::int(1000..=60000);
    fs::write(
        top.join("etc/group"),
        format!(
            "root:x:0:\n{}:x:{}:{}\nx{}:x:{extra_gid}:{}\n",
            group.0,
            group.1,
            user.0,
            random::token(5),
            user.0
        ),
    )
    .unwrap();
    fs::write(top.join("marker"), &marker).unwrap();
    let name = format!("fixture-{}:{}", random::token(6), random::token(4));
    let mut fx = Fixture {
        archive: kit::image::Archive {
            path: PathBuf::new(),
            config_digest: String::new(),
            diff_ids: vec![],
            repo_tags: vec![],
        },
        name: name.clone(),
        user,
        group,
        workdir,
        img_var: random::token(12),
        marker,
        extra_gid,
    };
    let config = config(&fx);
    let out = dir.join(format!("{}.tar", random::token(8)));
    fx.archive = kit::image::docker_save(&out, &[&name], &[&base, &top], &[], config)
        .expect("write the docker save archive");
    fx
}

fn probe_config(fx: &Fixture) -> Value {
    json!({ "config": {
        "Entrypoint": ["/probe"],
        "Cmd": ["report"],
        "Env": ["PATH=/bin", format!("IMG_VAR={}", fx.img_var)],
        "WorkingDir": fx.workdir,
        "User": format!("{}:{}", fx.user.0, fx.group.0),
        "ExposedPorts": { "8080/tcp": {} },
        "Volumes": { "/data": {} },
    }})
}

fn inspect(state: &Path, image: &str) -> Value {
    let out = dockyard(state, &["image", "inspect", image]);
    let text = ok(&out, "image inspect");
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("inspect printed no JSON ({e}): {text}"));
    value[0].clone()
}

/// Bytes the files under `dir` take on disk (blocks), hard links once.
fn disk_usage(dir: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).into_iter().flatten().flatten() {
            let meta = entry.path().symlink_metadata().unwrap();
            if seen.insert((meta.dev(), meta.ino())) {
                total += meta.blocks() * 512;
            }
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    total
}

// ------------------------------------------------------------- 08.1

#[test]
fn t08_1_blobs_are_named_by_their_digest_and_stored_once() {
    let check = Check::new();
    let store = Store::open(&check.dir().join("state")).expect("open the store");
    let bytes: Vec<u8> = (0..random::int(1000..=300_000))
        .map(|_| fastrand::u8(..))
        .collect();
    let (digest, size) = store.put_blob(&mut &bytes[..], None).expect("put a blob");
    assert_eq!(
        digest,
        kit::image::sha256(&bytes),
        "a blob's name is sha256:<hex of its bytes>"
    );
    assert_eq!(size, bytes.len() as u64);
    let path = check
        .dir()
        .join("state/images/blobs/sha256")
        .join(&digest[7..]);
    assert_eq!(
        fs::read(&path).ok().as_deref(),
        Some(&bytes[..]),
        "the blob is at blobs/sha256/<hex>"
    );
    // Again, and with the right expectation: the same name, one file.
    let again = store
        .put_blob(&mut &bytes[..], Some((&digest, size)))
        .expect("put it again");
    assert_eq!(again.0, digest);
    let files = tree(&check.dir().join("state/images/blobs/sha256"));
    assert_eq!(
        files,
        vec![digest[7..].to_string()],
        "one file per content, and no temporary file left"
    );
    let layout: Value =
        serde_json::from_slice(&fs::read(check.dir().join("state/images/oci-layout")).unwrap())
            .unwrap();
    assert_eq!(layout["imageLayoutVersion"], "1.0.0");
}

#[test]
fn t08_1_a_blob_that_is_not_what_its_descriptor_says_is_refused() {
    let check = Check::new();
    let store = Store::open(&check.dir().join("state")).expect("open the store");
    let bytes = random::token(random::int(100..=5000) as usize).into_bytes();
    let claimed = kit::image::sha256(random::token(10).as_bytes());
    let err = store
        .put_blob(&mut &bytes[..], Some((&claimed, bytes.len() as u64)))
        .expect_err("bytes that do not hash to the expected digest must be refused");
    let text = err.to_string();
    assert!(
        text.contains(&claimed),
        "the error names the digest expected: {text}"
    );
    // The right digest, the wrong size.
    let right = kit::image::sha256(&bytes);
    store
        .put_blob(&mut &bytes[..], Some((&right, bytes.len() as u64 + 1)))
        .expect_err("bytes of another size than the descriptor's must be refused");
    let left = tree(&check.dir().join("state/images/blobs/sha256"));
    assert!(
        left.is_empty(),
        "a refused blob leaves nothing in blobs/sha256 (not even a temp file): {left:?}"
    );
}

// ------------------------------------------------------------- 08.2

#[test]
fn t08_2_a_layer_unpacks_faithfully() {
    require_root(LAB);
    let check = Check::new();
    let content = random::token(random::int(10..=3000) as usize);
    let mode = 0o600 | (random::int(0..=0o77) & 0o755);
    let mut tar = RawTar::default();
    tar.dir("./")
        .dir("etc/")
        .entry(
            "etc/file",
            tar::EntryType::Regular,
            "",
            content.as_bytes(),
            mode,
        )
        .entry(
            "bin/su",
            tar::EntryType::Regular,
            "",
            b"#!/bin/sh\n",
            0o4755,
        )
        .symlink("etc/abs", "/etc/file")
        .symlink("up", "../../../../etc")
        .hardlink("etc/same", "etc/file")
        .entry("fifo", tar::EntryType::Fifo, "", b"", 0o644)
        .file("deep/er/still/x", b"implicit parents");
    let dest = check.dir().join("layers/one");
    unpack_bytes(&layer_name(), &tar.bytes(), &dest, true, Limits::default())
        .expect("a well-formed layer unpacks");
    let file = dest.join("etc/file");
    assert_eq!(fs::read_to_string(&file).unwrap(), content);
    let meta = fs::metadata(&file).unwrap();
    assert_eq!(meta.mode() & 0o7777, mode, "the entry's mode");
    assert_eq!(meta.mtime(), 1_600_000_000, "the entry's mtime");
    assert_eq!(
        fs::metadata(dest.join("bin/su")).unwrap().mode() & 0o7777,
        0o4755,
        "setuid kept as root"
    );
    assert_eq!(
        fs::read_link(dest.join("etc/abs")).unwrap(),
        Path::new("/etc/file"),
        "a link is made as it is"
    );
    assert_eq!(
        fs::read_link(dest.join("up")).unwrap(),
        Path::new("../../../../etc")
    );
    assert_eq!(
        fs::metadata(dest.join("etc/same")).unwrap().ino(),
        meta.ino(),
        "a hard link is the same inode"
    );
    assert!(
        fs::symlink_metadata(dest.join("fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(
        fs::read(dest.join("deep/er/still/x")).unwrap(),
        b"implicit parents"
    );
    assert_eq!(
        fs::metadata(dest.join("etc")).unwrap().mtime(),
        1_600_000_000,
        "a directory's mtime, set after its content"
    );
    let siblings = tree(&check.dir().join("layers"));
    assert!(
        !siblings.iter().any(|s| s.starts_with(".tmp")),
        "the temporary directory was renamed: {siblings:?}"
    );
}

/// A hostile layer: refused, with the layer and entry named, the unpack
/// directory not made, and nothing outside it changed.
fn assert_refused(
    check: &Check,
    what: &str,
    tar: &RawTar,
    entry: &str,
    privileged: bool,
    limits: Limits,
) -> String {
    let layer = layer_name();
    let dest = check.dir().join("store/layers/x");
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let before = tree(check.dir());
    let result = unpack_bytes(&layer, &tar.bytes(), &dest, privileged, limits);
    let after = tree(check.dir());
    let err = match result {
        Ok(_) => panic!("{what}: the layer was unpacked; it must be refused"),
        Err(err) => err.to_string(),
    };
    assert_eq!(
        before, after,
        "{what}: files outside the unpack directory changed, or it was left behind"
    );
    assert!(
        err.contains(&layer),
        "{what}: the error names the layer's digest {layer}: {err}"
    );
    assert!(
        err.contains(entry),
        "{what}: the error names the entry {entry:?}: {err}"
    );
    err
}

#[test]
fn t08_2_paths_out_of_the_layer_are_refused() {
    require_root(LAB);
    let check = Check::new();
    let victim = format!("outside-{}", random::token(8));
    let mut tar = RawTar::default();
    tar.file("ok", b"fine")
        .file(&format!("../../../{victim}"), b"pwned");
    assert_refused(
        &check,
        "an entry with '..'",
        &tar,
        &victim,
        true,
        Limits::default(),
    );
    let absolute = check.dir().join(&victim).display().to_string();
    let mut tar = RawTar::default();
    tar.file(&absolute, b"pwned");
    assert_refused(
        &check,
        "an absolute path",
        &tar,
        &victim,
        true,
        Limits::default(),
    );
}

#[test]
fn t08_2_nothing_is_written_through_a_symlink() {
    require_root(LAB);
    let check = Check::new();
    let victim = format!("outside-{}", random::token(8));
    let top = check.dir().display().to_string();
    // An absolute link to the check's dir, then a file through it.
    let mut tar = RawTar::default();
    tar.symlink("evil", &top)
        .file(&format!("evil/{victim}"), b"pwned");
    assert_refused(
        &check,
        "a file through an absolute symlink",
        &tar,
        &victim,
        true,
        Limits::default(),
    );
    // A chain of relative links climbing out.
    let mut tar = RawTar::default();
    tar.symlink("a", "b")
        .symlink("b", "../../..")
        .file(&format!("a/{victim}"), b"pwned");
    assert_refused(
        &check,
        "a file through a chain of relative symlinks",
        &tar,
        &victim,
        true,
        Limits::default(),
    );
    // Even a link that stays inside: a layer never writes through its own links.
    let mut tar = RawTar::default();
    tar.dir("real/")
        .symlink("alias", "real")
        .file(&format!("alias/{victim}"), b"x");
    assert_refused(
        &check,
        "a file through a symlink the same layer made",
        &tar,
        &victim,
        true,
        Limits::default(),
    );
}

#[test]
fn t08_2_hard_links_name_only_files_the_layer_extracted_before() {
    require_root(LAB);
    let check = Check::new();
    let secret = check.dir().join(format!("secret-{}", random::token(8)));
    fs::write(&secret, "host secret").unwrap();
    let name = secret.file_name().unwrap().to_string_lossy().into_owned();
    let mut tar = RawTar::default();
    tar.hardlink("grab", &format!("../../../{name}"));
    assert_refused(
        &check,
        "a hard link out with '..'",
        &tar,
        "grab",
        true,
        Limits::default(),
    );
    let mut tar = RawTar::default();
    tar.hardlink("grab", &secret.display().to_string());
    assert_refused(
        &check,
        "a hard link to an absolute host path",
        &tar,
        "grab",
        true,
        Limits::default(),
    );
    assert_eq!(
        fs::metadata(&secret).unwrap().nlink(),
        1,
        "the host file got no new link"
    );
    let mut tar = RawTar::default();
    tar.hardlink("early", "later").file("later", b"x");
    assert_refused(
        &check,
        "a hard link to a path not extracted yet",
        &tar,
        "early",
        true,
        Limits::default(),
    );
}

#[test]
fn t08_2_devices_setuid_duplicates_and_replacements() {
    require_root(LAB);
    let check = Check::new();
    let mut dev = RawTar::default();
    dev.entry("dev/mem", tar::EntryType::Char, "", b"", 0o600);
    assert_refused(
        &check,
        "a device node, not as root",
        &dev,
        "dev/mem",
        false,
        Limits::default(),
    );
    let made = check.dir().join("dev-as-root");
    unpack_bytes(&layer_name(), &dev.bytes(), &made, true, Limits::default())
        .expect("root makes device nodes");
    assert!(
        fs::symlink_metadata(made.join("dev/mem"))
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // setuid: cleared when not privileged.
    let mut suid = RawTar::default();
    suid.entry("su", tar::EntryType::Regular, "", b"x", 0o6755);
    let plain = check.dir().join("suid-unprivileged");
    unpack_bytes(
        &layer_name(),
        &suid.bytes(),
        &plain,
        false,
        Limits::default(),
    )
    .expect("a setuid file unpacks");
    assert_eq!(
        fs::metadata(plain.join("su")).unwrap().mode() & 0o7777,
        0o755,
        "setuid/setgid cleared when not root"
    );
    let mut dup = RawTar::default();
    dup.file("twice", b"one").file("twice", b"two");
    assert_refused(
        &check,
        "a duplicate entry",
        &dup,
        "twice",
        true,
        Limits::default(),
    );
    let mut replace = RawTar::default();
    replace
        .dir("d/")
        .file("d/inner", b"x")
        .file("d", b"now a file");
    assert_refused(
        &check,
        "a directory replaced by a file",
        &replace,
        "d",
        true,
        Limits::default(),
    );
}

#[test]
fn t08_2_size_limits_stop_bombs() {
    require_root(LAB);
    let check = Check::new();
    let limit = random::int(200_000..=400_000) as u64;
    let limits = Limits {
        max_bytes: limit,
        ..Limits::default()
    };
    // A header that claims more than the limit.
    let mut big = RawTar::default();
    big.file("big", &vec![b'x'; limit as usize + 1000]);
    let err = assert_refused(
        &check,
        "an entry over the size limit",
        &big,
        "big",
        true,
        limits.clone(),
    );
    assert!(
        err.contains(&limit.to_string()),
        "the error names the limit ({limit}): {err}"
    );
    // A gzip bomb: 64 MiB of zeros in a few tens of KiB.
    let mut bomb = RawTar::default();
    bomb.file("bomb", &vec![0u8; 64 << 20]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bomb.bytes()).unwrap();
    let compressed = gz.finish().unwrap();
    let layer = layer_name();
    let dest = check.dir().join("bomb");
    let err = unpack::unpack_with(
        &layer,
        &mut &compressed[..],
        None,
        &dest,
        &Options {
            limits,
            privileged: true,
        },
    )
    .expect_err("a decompression bomb must be stopped at the limit")
    .to_string();
    assert!(
        err.contains(&limit.to_string()) && err.contains(&layer),
        "the error names the layer and the limit: {err}"
    );
    assert!(!dest.exists(), "nothing is left of a refused layer");
}

#[test]
fn t08_2_whiteouts_become_overlay_whiteouts() {
    require_root(LAB);
    let check = Check::new();
    let gone = format!("gone-{}", random::token(6));
    let mut tar = RawTar::default();
    tar.dir("etc/")
        .file(&format!("etc/.wh.{gone}"), b"")
        .dir("var/")
        .file("var/.wh..wh..opq", b"")
        .file("var/kept", b"x");
    let dest = check.dir().join("layer");
    unpack_bytes(&layer_name(), &tar.bytes(), &dest, true, Limits::default())
        .expect("whiteouts unpack as root");
    let meta = fs::symlink_metadata(dest.join("etc").join(&gone))
        .expect("a whiteout becomes a node of the hidden name");
    assert!(
        meta.file_type().is_char_device() && meta.rdev() == 0,
        "overlay's whiteout is a 0/0 character device"
    );
    assert!(
        !dest.join(format!("etc/.wh.{gone}")).exists(),
        "the .wh. file itself is not kept"
    );
    assert!(!dest.join("var/.wh..wh..opq").exists());
    let c = std::ffi::CString::new(dest.join("var").as_os_str().as_encoded_bytes()).unwrap();
    let mut value = [0u8; 4];
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            value.as_mut_ptr().cast(),
            4,
        )
    };
    assert_eq!(
        (n, value[0]),
        (1, b'y'),
        "an opaque directory carries trusted.overlay.opaque=y"
    );
    assert!(dest.join("var/kept").exists());
}

#[test]
fn t08_2_an_interrupted_unpack_leaves_nothing() {
    require_root(LAB);
    let check = Check::new();
    let mut tar = RawTar::default();
    tar.file("a", &vec![b'a'; 5000])
        .file("b", &vec![b'b'; 5000]);
    let mut bytes = tar.bytes();
    bytes.truncate(512 + 5120 + 512 + 100); // in the middle of "b"
    let dest = check.dir().join("layers/cut");
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    unpack_bytes(&layer_name(), &bytes, &dest, true, Limits::default())
        .expect_err("a truncated layer is an error");
    assert!(
        tree(&check.dir().join("layers")).is_empty(),
        "no half-made layer, no temporary directory"
    );
}

// ------------------------------------------------------------- 08.3

#[test]
fn t08_3_a_docker_save_archive_loads_with_its_digests() {
    require_root(LAB);
    let check = Check::new();
    let fx = fixture(check.dir(), probe_config);
    let state = check.dir().join("state");
    let out = ok(
        &dockyard(&state, &["load", "-i", fx.archive.path.to_str().unwrap()]),
        "load",
    );
    assert!(
        out.contains(&format!("Loaded image: {}", fx.name)),
        "load says what it loaded: {out}"
    );
    let image = inspect(&state, &fx.name);
    assert_eq!(
        image["Id"], fx.archive.config_digest,
        "the image ID is the config's digest"
    );
    assert_eq!(image["RootFS"]["Layers"], json!(fx.archive.diff_ids));
    for layer in image["Layers"].as_array().unwrap() {
        assert!(
            fx.archive
                .diff_ids
                .contains(&layer["digest"].as_str().unwrap().to_string()),
            "an uncompressed layer keeps its digest"
        );
    }
    let index: Value =
        serde_json::from_slice(&fs::read(state.join("images/index.json")).unwrap()).unwrap();
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .collect();
    assert_eq!(
        names,
        vec![fx.name.as_str()],
        "index.json names the image (ref.name)"
    );
    assert_blobs_true(&state);
    // Docker's `image ls`, with the short ID.
    let ls = ok(&dockyard(&state, &["image", "ls"]), "image ls");
    assert!(
        ls.contains(&fx.archive.config_digest[7..19]),
        "image ls shows the ID: {ls}"
    );
}

#[test]
fn t08_3_shared_layers_are_stored_and_unpacked_once() {
    require_root(LAB);
    let check = Check::new();
    let first = fixture(check.dir(), probe_config);
    let second = fixture(check.dir(), probe_config);
    assert_eq!(
        first.archive.diff_ids[0], second.archive.diff_ids[0],
        "the kit made one base layer"
    );
    let state = check.dir().join("state");
    ok(
        &dockyard(
            &state,
            &["load", "-i", first.archive.path.to_str().unwrap()],
        ),
        "load",
    );
    ok(
        &dockyard(&state, &["image", "unpack", &first.name]),
        "image unpack",
    );
    let one = disk_usage(&state);
    ok(
        &dockyard(
            &state,
            &["load", "-i", second.archive.path.to_str().unwrap()],
        ),
        "load",
    );
    let dirs = ok(
        &dockyard(&state, &["image", "unpack", &second.name]),
        "image unpack",
    );
    let two = disk_usage(&state);
    let base = disk_usage(&check.dir().join("base"));
    assert!(
        two - one < base / 2,
        "the second image shares the base layer ({base} bytes), yet the store grew by {} bytes: store a blob and unpack a layer once",
        two - one
    );
    let layers: Vec<_> = fs::read_dir(state.join("layers"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(
        layers.len(),
        3,
        "two images with one shared layer: three unpacked layers"
    );
    let lines: Vec<&str> = dirs.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "image unpack prints each layer directory: {dirs}"
    );
    assert!(
        Path::new(lines[0]).join("probe").exists(),
        "bottom first: the base layer holds the probe"
    );
    assert_eq!(
        fs::read_to_string(Path::new(lines[1]).join("marker")).unwrap(),
        second.marker
    );
}

/// Flip one byte of `marker` where it appears in `path`.
fn corrupt(path: &Path, marker: &str) {
    let mut bytes = fs::read(path).unwrap();
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .expect("the marker is in the file");
    bytes[at] ^= 0x20;
    let mut perms = fs::metadata(path).unwrap().permissions();
    perms.set_mode(0o644);
    fs::set_permissions(path, perms).unwrap();
    fs::write(path, bytes).unwrap();
}

#[test]
fn t08_3_a_corrupted_blob_is_detected_at_load_and_at_use() {
    require_root(LAB);
    let check = Check::new();
    let fx = fixture(check.dir(), probe_config);
    let bad = check.dir().join("bad.tar");
    fs::copy(&fx.archive.path, &bad).unwrap();
    corrupt(&bad, &fx.marker);
    let state = check.dir().join("state");
    let out = dockyard(&state, &["load", "-i", bad.to_str().unwrap()]);
    assert_ne!(
        out.code,
        Some(0),
        "a layer whose bytes do not match its diff_id must fail the load:\n{}",
        out.describe()
    );
    assert!(
        out.stderr.contains(&fx.archive.diff_ids[1]),
        "the error names the layer's digest: {}",
        out.stderr
    );
    let ls = ok(&dockyard(&state, &["image", "ls", "-q"]), "image ls -q");
    assert!(
        ls.trim().is_empty(),
        "no image from a corrupt archive: {ls}"
    );
    assert_blobs_true(&state);
    // Loaded intact, corrupted in the store: found when the layer is used.
    ok(
        &dockyard(&state, &["load", "-i", fx.archive.path.to_str().unwrap()]),
        "load",
    );
    corrupt(
        &state
            .join("images/blobs/sha256")
            .join(&fx.archive.diff_ids[1][7..]),
        &fx.marker,
    );
    let out = dockyard(&state, &["run", &fx.name]);
    assert_ne!(
        out.code,
        Some(0),
        "a container must not run on a corrupted layer:\n{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("corrupt") && out.stderr.contains(&fx.archive.diff_ids[1]),
        "`run` says which blob is corrupt: {}",
        out.stderr
    );
    let out = dockyard(&state, &["image", "unpack", &fx.name]);
    assert_ne!(
        out.code,
        Some(0),
        "a corrupted layer blob must not be unpacked:\n{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("corrupt") && out.stderr.contains(&fx.archive.diff_ids[1]),
        "say which blob is corrupt: {}",
        out.stderr
    );
    assert!(
        !state
            .join("layers")
            .join(&fx.archive.diff_ids[1][7..])
            .exists(),
        "no layer directory from a corrupt blob"
    );
}

#[test]
fn t08_3_save_and_load_round_trip_as_an_oci_archive() {
    require_root(LAB);
    let check = Check::new();
    let fx = fixture(check.dir(), probe_config);
    let state = check.dir().join("state");
    ok(
        &dockyard(&state, &["load", "-i", fx.archive.path.to_str().unwrap()]),
        "load",
    );
    let before = inspect(&state, &fx.name);
    let saved = check.dir().join("saved.tar");
    ok(
        &dockyard(&state, &["save", "-o", saved.to_str().unwrap(), &fx.name]),
        "save",
    );
    let mut names = Vec::new();
    let mut archive = tar::Archive::new(fs::File::open(&saved).unwrap());
    for entry in archive.entries().unwrap() {
        names.push(entry.unwrap().path().unwrap().display().to_string());
    }
    assert!(
        names.contains(&"oci-layout".to_string()) && names.contains(&"index.json".to_string()),
        "an OCI archive: {names:?}"
    );
    assert!(
        names.contains(&format!("blobs/sha256/{}", &fx.archive.config_digest[7..])),
        "the config blob is saved: {names:?}"
    );
    let other = check.dir().join("other");
    let out = ok(
        &dockyard(&other, &["load", "-i", saved.to_str().unwrap()]),
        "load of the saved archive",
    );
    assert!(
        out.contains(&fx.name),
        "the OCI archive keeps the name: {out}"
    );
    let after = inspect(&other, &fx.name);
    assert_eq!(after["Id"], before["Id"]);
    assert_eq!(
        after["ManifestDigest"], before["ManifestDigest"],
        "the same manifest, byte for byte"
    );
    assert_blobs_true(&other);
}

#[test]
fn t08_3_tag_rm_and_prune() {
    require_root(LAB);
    let check = Check::new();
    let fx = fixture(check.dir(), probe_config);
    let state = check.dir().join("state");
    ok(
        &dockyard(&state, &["load", "-i", fx.archive.path.to_str().unwrap()]),
        "load",
    );
    let alias = format!("alias-{}:v{}", random::token(5), random::int(1..=99));
    ok(
        &dockyard(&state, &["image", "tag", &fx.name, &alias]),
        "image tag",
    );
    assert_eq!(inspect(&state, &alias)["Id"], fx.archive.config_digest);
    ok(
        &dockyard(&state, &["image", "unpack", &alias]),
        "image unpack",
    );
    ok(&dockyard(&state, &["image", "rm", &fx.name]), "image rm");
    assert_eq!(
        inspect(&state, &alias)["Id"],
        fx.archive.config_digest,
        "the other name still works"
    );
    assert!(!tree(&state.join("images/blobs/sha256")).is_empty());
    ok(&dockyard(&state, &["image", "rm", &alias]), "image rm");
    assert!(
        tree(&state.join("images/blobs/sha256")).is_empty(),
        "the last name gone, its blobs go"
    );
    ok(&dockyard(&state, &["image", "prune"]), "image prune");
    assert!(
        tree(&state.join("layers")).is_empty(),
        "unused unpacked layers are pruned"
    );
}

#[test]
fn t08_2_import_makes_a_one_layer_image_and_refuses_a_hostile_one() {
    require_root(LAB);
    let check = Check::new();
    let root = check.dir().join("root");
    Rootfs::create(&root, probe()).unwrap();
    let tarball = check.dir().join("rootfs.tar");
    let bytes = kit::image::layer_tar(&root).unwrap();
    fs::write(&tarball, &bytes).unwrap();
    let state = check.dir().join("state");
    let name = format!("imported-{}", random::token(6));
    ok(
        &dockyard(&state, &["import", tarball.to_str().unwrap(), &name]),
        "import",
    );
    let image = inspect(&state, &name);
    assert_eq!(
        image["RootFS"]["Layers"],
        json!([kit::image::sha256(&bytes)]),
        "one layer, its diff_id the tarball's sha256"
    );
    let victim = format!("outside-{}", random::token(8));
    let mut hostile = RawTar::default();
    hostile
        .symlink("x", &check.dir().display().to_string())
        .file(&format!("x/{victim}"), b"pwned");
    fs::write(check.dir().join("hostile.tar"), hostile.bytes()).unwrap();
    let out = dockyard(
        &state,
        &[
            "import",
            check.dir().join("hostile.tar").to_str().unwrap(),
            "hostile",
        ],
    );
    assert_ne!(out.code, Some(0), "a hostile tarball must not import");
    assert!(
        !check.dir().join(&victim).exists(),
        "nothing written through the link"
    );
}

// ------------------------------------------------------------- 08.4

fn no_files() -> UserFiles {
    UserFiles::default()
}

fn cfg(value: Value) -> oci_spec::image::Config {
    serde_json::from_value(value).unwrap()
}

#[test]
fn t08_4_entrypoint_and_cmd_follow_dockers_rules() {
    let ep = format!("/bin/{}", random::token(5));
    let cmd = random::token(6);
    let arg = random::token(7);
    let image = cfg(json!({ "Entrypoint": [ep, "-x"], "Cmd": [cmd] }));
    let run = |opts: RunOptions| config::plan(Some(&image), &opts, &no_files()).map(|p| p.args);
    assert_eq!(
        run(RunOptions::default()).unwrap(),
        vec![ep.clone(), "-x".into(), cmd.clone()],
        "Entrypoint ++ Cmd"
    );
    let args = RunOptions {
        args: vec![arg.clone()],
        ..Default::default()
    };
    assert_eq!(
        run(args).unwrap(),
        vec![ep.clone(), "-x".into(), arg.clone()],
        "run IMAGE ARGS replaces Cmd only"
    );
    let other = format!("/{}", random::token(5));
    let with_ep = RunOptions {
        entrypoint: Some(other.clone()),
        ..Default::default()
    };
    assert_eq!(
        run(with_ep).unwrap(),
        vec![other.clone()],
        "--entrypoint replaces Entrypoint and clears the image's Cmd"
    );
    let both = RunOptions {
        entrypoint: Some(other.clone()),
        args: vec![arg.clone()],
        ..Default::default()
    };
    assert_eq!(run(both).unwrap(), vec![other, arg.clone()]);
    let cleared = RunOptions {
        entrypoint: Some(String::new()),
        args: vec![arg.clone()],
        ..Default::default()
    };
    assert_eq!(
        run(cleared).unwrap(),
        vec![arg],
        "--entrypoint \"\" clears it"
    );
    let nothing = cfg(json!({}));
    assert!(
        config::plan(Some(&nothing), &RunOptions::default(), &no_files()).is_err(),
        "no Entrypoint, no Cmd, no args: an error"
    );
}

#[test]
fn t08_4_env_workdir_and_user_from_the_image() {
    let key = format!("K{}", random::token(5).to_uppercase());
    let (a, b) = (random::token(6), random::token(6));
    let image = cfg(
        json!({ "Cmd": ["x"], "Env": [format!("{key}={a}"), "KEEP=1"], "WorkingDir": "/srv", "ExposedPorts": {"80/tcp": {}}, "Volumes": {"/data": {}} }),
    );
    let opts = RunOptions {
        env: vec![format!("{key}={b}"), "NEW=2".into()],
        ..Default::default()
    };
    let plan = config::plan(Some(&image), &opts, &no_files()).unwrap();
    assert!(
        plan.env.contains(&format!("{key}={b}")) && !plan.env.contains(&format!("{key}={a}")),
        "-e overrides the image's value: {:?}",
        plan.env
    );
    assert!(plan.env.contains(&"KEEP=1".to_string()) && plan.env.contains(&"NEW=2".to_string()));
    assert!(
        plan.env.iter().any(|v| v.starts_with("PATH=")),
        "a default PATH: {:?}",
        plan.env
    );
    assert_eq!(
        plan.env
            .iter()
            .filter(|v| v.starts_with(&format!("{key}=")))
            .count(),
        1,
        "one value per key"
    );
    assert_eq!(plan.cwd, "/srv");
    assert_eq!(
        (plan.exposed_ports.clone(), plan.volumes.clone()),
        (vec!["80/tcp".into()], vec!["/data".into()]),
        "kept for labs 07 and 11"
    );
    let w = RunOptions {
        workdir: Some("/tmp".into()),
        ..Default::default()
    };
    assert_eq!(
        config::plan(Some(&image), &w, &no_files()).unwrap().cwd,
        "/tmp"
    );

    let (user, uid, gid) = (
        format!("u{}", random::token(5)),
        random::int(1000..=60000),
        random::int(1000..=60000),
    );
    let (group, group_id) = (format!("g{}", random::token(5)), random::int(1000..=60000));
    let extra = random::int(1000..=60000);
    let files = UserFiles {
        passwd: Some(format!(
            "root:x:0:0:root:/root:/bin/sh\n{user}:x:{uid}:{gid}::/home/{user}:/bin/sh\n"
        )),
        group: Some(format!(
            "root:x:0:\n{group}:x:{group_id}:\nextra:x:{extra}:other,{user}\n"
        )),
    };
    let as_user = |u: &str| {
        config::plan(
            Some(&image),
            &RunOptions {
                user: Some(u.into()),
                ..Default::default()
            },
            &files,
        )
    };
    let p = as_user(&user).unwrap();
    assert_eq!(
        (p.uid, p.gid),
        (uid, gid),
        "a name is looked up in the image's /etc/passwd"
    );
    assert_eq!(
        p.additional_gids,
        vec![extra],
        "supplementary groups: the image's groups that list the user"
    );
    assert!(
        p.env.contains(&format!("HOME=/home/{user}")),
        "HOME from the image's passwd: {:?}",
        p.env
    );
    let p = as_user(&format!("{user}:{group}")).unwrap();
    assert_eq!((p.uid, p.gid), (uid, group_id), "name:group");
    let p = as_user(&format!("{}:{}", uid + 1, gid + 2)).unwrap();
    assert_eq!((p.uid, p.gid), (uid + 1, gid + 2), "uid:gid as given");
    let p = as_user(&uid.to_string()).unwrap();
    assert_eq!(
        (p.uid, p.gid),
        (uid, gid),
        "a known uid gets its passwd gid"
    );
    assert!(
        as_user(&format!("nobody{}", random::token(4))).is_err(),
        "an unknown name is an error, not root"
    );
    assert!(as_user(&format!("{user}:nogroup{}", random::token(3))).is_err());
    let p = config::plan(Some(&image), &RunOptions::default(), &files).unwrap();
    assert_eq!((p.uid, p.gid), (0, 0), "no User: root");
}

#[test]
fn t08_4_the_config_reaches_the_process() {
    require_root(LAB);
    let check = Check::new();
    let fx = fixture(check.dir(), probe_config);
    let state = check.dir().join("state");
    ok(
        &dockyard(&state, &["load", "-i", fx.archive.path.to_str().unwrap()]),
        "load",
    );
    let extra = random::token(8);
    let out = dockyard(
        &state,
        &[
            "run",
            "--dry-run",
            "-e",
            &format!("EXTRA={extra}"),
            &fx.name,
        ],
    );
    let plan: Value = serde_json::from_str(&ok(&out, "run --dry-run"))
        .expect("run --dry-run prints the plan as JSON");
    assert_eq!(plan["args"], json!(["/probe", "report"]));
    assert_eq!(plan["cwd"], fx.workdir);
    assert_eq!(
        (plan["uid"].as_u64(), plan["gid"].as_u64()),
        (Some(fx.user.1 as u64), Some(fx.group.1 as u64)),
        "the image's User, looked up in its own /etc/passwd and /etc/group"
    );
    let env: Vec<&str> = plan["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        env.contains(&format!("IMG_VAR={}", fx.img_var).as_str())
            && env.contains(&format!("EXTRA={extra}").as_str()),
        "{env:?}"
    );
    // And from inside: the probe reports what it was given.
    let host = random::hostname();
    let out = dockyard(
        &state,
        &[
            "run",
            "--hostname",
            &host,
            "-e",
            &format!("EXTRA={extra}"),
            &fx.name,
        ],
    );
    let report = Report::parse(&ok(&out, "run"));
    assert_eq!(
        report.at("/argv"),
        &json!(["/probe", "report"]),
        "Entrypoint ++ Cmd"
    );
    assert_eq!(report.str("/cwd"), fx.workdir, "the image's WorkingDir");
    assert_eq!(report.str("/hostname"), host);
    assert_eq!(
        (report.int("/uid"), report.int("/gid")),
        (fx.user.1 as i64, fx.group.1 as i64),
        "the image's User (name:group), resolved in the image's own files"
    );
    let groups = report.at("/groups").as_array().cloned().unwrap_or_default();
    assert!(
        groups.contains(&json!(fx.extra_gid)),
        "the user's supplementary groups from the image's /etc/group: {groups:?}"
    );
    assert_eq!(report.str("/env/IMG_VAR"), fx.img_var, "the image's Env");
    assert_eq!(report.str("/env/EXTRA"), extra, "-e");
    assert_eq!(report.str("/env/HOME"), format!("/home/{}", fx.user.0));
    let left: Vec<_> = fs::read_dir(state.join("containers"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "the container's read/write layer is removed: {left:?}"
    );
}

/// `run IMAGE ARGS` replaces the image's Cmd and keeps its Entrypoint,
/// and exits with the container's code; the engine runs from a sealed
/// copy of itself (CVE-2019-5736) while the container runs.
#[test]
fn t08_4_run_args_replace_cmd_and_the_exit_code_comes_back() {
    require_root(LAB);
    let check = Check::new();
    let fx = fixture(check.dir(), probe_config);
    let state = check.dir().join("state");
    ok(
        &dockyard(&state, &["load", "-i", fx.archive.path.to_str().unwrap()]),
        "load",
    );
    let code = random::int(3..=120);
    let out = dockyard(&state, &["run", &fx.name, "exit", &code.to_string()]);
    assert_eq!(
        out.code,
        Some(code as i32),
        "`run IMAGE exit {code}` runs /probe exit {code} (the Entrypoint stays, Cmd is replaced) and exits with its code:\n{}",
        out.describe()
    );
    // CVE-2019-5736: until the container's program execs, its first
    // process is `dockyard-08` itself. Looked at from the host while the
    // container runs, the engine's binary must be out of a write's reach.
    let mut cmd = Command::new(BIN);
    cmd.arg("--state-dir")
        .arg(&state)
        .args(["run", &fx.name, "sleep", "1"]);
    let (out, exe) = kit::sealed::run_watching_exe(
        &mut cmd,
        DEADLINE * 3,
        "`dockyard-08 run IMAGE sleep 1` did not return",
    );
    ok(&out, "run IMAGE sleep 1");
    kit::sealed::assert_sealed(&exe, "dockyard-08 run");
    // --entrypoint clears the image's Cmd: the probe alone prints its usage and fails.
    let marker = format!("/{}", fx.workdir.trim_start_matches('/'));
    let out = dockyard(
        &state,
        &["run", "--entrypoint", "/probe", &fx.name, "ls", &marker],
    );
    ok(&out, "run --entrypoint /probe IMAGE ls DIR");
    let lower = state.join("layers").join(&fx.archive.diff_ids[1][7..]);
    assert_eq!(
        fs::read_to_string(lower.join("marker")).unwrap(),
        fx.marker,
        "the image's layer is intact after its containers"
    );
}
