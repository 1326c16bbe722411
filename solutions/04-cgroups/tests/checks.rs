//! The checks of lab 04. Each is named `t04_K_…` after the task it checks.
//!
//! Tasks 04.1–04.4 are checked as units: Docker's units, the layout read
//! from a mount table, and each driver writing limits into a **fake**
//! cgroupfs (a temp dir holding the files a kernel makes), so that the
//! layouts this machine lacks are checked too — and, where this machine
//! has them, into the real kernel's, which also says whether it accepts
//! the values. Tasks 04.5–04.9 run real containers with the probe inside
//! (`probe report`, `alloc`, `fork`, `spin`) and judge what happened from
//! inside and from the cgroup's own counters, never from wall-clock time.
//! Every check leaves no cgroup behind: the kit's leak guard walks every
//! hierarchy.
//!
//! The oracle for "which layout has this host" is the tooling's own
//! (`dockyard-shared`), not the lab's code, so a wrong `layout::parse`
//! cannot make a wrong check pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::thread;
use std::time::{Duration, Instant};

use cgroups::error::LimitError;
use cgroups::layout::{self, Layout, V1Mount};
use cgroups::limits::{CpuQuota, Limits, Swap};
use cgroups::manager::{self, CgroupManager};
use cgroups::namespace::STEPS;
use cgroups::units::{parse_bytes, parse_cpus};
use cgroups::v1::V1;
use cgroups::v2::{V2, weight_from_shares};
use cgroups::{Container, Error};
use kit::rootfs::Rootfs;
use kit::{Check, DEADLINE, Output, Report, probe, random, require_root};
use namespaces::{Config, Namespaces};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use process::{Command, ExitStatus, SpawnError};
use serde_json::Value;
use shared::cgroups::{self as host, Version};

const LAB: &str = "04";
const MIB: u64 = 1 << 20;

// ------------------------------------------------------------- helpers

/// The host's cgroups, as the tooling (not the lab) reads them.
fn host_cgroups() -> host::Cgroups {
    host::detect()
}

/// Whether the host is pure cgroup v2.
fn host_is_v2() -> bool {
    host_cgroups().layout == host::Layout::V2
}

/// A check with a fresh minimal rootfs in its temp dir.
fn with_rootfs() -> (Check, Rootfs) {
    let check = Check::new();
    let rootfs = Rootfs::create(&check.dir().join("rootfs"), probe()).expect("make the rootfs");
    (check, rootfs)
}

/// The rootfs must have busybox's `sh` (Debian: busybox-static).
fn need_busybox(rootfs: &Rootfs) {
    assert!(
        rootfs.has_busybox(),
        "this check runs a shell in the container: install a static busybox \
         (Debian/Ubuntu: apt install busybox-static)"
    );
}

/// `dockyard-04 run FLAGS --rootfs R -- ARGS…`, run to its end.
fn dockyard(rootfs: &Rootfs, flags: &[String], args: &[&str], hint: &str) -> Output {
    let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_dockyard-04"));
    cmd.arg("run")
        .args(flags)
        .arg("--rootfs")
        .arg(rootfs.path());
    cmd.arg("--").args(args);
    kit::run_or(&mut cmd, DEADLINE, hint)
}

/// Where `file` of `controller` is seen inside the container: one tree at
/// `/sys/fs/cgroup` on v2; one directory per hierarchy, named as on the
/// host, on v1 and hybrid hosts.
fn inside(controller: &str, file: &str) -> String {
    let cgroups = host_cgroups();
    if cgroups.layout == host::Layout::V2 {
        return format!("/sys/fs/cgroup/{file}");
    }
    let hierarchy = cgroups
        .hierarchies
        .iter()
        .find(|h| h.version == Version::V1 && h.controllers.iter().any(|c| c == controller))
        .unwrap_or_else(|| panic!("this host has no {controller} controller"));
    let dir = hierarchy.mount_point.file_name().unwrap().to_string_lossy();
    format!("/sys/fs/cgroup/{dir}/{file}")
}

/// The value of `key` in a flat-keyed text ("nr_throttled 12\n…").
fn key_of(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

/// The host's layout as the lab's type, built from the tooling's oracle.
fn host_layout() -> Layout {
    let cgroups = host_cgroups();
    let v1: Vec<V1Mount> = cgroups
        .hierarchies
        .iter()
        .filter(|h| h.version == Version::V1 && !h.controllers.is_empty())
        .map(|h| V1Mount {
            controllers: h.controllers.clone(),
            mount_point: h.mount_point.clone(),
        })
        .collect();
    let unified = cgroups.v2().map(|h| h.mount_point.clone());
    match (cgroups.layout, unified) {
        (host::Layout::V2, Some(mount_point)) => Layout::V2 { mount_point },
        (host::Layout::V1 | host::Layout::Hybrid, unified) => Layout::V1 {
            hierarchies: v1,
            unified,
        },
        (layout, _) => panic!("this host has no usable cgroup filesystem: {layout}"),
    }
}

/// A random cgroup name, so that no two runs and no learner's guess meet.
fn random_name() -> String {
    format!("dockyard-check-{}", random::token(8))
}

/// rmdir every directory, as the check's own cleanup (not the lab's).
fn rmdir_all(dirs: &[PathBuf]) {
    for dir in dirs {
        let deadline = Instant::now() + Duration::from_secs(2);
        while dir.exists() && fs::remove_dir(dir).is_err() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether the process `pid` still exists.
fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

// ---------------------------------------------------------------- 04.1

#[test]
fn t04_1_sizes_are_binary_like_dockers() {
    assert_eq!(
        parse_bytes("--memory", "64m"),
        Ok(64 * MIB),
        "64m is 64 MiB = 67108864 bytes (binary units, as Docker), not 64000000"
    );
    for _ in 0..50 {
        let n = u64::from(random::int(1..=4000));
        let (unit, shift) = [("", 0), ("k", 10), ("m", 20), ("g", 30)][fastrand_index(4)];
        let case = |u: &str| {
            if fastrand_index(2) == 0 {
                u.to_uppercase()
            } else {
                u.to_owned()
            }
        };
        let suffix = if unit.is_empty() {
            ["", "b"][fastrand_index(2)]
        } else {
            ["", "b", "ib"][fastrand_index(3)]
        };
        let text = format!("{n}{}{}", case(unit), case(suffix));
        assert_eq!(
            parse_bytes("--memory", &text),
            Ok(n << shift),
            "{text:?} is {n} × 2^{shift} bytes"
        );
    }
    assert_eq!(parse_bytes("--memory", "1.5g"), Ok(3 << 29), "1.5g");
}

/// A random index below `n`.
fn fastrand_index(n: u32) -> usize {
    random::int(0..=n - 1) as usize
}

#[test]
fn t04_1_bad_sizes_are_refused_with_the_flag_named() {
    let flag = ["--memory", "--memory-swap"][fastrand_index(2)];
    let junk = random::int(2..=999);
    for text in [
        format!("{junk}q"),
        String::new(),
        "m".into(),
        format!("{junk}mm"),
        format!("-{junk}m"),
        "1.2.3m".into(),
        "lots".into(),
    ] {
        match parse_bytes(flag, &text) {
            Err(LimitError { flag: f, value, .. }) => {
                assert_eq!(f, flag, "the error names the flag");
                assert_eq!(value, text, "the error shows the value as typed");
            }
            Ok(n) => panic!("{flag} {text:?} must be refused, got {n} bytes"),
        }
    }
}

#[test]
fn t04_1_cpus_become_a_quota_per_100ms_period() {
    for _ in 0..30 {
        let hundredths = random::int(1..=800);
        let text = format!("{}.{:02}", hundredths / 100, hundredths % 100);
        let quota = parse_cpus(&text).unwrap_or_else(|e| panic!("--cpus {text}: {e}"));
        assert_eq!(
            quota,
            CpuQuota {
                quota_us: u64::from(hundredths) * 1_000,
                period_us: 100_000,
            },
            "--cpus {text}: a quota of cpus × 100000 µs per period of 100000 µs"
        );
    }
    for bad in ["-1", "0", "0.001", "abc", "", "NaN", "inf"] {
        assert!(
            parse_cpus(bad).is_err(),
            "--cpus {bad:?} must be refused (the range starts at 0.01)"
        );
    }
}

#[test]
fn t04_1_the_cli_refuses_bad_values_before_anything_starts() {
    let (_check, rootfs) = with_rootfs();
    let junk = random::int(2..=99);
    let cases: [(&str, String); 4] = [
        ("--memory", format!("{junk}q")),
        ("--cpus", "-1".into()),
        ("--memory", format!("{}k", random::int(1..=6143))),
        ("--cpus", "0.001".into()),
    ];
    for (flag, value) in cases {
        let flags = [flag.to_owned(), value.clone()];
        let out = dockyard(
            &rootfs,
            &flags,
            &["/probe", "true"],
            "dockyard run hung on a bad flag",
        );
        assert_eq!(
            out.code,
            Some(125),
            "{flag} {value}: Docker's exit code for a bad flag is 125\n{}",
            out.describe()
        );
        assert!(
            out.stderr.contains(flag) && out.stderr.contains(&value),
            "{flag} {value}: the error must name the flag and the value\n{}",
            out.describe()
        );
        assert!(
            out.stdout.is_empty(),
            "the container must not run\n{}",
            out.describe()
        );
    }
}

// ---------------------------------------------------------------- 04.2

#[test]
fn t04_2_layouts_are_read_from_the_mount_table() {
    let top = format!("/run/cg-{}", random::token(5));
    let v2 = format!(
        "22 1 0:21 / /sys rw - sysfs sysfs rw\n\
         30 22 0:26 / {top} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n\
         31 22 0:27 / {top}/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
    );
    assert_eq!(
        layout::parse(&v2).expect("a v2 layout"),
        Layout::V2 {
            mount_point: PathBuf::from(&top)
        },
        "one cgroup2 mount (a name=systemd v1 mount has no controller: still v2)\n{v2}"
    );
    let v1 = format!(
        "31 23 0:28 / {top} rw - tmpfs tmpfs rw,mode=755\n\
         32 31 0:29 / {top}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
         35 31 0:32 / {top}/memory rw - cgroup cgroup rw,memory\n\
         36 31 0:33 / {top}/pids rw - cgroup cgroup rw,pids\n\
         40 31 0:37 / {top}/systemd rw - cgroup cgroup rw,xattr,name=systemd\n\
         41 1 0:32 / /mnt/again rw - cgroup cgroup rw,memory\n"
    );
    let mount = |controllers: &[&str], dir: &str| V1Mount {
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
        mount_point: PathBuf::from(format!("{top}/{dir}")),
    };
    let v1_mounts = vec![
        mount(&["cpu", "cpuacct"], "cpu,cpuacct"),
        mount(&["memory"], "memory"),
        mount(&["pids"], "pids"),
    ];
    assert_eq!(
        layout::parse(&v1).expect("a v1 layout"),
        Layout::V1 {
            hierarchies: v1_mounts.clone(),
            unified: None
        },
        "v1: one hierarchy per controller set, each once; name=systemd is no controller\n{v1}"
    );
    let hybrid = format!("{v1}42 31 0:38 / {top}/unified rw - cgroup2 cgroup2 rw\n");
    assert_eq!(
        layout::parse(&hybrid).expect("a hybrid layout"),
        Layout::V1 {
            hierarchies: v1_mounts,
            unified: Some(PathBuf::from(format!("{top}/unified")))
        },
        "hybrid: v1 controllers plus a cgroup2 mount\n{hybrid}"
    );
    let spaced = format!("30 22 0:26 / {top}\\040x rw - cgroup2 cgroup2 rw\n");
    assert_eq!(
        layout::parse(&spaced).expect("a v2 layout"),
        Layout::V2 {
            mount_point: PathBuf::from(format!("{top} x"))
        },
        "mountinfo writes a space as \\040"
    );
    let none = "22 1 0:21 / /sys rw - sysfs sysfs rw\n";
    assert!(
        layout::parse(none).is_err(),
        "no cgroup mount at all is an error"
    );
}

#[test]
fn t04_2_this_hosts_layout_is_found() {
    let found = layout::detect().expect("detect this host's layout");
    assert_eq!(
        found,
        host_layout(),
        "the layout of this host ({})",
        host_cgroups().layout
    );
}

// ---------------------------------------------------------------- 04.3

/// A fake v2 cgroup `name` under `root`, with the files a kernel makes
/// (`memory.swap.max` only if `swap`), each holding its default.
fn fake_v2(root: &Path, name: &str, swap: bool) -> PathBuf {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    let mut files = vec![
        ("memory.max", "max"),
        ("memory.high", "max"),
        ("pids.max", "max"),
        ("cpu.max", "max 100000"),
        ("cpu.weight", "100"),
    ];
    if swap {
        files.push(("memory.swap.max", "max"));
    }
    for (file, value) in files {
        fs::write(dir.join(file), format!("{value}\n")).unwrap();
    }
    dir
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.join(file).display()))
        .trim()
        .to_owned()
}

/// Random limits, all set.
fn random_limits() -> Limits {
    let memory = u64::from(random::int(6..=2048)) * MIB + u64::from(random::int(0..=3)) * 4096;
    Limits {
        memory: Some(memory),
        memory_swap: Some(Swap::Total(memory + u64::from(random::int(0..=512)) * MIB)),
        pids: Some(u64::from(random::int(1..=4096))),
        cpu: Some(CpuQuota {
            quota_us: u64::from(random::int(1..=200)) * 1000,
            period_us: 100_000,
        }),
        cpu_shares: Some(u64::from(random::int(2..=262_144))),
    }
}

#[test]
fn t04_3_v2_limits_are_written_in_v2_units() {
    let check = Check::new();
    let name = random_name();
    let limits = random_limits();
    let dir = fake_v2(check.dir(), &name, true);
    let v2 = V2::new(check.dir(), &name);
    v2.apply(&limits)
        .expect("apply the limits to a fake v2 cgroup");
    let Some(Swap::Total(total)) = limits.memory_swap else {
        unreachable!()
    };
    let cpu = limits.cpu.unwrap();
    let memory = limits.memory.unwrap();
    assert_eq!(
        read(&dir, "memory.max"),
        memory.to_string(),
        "memory.max: bytes"
    );
    assert_eq!(
        read(&dir, "memory.swap.max"),
        (total - memory).to_string(),
        "memory.swap.max is swap alone: Docker's --memory-swap ({total}) minus --memory ({memory})"
    );
    assert_eq!(
        read(&dir, "memory.high"),
        "max",
        "memory.high is not --memory"
    );
    assert_eq!(read(&dir, "pids.max"), limits.pids.unwrap().to_string());
    assert_eq!(
        read(&dir, "cpu.max"),
        format!("{} {}", cpu.quota_us, cpu.period_us),
        "cpu.max is \"QUOTA PERIOD\", quota first"
    );
    assert_eq!(
        read(&dir, "cpu.weight"),
        weight_from_shares(limits.cpu_shares.unwrap()).to_string(),
        "cpu.weight is the shares mapped onto 1–10000"
    );

    // Unlimited swap, and a kernel without swap accounting.
    let unlimited = Limits {
        memory_swap: Some(Swap::Unlimited),
        ..limits
    };
    let name2 = random_name();
    let dir2 = fake_v2(check.dir(), &name2, true);
    V2::new(check.dir(), &name2)
        .apply(&unlimited)
        .expect("apply");
    assert_eq!(
        read(&dir2, "memory.swap.max"),
        "max",
        "--memory-swap -1 is max"
    );
    let name3 = random_name();
    let dir3 = fake_v2(check.dir(), &name3, false);
    V2::new(check.dir(), &name3)
        .apply(&limits)
        .expect("no memory.swap.max (no swap accounting) is no error");
    assert!(
        !dir3.join("memory.swap.max").exists(),
        "a cgroup file is never created: without memory.swap.max, swap is not limited"
    );

    // Nothing asked, nothing written.
    let name4 = random_name();
    let dir4 = fake_v2(check.dir(), &name4, true);
    V2::new(check.dir(), &name4)
        .apply(&Limits::default())
        .expect("apply");
    assert_eq!(
        read(&dir4, "memory.max"),
        "max",
        "an unset limit stays the kernel's"
    );
    assert_eq!(read(&dir4, "cpu.max"), "max 100000");
    assert_eq!(read(&dir4, "cpu.weight"), "100");

    v2_on_the_kernel();
}

#[test]
fn t04_3_shares_map_linearly_onto_weights() {
    assert_eq!(
        weight_from_shares(2),
        1,
        "the least shares, the least weight"
    );
    assert_eq!(weight_from_shares(262_144), 10_000, "the most, the most");
    assert_eq!(
        weight_from_shares(1024),
        39,
        "1024 shares (v1's default) is 39"
    );
    let a = u64::from(random::int(2..=131_072));
    let b = a + u64::from(random::int(1..=131_072));
    assert_eq!(
        weight_from_shares(a),
        1 + (a - 2) * 9999 / 262_142,
        "shares {a}"
    );
    assert!(weight_from_shares(a) <= weight_from_shares(b), "monotonic");
}

/// The same on the real kernel, where this host is pure v2: the kernel
/// also says whether it accepts the values.
fn v2_on_the_kernel() {
    let cgroups = host_cgroups();
    let Some(v2) = cgroups.v2().filter(|_| cgroups.layout == host::Layout::V2) else {
        // A hybrid or v1 host: its v2 tree has no memory, pids or cpu.
        // The fake cgroupfs above checks the files; `cargo xtask vm check
        // 04` checks a real v2 kernel.
        eprintln!("this host is not pure cgroup v2: checked against a fake cgroupfs only");
        return;
    };
    require_root(LAB);
    let name = random_name();
    let driver = V2::new(&v2.mount_point, &name);
    driver.create().expect("create a v2 cgroup");
    let limits = Limits {
        memory_swap: None,
        ..random_limits()
    };
    let applied = driver.apply(&limits);
    let dir = driver.dir().to_path_buf();
    let seen = [
        read(&dir, "memory.max"),
        read(&dir, "pids.max"),
        read(&dir, "cpu.max"),
        read(&dir, "cpu.weight"),
    ];
    rmdir_all(&[dir]);
    applied.expect("the kernel accepts the limits");
    let cpu = limits.cpu.unwrap();
    // The kernel rounds memory.max down to whole pages.
    let memory = limits.memory.unwrap() / 4096 * 4096;
    assert_eq!(
        seen,
        [
            memory.to_string(),
            limits.pids.unwrap().to_string(),
            format!("{} {}", cpu.quota_us, cpu.period_us),
            weight_from_shares(limits.cpu_shares.unwrap()).to_string(),
        ],
        "what the kernel reads back"
    );
}

// ---------------------------------------------------------------- 04.4

/// A fake v1 cgroup `name`: one directory per controller under `root`.
fn fake_v1(root: &Path, name: &str, memsw: bool) -> V1 {
    let files: [(&str, &[(&str, &str)]); 3] = [
        (
            "memory",
            &[
                ("memory.limit_in_bytes", "9223372036854771712"),
                ("memory.memsw.limit_in_bytes", "9223372036854771712"),
                ("memory.soft_limit_in_bytes", "9223372036854771712"),
            ],
        ),
        ("pids", &[("pids.max", "max")]),
        (
            "cpu",
            &[
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "-1"),
                ("cpu.shares", "1024"),
            ],
        ),
    ];
    for (controller, files) in files {
        let dir = root.join(controller).join(name);
        fs::create_dir_all(&dir).unwrap();
        for (file, value) in files {
            if *file == "memory.memsw.limit_in_bytes" && !memsw {
                continue;
            }
            fs::write(dir.join(file), format!("{value}\n")).unwrap();
        }
    }
    V1 {
        memory: Some(root.join("memory").join(name)),
        pids: Some(root.join("pids").join(name)),
        cpu: Some(root.join("cpu").join(name)),
        ..V1::default()
    }
}

#[test]
fn t04_4_v1_limits_are_written_in_v1_units() {
    let check = Check::new();
    let name = random_name();
    let limits = random_limits();
    let v1 = fake_v1(check.dir(), &name, true);
    v1.apply(&limits)
        .expect("apply the limits to a fake v1 cgroup");
    let memory = v1.memory.clone().unwrap();
    let cpu_dir = v1.cpu.clone().unwrap();
    let Some(Swap::Total(total)) = limits.memory_swap else {
        unreachable!()
    };
    let cpu = limits.cpu.unwrap();
    assert_eq!(
        read(&memory, "memory.limit_in_bytes"),
        limits.memory.unwrap().to_string()
    );
    assert_eq!(
        read(&memory, "memory.memsw.limit_in_bytes"),
        total.to_string(),
        "memsw is memory + swap, as Docker's --memory-swap"
    );
    assert_eq!(
        read(&memory, "memory.soft_limit_in_bytes"),
        "9223372036854771712",
        "--memory is the hard limit"
    );
    assert_eq!(
        read(&v1.pids.clone().unwrap(), "pids.max"),
        limits.pids.unwrap().to_string()
    );
    assert_eq!(
        [
            read(&cpu_dir, "cpu.cfs_quota_us"),
            read(&cpu_dir, "cpu.cfs_period_us")
        ],
        [cpu.quota_us.to_string(), cpu.period_us.to_string()],
        "[quota, period] in µs"
    );
    assert_eq!(
        read(&cpu_dir, "cpu.shares"),
        limits.cpu_shares.unwrap().to_string(),
        "v1 takes the shares as they are"
    );

    let name2 = random_name();
    let v1 = fake_v1(check.dir(), &name2, true);
    let unlimited = Limits {
        memory_swap: Some(Swap::Unlimited),
        ..limits
    };
    v1.apply(&unlimited).expect("apply");
    assert_eq!(
        read(v1.memory.as_ref().unwrap(), "memory.memsw.limit_in_bytes"),
        "-1",
        "--memory-swap -1 is -1 in v1"
    );
    let name3 = random_name();
    let v1 = fake_v1(check.dir(), &name3, false);
    v1.apply(&limits)
        .expect("no memsw file (no swap accounting) is no error");
    assert!(
        !v1.memory
            .unwrap()
            .join("memory.memsw.limit_in_bytes")
            .exists(),
        "a cgroup file is never created"
    );

    v1_on_the_kernel();
}

/// The same on the real kernel, where this host has v1 controllers.
fn v1_on_the_kernel() {
    let layout = host_layout();
    if matches!(layout, Layout::V2 { .. }) {
        eprintln!("this host is pure cgroup v2: v1 checked against a fake cgroupfs only");
        return;
    }
    require_root(LAB);
    let name = random_name();
    let driver = V1::new(&layout, &name);
    driver.create().expect("create a v1 cgroup");
    let limits = random_limits();
    let applied = driver.apply(&limits);
    let memory = driver.memory.clone().expect("a memory controller");
    let cpu_dir = driver.cpu.clone().expect("a cpu controller");
    let memsw = memory.join("memory.memsw.limit_in_bytes").exists();
    let seen = [
        read(&memory, "memory.limit_in_bytes"),
        if memsw {
            read(&memory, "memory.memsw.limit_in_bytes")
        } else {
            "-".into()
        },
        read(driver.pids.as_ref().unwrap(), "pids.max"),
        read(&cpu_dir, "cpu.cfs_quota_us"),
        read(&cpu_dir, "cpu.cfs_period_us"),
        read(&cpu_dir, "cpu.shares"),
    ];
    rmdir_all(&driver.dirs());
    applied.expect("the kernel accepts the limits");
    let page = |bytes: u64| (bytes / 4096 * 4096).to_string();
    let Some(Swap::Total(total)) = limits.memory_swap else {
        unreachable!()
    };
    let cpu = limits.cpu.unwrap();
    assert_eq!(
        seen,
        [
            page(limits.memory.unwrap()),
            if memsw { page(total) } else { "-".into() },
            limits.pids.unwrap().to_string(),
            cpu.quota_us.to_string(),
            cpu.period_us.to_string(),
            limits.cpu_shares.unwrap().to_string(),
        ],
        "what the kernel reads back: memory, memsw, pids, quota, period, shares"
    );
}

// ---------------------------------------------------------------- 04.5

/// The host's driver for a new random cgroup, created (given code).
fn created_cgroup() -> Box<dyn CgroupManager> {
    let cgroup = manager::for_layout(&host_layout(), &random_name());
    cgroup.create().expect("create a cgroup");
    cgroup
}

/// A `probe sleep` put into `cgroup` by the check itself.
fn sleeper_in(cgroup: &dyn CgroupManager) -> std::process::Child {
    let child = StdCommand::new(probe())
        .args(["sleep", "30"])
        .spawn()
        .expect("start the probe");
    for dir in cgroup.dirs() {
        fs::write(dir.join("cgroup.procs"), child.id().to_string()).expect("place the probe");
    }
    child
}

#[test]
fn t04_5_a_cgroup_is_removed_once_its_last_process_is_gone() {
    require_root(LAB);
    let check = Check::new();
    let cgroup = created_cgroup();
    let mut sleeper = sleeper_in(cgroup.as_ref());
    // Its last process leaves 150 ms after `remove` starts, as a
    // container's do while the kernel tears down its PID namespace: the
    // first rmdir says EBUSY, a later one must succeed.
    let killer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(150));
        sleeper.kill().unwrap();
        sleeper.wait()
    });
    let started = Instant::now();
    let removed = check.within(DEADLINE, "remove() did not return", || cgroup.remove());
    let took = started.elapsed();
    killer.join().unwrap().unwrap();
    removed.unwrap_or_else(|err| {
        panic!(
            "remove the cgroup once its process is gone: {err} (after {took:?}; while a \
             process is leaving, rmdir says EBUSY: retry it for a while)"
        )
    });
    let left: Vec<PathBuf> = cgroup.dirs().into_iter().filter(|d| d.exists()).collect();
    assert!(left.is_empty(), "still there: {left:?}");
    cgroup
        .remove()
        .expect("removing a cgroup that is gone already is no error");
}

#[test]
fn t04_5_a_busy_cgroup_is_an_error_naming_it_then_removed() {
    require_root(LAB);
    let check = Check::new();
    let cgroup = created_cgroup();
    let mut sleeper = sleeper_in(cgroup.as_ref());
    let busy = check.within(
        DEADLINE,
        "remove() of a cgroup with a live process never returned: retry EBUSY for a while, not forever",
        || cgroup.remove(),
    );
    let alive = cgroup.dirs().iter().all(|d| d.exists());
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let removed = cgroup.remove();
    rmdir_all(&cgroup.dirs());
    match busy {
        Err(err) => {
            assert_eq!(
                err.errno(),
                Some(libc::EBUSY),
                "a cgroup with processes cannot be removed: EBUSY ({err})"
            );
            assert!(
                cgroup.dirs().contains(&err.path),
                "the error names the cgroup's directory: {err}"
            );
        }
        Ok(()) => panic!("remove() said Ok while a process was still in the cgroup"),
    }
    assert!(
        alive,
        "the cgroup must still be there while a process is in it"
    );
    removed.expect("remove the cgroup once its process is gone");
}

// ---------------------------------------------------------------- 04.6

/// `dockyard-04 run` with `flags`, the probe's JSON lines.
fn run_probe(rootfs: &Rootfs, flags: &[String], args: &[&str]) -> Output {
    dockyard(
        rootfs,
        flags,
        args,
        "dockyard run never exited: was the container placed and started (04.6)?",
    )
}

fn flags(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(f, v)| [f.to_string(), v.clone()])
        .collect()
}

#[test]
fn t04_6_the_limits_read_inside_match_the_request() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let memory_mib = u64::from(random::int(16..=512));
    let pids = random::int(8..=300);
    let online = cgroups::limits::online_cpus() as u32;
    let hundredths = random::int(5..=100 * online);
    let shares = random::int(2..=262_144);
    // The same size, written one of Docker's ways.
    let memory = match fastrand_index(3) {
        0 => format!("{memory_mib}m"),
        1 => format!("{}k", memory_mib * 1024),
        _ => format!("{memory_mib}MiB"),
    };
    let asked = flags(&[
        ("--memory", memory),
        ("--pids-limit", pids.to_string()),
        (
            "--cpus",
            format!("{}.{:02}", hundredths / 100, hundredths % 100),
        ),
        ("--cpu-shares", shares.to_string()),
    ]);
    let v2 = host_is_v2();
    let weight_file = if v2 {
        inside("cpu", "cpu.weight")
    } else {
        inside("cpu", "cpu.shares")
    };
    let out = run_probe(
        &rootfs,
        &asked,
        &["/probe", "cat", &weight_file, "then", "report"],
    );
    assert_eq!(
        out.code,
        Some(0),
        "the container failed\n{}",
        out.describe()
    );
    let lines = out.json_lines();
    let report = Report::parse(&out.stdout);
    let raw = report.str("/cgroup/raw");
    assert!(
        raw.lines().all(|line| line.ends_with(":/")),
        "in its own cgroup namespace, created after the parent placed it, the container \
         sees its cgroup as / in every hierarchy:\n{raw}\
         (a path here means the child entered the namespace before it was placed, or was \
         placed after it started: place it while it waits on the sync pipe)"
    );
    let limits = report.at("/cgroup/limits");
    let get = |file: &str| limits.get(file).and_then(Value::as_str).map(str::to_owned);
    let quota = u64::from(hundredths) * 1000;
    let bytes = (memory_mib * MIB).to_string();
    if v2 {
        assert_eq!(
            get("memory.max"),
            Some(bytes),
            "memory.max inside: {limits}"
        );
        assert_eq!(get("pids.max"), Some(pids.to_string()), "pids.max inside");
        assert_eq!(
            get("cpu.max"),
            Some(format!("{quota} 100000")),
            "cpu.max inside"
        );
    } else {
        assert_eq!(
            get("memory.limit_in_bytes"),
            Some(bytes),
            "memory.limit_in_bytes inside: {limits}"
        );
        assert_eq!(get("pids.max"), Some(pids.to_string()), "pids.max inside");
        assert_eq!(get("cpu.cfs_quota_us"), Some(quota.to_string()));
        assert_eq!(get("cpu.cfs_period_us"), Some("100000".into()));
    }
    let weight = lines[0]["content"].as_str().unwrap_or_default().trim();
    let expected = if v2 {
        weight_from_shares(u64::from(shares)).to_string()
    } else {
        shares.to_string()
    };
    assert_eq!(weight, expected, "{weight_file} inside: {}", lines[0]);
}

#[test]
fn t04_6_forks_past_the_pids_limit_fail_with_eagain() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let limit = random::int(3..=40);
    let asked = flags(&[("--pids-limit", limit.to_string())]);
    let want = (limit + 5).to_string();
    let out = run_probe(&rootfs, &asked, &["/probe", "fork", &want]);
    let result = out.json();
    assert_eq!(
        result["errno"],
        libc::EAGAIN,
        "fork past pids.max fails with EAGAIN\n{}",
        out.describe()
    );
    assert_eq!(
        result["forked"],
        limit - 1,
        "the probe itself is one of the {limit} processes: it gets {} children\n{}",
        limit - 1,
        out.describe()
    );
}

#[test]
fn t04_6_a_cpu_quota_is_enforced() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let hundredths = random::int(2..=10);
    let asked = flags(&[("--cpus", format!("0.{hundredths:02}"))]);
    let stat = inside("cpu", "cpu.stat");
    let out = run_probe(
        &rootfs,
        &asked,
        &["/probe", "spin", "1", "then", "cat", &stat],
    );
    let lines = out.json_lines();
    let text = lines
        .last()
        .and_then(|l| l["content"].as_str())
        .unwrap_or_else(|| panic!("no cpu.stat read inside\n{}", out.describe()));
    let throttled = key_of(text, "nr_throttled").unwrap_or(0);
    let periods = key_of(text, "nr_periods").unwrap_or(0);
    assert!(
        throttled >= 3,
        "a busy loop under --cpus 0.{hundredths:02} runs out of its quota in most 100 ms \
         periods, so the kernel throttles it (nr_throttled {throttled} of nr_periods \
         {periods}): is the quota set, and not swapped with the period?\n{text}"
    );
}

#[test]
fn t04_6_a_limit_the_kernel_refuses_leaves_no_cgroup() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    // A quota under 1 ms: the kernel says EINVAL.
    let limits = Limits {
        cpu: Some(CpuQuota {
            quota_us: u64::from(random::int(1..=999)),
            period_us: 100_000,
        }),
        ..Limits::default()
    };
    let mut cmd = Command::new("/probe");
    cmd.arg("true");
    let result = check.within(DEADLINE, "spawn did not return", || {
        cgroups::spawn(&cmd, &Config::default(), Some(rootfs.path()), &limits).map(|_| ())
    });
    match result {
        Err(Error::Cgroup(err)) => assert_eq!(
            err.errno(),
            Some(libc::EINVAL),
            "the kernel refuses a quota under 1 ms: {err}"
        ),
        other => panic!("expected the kernel's EINVAL as a cgroup error, got {other:?}"),
    }
    // The leak guard asserts that the cgroup is gone.
}

/// Start `/probe true` with limits, the setup step `step` failing.
fn fail_at(step: &str) {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let mut cmd = Command::new("/probe");
    cmd.arg("true");
    let config = Config {
        fail_at: Some(step.to_owned()),
        ..Config::default()
    };
    let limits = Limits {
        memory: Some(u64::from(random::int(8..=64)) * MIB),
        pids: Some(u64::from(random::int(4..=64))),
        ..Limits::default()
    };
    let result = check.within(DEADLINE, "spawn did not return after a failed step", || {
        cgroups::spawn(&cmd, &config, Some(rootfs.path()), &limits).map(|_| ())
    });
    match result {
        Err(Error::Rootfs(rootfs::Error::Namespaces(namespaces::Error::Spawn(
            SpawnError::Setup {
                step: name,
                errno: Errno::ECANCELED,
            },
        )))) => assert_eq!(name, step, "the error names the step that failed"),
        other => panic!("expected the step {step:?} to fail with ECANCELED, got {other:?}"),
    }
    // The leak guard asserts that no cgroup, mount or process is left.
}

#[test]
fn t04_6_a_failure_entering_the_cgroup_namespace_leaves_nothing_behind() {
    fail_at(STEPS[0]);
}

#[test]
fn t04_6_a_failure_mounting_the_cgroup_filesystem_leaves_nothing_behind() {
    fail_at(STEPS[1]);
}

#[test]
fn t04_6_a_failure_in_a_lab_03_step_leaves_no_cgroup_behind() {
    fail_at(rootfs::spawn::STEPS[fastrand_index(6)]);
}

// ---------------------------------------------------------------- 04.7

#[test]
fn t04_7_an_allocation_past_the_limit_is_oom_killed_and_reported() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let limit = u64::from(random::int(16..=48));
    let asked = flags(&[
        ("--memory", format!("{limit}m")),
        ("--memory-swap", format!("{limit}m")),
    ]);
    let want = (limit + 32).to_string();
    let out = run_probe(&rootfs, &asked, &["/probe", "alloc", &want]);
    let got = out
        .json_lines()
        .iter()
        .filter_map(|l| l["allocated_mib"].as_u64())
        .max()
        .unwrap_or(0);
    assert!(
        got < limit,
        "the probe got {got} MiB under a limit of {limit} MiB: is --memory a limit in MiB \
         (64m = 67108864 bytes)?\n{}",
        out.describe()
    );
    assert_eq!(
        out.code,
        Some(137),
        "an OOM-killed container exits 137 (128 + SIGKILL)\n{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("OOM"),
        "dockyard run must say on stderr that the OOM killer killed it\n{}",
        out.describe()
    );
}

#[test]
fn t04_7_the_outcome_tells_an_oom_kill_from_a_plain_kill() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let limit = u64::from(random::int(16..=40));
    let limits = Limits {
        memory: Some(limit * MIB),
        memory_swap: Some(Swap::Total(limit * MIB)),
        ..Limits::default()
    };
    let config = Config::default();
    // Killed with SIGKILL by someone else, under the limit: not OOM.
    let mut sleep = Command::new("/probe");
    sleep.args(["sleep", "30"]);
    let outcome = check.within(DEADLINE, "spawn, start or wait did not return", || {
        let mut container = cgroups::spawn(&sleep, &config, Some(rootfs.path()), &limits)?;
        container.start()?;
        kill(container.pid(), Signal::SIGKILL).unwrap();
        container.wait()
    });
    let outcome = outcome.expect("the container ran");
    assert_eq!(outcome.code(), 137);
    assert!(
        !outcome.oom_killed,
        "a container killed by SIGKILL under its limit was not OOM-killed: read the \
         cgroup's oom_kill counter, not the signal"
    );
    // Past the limit: OOM.
    need_busybox(&rootfs);
    let mut alloc = Command::new("/bin/sh");
    let script = format!("exec /probe alloc {} > /dev/null", limit + 32);
    alloc.args(["-c", &script]);
    let outcome = check.within(DEADLINE, "spawn, start or wait did not return", || {
        let mut container: Container =
            cgroups::spawn(&alloc, &config, Some(rootfs.path()), &limits)?;
        container.start()?;
        container.wait()
    });
    let outcome = outcome.expect("the container ran");
    assert_eq!(outcome.status, ExitStatus::Signaled(Signal::SIGKILL));
    assert!(
        outcome.oom_killed,
        "the OOM killer killed it: oom_kill went up"
    );
}

// ---------------------------------------------------------------- 04.8

/// A raw read of `file` in the cgroup directory that has it.
fn raw(container: &Container, file: &str) -> Option<String> {
    container
        .cgroup()
        .dirs()
        .iter()
        .find_map(|dir| fs::read_to_string(dir.join(file)).ok())
}

/// CPU time of the cgroup in µs, read by the check: v2 cpu.stat, v1 cpuacct.usage (ns).
fn raw_cpu_us(container: &Container) -> u64 {
    if let Some(ns) = raw(container, "cpuacct.usage") {
        return ns.trim().parse::<u64>().unwrap() / 1000;
    }
    key_of(&raw(container, "cpu.stat").unwrap(), "usage_usec").unwrap()
}

fn raw_u64(container: &Container, files: &[&str]) -> u64 {
    files
        .iter()
        .find_map(|f| raw(container, f))
        .unwrap_or_else(|| panic!("none of {files:?} in the cgroup"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn t04_8_stats_say_what_the_container_uses() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    need_busybox(&rootfs);
    let mib = u64::from(random::int(8..=40));
    let mut cmd = Command::new("/bin/sh");
    cmd.args([
        "-c",
        &format!("exec /probe alloc {mib} then spin 0.3 then sleep 30 > /dev/null"),
    ]);
    let limits = Limits {
        pids: Some(u64::from(random::int(10..=99))),
        ..Limits::default()
    };
    let config = Config::default();
    check.within(Duration::from_secs(20), "the stats check did not finish", || {
        let mut container = cgroups::spawn(&cmd, &config, Some(rootfs.path()), &limits)
            .expect("spawn the container");
        container.start().expect("start it");
        // Wait until the allocation and the spin are done (on a slow
        // machine — an emulated VM — 50 ms of CPU can come before the
        // last page is touched: wait for the memory too).
        let deadline = Instant::now() + Duration::from_secs(10);
        let memory = |c: &Container| raw_u64(c, &["memory.current", "memory.usage_in_bytes"]);
        while raw_cpu_us(&container) < 50_000 || memory(&container) < mib * MIB {
            assert!(
                Instant::now() < deadline,
                "the probe never held {mib} MiB and used 50 ms of CPU"
            );
            thread::sleep(Duration::from_millis(50));
        }
        thread::sleep(Duration::from_millis(200));
        let cpu_before = raw_cpu_us(&container);
        let stats = container.cgroup().stats().expect("stats");
        let cpu_after = raw_cpu_us(&container);
        let memory_now = raw_u64(&container, &["memory.current", "memory.usage_in_bytes"]);
        assert!(
            stats.memory_current >= mib * MIB && stats.memory_current <= memory_now + 4 * MIB,
            "memory_current {} bytes: the probe holds {mib} MiB ({} bytes); the cgroup says {memory_now}",
            stats.memory_current,
            mib * MIB
        );
        if let Some(peak) = stats.memory_peak {
            assert!(peak >= stats.memory_current, "the peak is at least the current use");
        }
        assert_eq!(stats.pids_current, 1, "one process: the probe (sh exec'd it)");
        assert!(
            cpu_before <= stats.cpu_usage_us && stats.cpu_usage_us <= cpu_after,
            "cpu_usage_us {} must be in microseconds: the cgroup said {cpu_before} µs just \
             before and {cpu_after} µs just after (v1's cpuacct.usage is in nanoseconds)",
            stats.cpu_usage_us
        );
        // Dropping the container kills it and removes its cgroup.
    });
}

// ---------------------------------------------------------------- 04.9

#[test]
fn t04_9_freeze_stops_progress_and_thaw_resumes_it() {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    let mut cmd = Command::new("/probe");
    cmd.args(["spin", "30"]);
    let config = Config::default();
    let outcome = check.within(
        Duration::from_secs(20),
        "the freeze check did not finish",
        || {
            let mut container =
                cgroups::spawn(&cmd, &config, Some(rootfs.path()), &Limits::default())
                    .expect("spawn the container");
            container.start().expect("start it");
            thread::sleep(Duration::from_millis(200));
            container.cgroup().freeze().expect("freeze");
            let frozen_at = raw_cpu_us(&container);
            thread::sleep(Duration::from_millis(300));
            let still = raw_cpu_us(&container);
            assert!(
                still <= frozen_at + 2_000,
                "frozen, the spinning probe must not get CPU time: {frozen_at} µs, then {still} µs"
            );
            container.cgroup().thaw().expect("thaw");
            // On a busy machine it may get little CPU: wait for 20 ms of it.
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut thawed = raw_cpu_us(&container);
            while thawed < still + 20_000 && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
                thawed = raw_cpu_us(&container);
            }
            assert!(
                thawed >= still + 20_000,
                "thawed, it spins again: {still} µs, then {thawed} µs up to 5 s later"
            );
            container.cgroup().kill_all().expect("kill every process");
            container.wait().expect("wait")
        },
    );
    assert_eq!(outcome.status, ExitStatus::Signaled(Signal::SIGKILL));
    assert!(!outcome.oom_killed, "kill_all is not an OOM kill");
}

/// A container without a PID namespace (so killing its first process does
/// not kill the others) running a shell with `n` sleeping children.
fn kill_all_in(cgroup: Option<Box<dyn CgroupManager>>) {
    require_root(LAB);
    let (check, rootfs) = with_rootfs();
    need_busybox(&rootfs);
    let n = random::int(2..=6);
    let script = (0..n).map(|_| "sleep 60 & ").collect::<String>() + "wait";
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &script]);
    let config = Config {
        namespaces: Namespaces {
            pid: false,
            ..Namespaces::DEFAULT
        },
        ..Config::default()
    };
    let layout = host_layout();
    let cgroup = cgroup.unwrap_or_else(|| manager::for_layout(&layout, &random_name()));
    let limits = Limits::default();
    check.within(
        Duration::from_secs(20),
        "the kill-all check did not finish",
        || {
            let mut container = cgroups::spawn::spawn_in(
                &cmd,
                &config,
                Some(rootfs.path()),
                &limits,
                &layout,
                cgroup,
            )
            .expect("spawn the container");
            container.start().expect("start it");
            let procs = |c: &Container| -> Vec<i32> {
                let text = raw(c, "cgroup.procs").unwrap_or_default();
                text.lines().filter_map(|l| l.trim().parse().ok()).collect()
            };
            let deadline = Instant::now() + Duration::from_secs(5);
            while procs(&container).len() < n as usize + 1 {
                assert!(
                    Instant::now() < deadline,
                    "the shell never started {n} sleeps"
                );
                thread::sleep(Duration::from_millis(20));
            }
            let pids = procs(&container);
            container.cgroup().kill_all().expect("kill every process");
            // Its error (a cgroup still busy) after the survivors' story.
            let status = container.wait();
            // The sleeps were re-parented to this process (a subreaper): reap them.
            let deadline = Instant::now() + Duration::from_secs(3);
            for pid in pids.iter().filter(|&&p| p != container.pid().as_raw()) {
                while alive(*pid) && Instant::now() < deadline {
                    let _ = nix::sys::wait::waitpid(
                        Pid::from_raw(*pid),
                        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
                    );
                    thread::sleep(Duration::from_millis(10));
                }
            }
            let survivors: Vec<&i32> = pids.iter().filter(|&&p| alive(p)).collect();
            assert!(
                survivors.is_empty(),
                "kill_all must kill every process of the cgroup, not only the first: \
             {survivors:?} of {pids:?} are alive"
            );
            let status = status.expect("wait for the shell");
            assert_eq!(status.status, ExitStatus::Signaled(Signal::SIGKILL));
        },
    );
}

#[test]
fn t04_9_kill_all_leaves_no_process() {
    kill_all_in(None);
    kill_all_on_pure_v1();
}

/// On a v1 or hybrid host, the same with a pure v1 host's driver: no v2
/// directory, so no cgroup.kill — freeze, walk, kill, thaw.
fn kill_all_on_pure_v1() {
    let layout = host_layout();
    if matches!(layout, Layout::V2 { .. }) {
        eprintln!("this host is pure cgroup v2: cgroup.kill is the only way, checked above");
        return;
    }
    // A pure v1 host's driver: no v2 directory, so no cgroup.kill.
    let v1 = V1::new(&layout, &random_name()).without_unified();
    kill_all_in(Some(Box::new(v1)));
}

// ------------------------------------------------ issue 8: --memory-swap

#[test]
fn t04_6_memory_swap_follows_dockers_rules_inside() {
    require_root(LAB);
    let (_check, rootfs) = with_rootfs();
    let memory_mib = u64::from(random::int(16..=256));
    let extra_mib = u64::from(random::int(1..=256));
    let v2 = host_is_v2();
    let file = if v2 {
        inside("memory", "memory.swap.max")
    } else {
        inside("memory", "memory.memsw.limit_in_bytes")
    };
    // (--memory-swap, what the file says inside): unset is twice the
    // memory (swap as much as memory); v2 limits swap alone.
    let cases = [
        (
            None,
            if v2 {
                (memory_mib * MIB).to_string()
            } else {
                (2 * memory_mib * MIB).to_string()
            },
        ),
        (
            Some(format!("{}m", memory_mib + extra_mib)),
            if v2 {
                (extra_mib * MIB).to_string()
            } else {
                ((memory_mib + extra_mib) * MIB).to_string()
            },
        ),
        (
            Some("-1".to_string()),
            if v2 {
                "max".to_string()
            } else {
                // v1's "unlimited": the largest multiple of the page size.
                (i64::MAX as u64 & !4095).to_string()
            },
        ),
    ];
    for (swap, expected) in cases {
        let mut asked = vec![("--memory", format!("{memory_mib}m"))];
        if let Some(swap) = &swap {
            asked.push(("--memory-swap", swap.clone()));
        }
        let out = run_probe(&rootfs, &flags(&asked), &["/probe", "cat", &file]);
        let line = out.json_lines().into_iter().next().unwrap_or_default();
        if line["errno"] == serde_json::json!(libc::ENOENT) {
            // A kernel without swap accounting has no such file: the
            // limit cannot be set there, and asking is not an error. (A v1
            // host says so at its root; v2's root cgroup has no limit files.)
            assert!(
                v2 || !Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists(),
                "{file} is missing inside but the host has swap accounting\n{}",
                out.describe()
            );
            continue;
        }
        assert_eq!(
            line["content"].as_str().map(str::trim),
            Some(expected.as_str()),
            "--memory {memory_mib}m --memory-swap {swap:?}: {file} inside\n{}",
            out.describe()
        );
    }
    // Memory plus swap below the memory alone is refused, naming the flag.
    let asked = flags(&[
        ("--memory", format!("{memory_mib}m")),
        ("--memory-swap", format!("{}m", memory_mib - 1)),
    ]);
    let out = run_probe(&rootfs, &asked, &["/probe", "true"]);
    assert_ne!(
        out.code,
        Some(0),
        "--memory-swap below --memory was accepted"
    );
    assert!(
        out.stderr.contains("--memory-swap"),
        "the error should name --memory-swap: {}",
        out.describe()
    );
}
