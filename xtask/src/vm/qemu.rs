//! Booting the guest under qemu and waiting for it, with a deadline.
//!
//! TCG (qemu's own instruction translator) by default: it works wherever
//! qemu does, including machines where KVM is absent or broken, at the
//! price of speed. `DOCKYARD_VM_ACCEL=kvm` asks for KVM.
//!
//! The guest speaks on its serial console (`-nographic` puts it on qemu's
//! stdout): lines that start with `dockyard-vm:` are progress and are
//! shown; everything is kept in `target/vm/run/console.log`. At its end,
//! stage 2 writes to the `isa-debug-exit` port, which makes qemu exit with
//! status 3: any other status (a panic, a failed stage 1, a kill) means the
//! guest did not get there.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// qemu's exit status when stage 2 wrote 1 to isa-debug-exit: (1 << 1) | 1.
const FINISHED: i32 = 3;

/// A 9p share: a host directory at the guest path `guest`.
#[derive(Debug, Clone)]
pub struct Share {
    pub tag: String,
    pub host: PathBuf,
    pub read_only: bool,
}

/// What to boot.
#[derive(Debug)]
pub struct Boot<'a> {
    pub qemu: &'a Path,
    pub kernel: &'a Path,
    pub initramfs: &'a Path,
    pub shares: &'a [Share],
    pub console_log: &'a Path,
    pub deadline: Duration,
}

/// How the guest ended.
#[derive(Debug)]
pub struct Outcome {
    /// Stage 2 reached its end.
    pub finished: bool,
    /// Killed at the deadline.
    pub timed_out: bool,
    /// qemu's exit status, as text.
    pub status: String,
    pub elapsed: Duration,
}

/// The kernel's command line.
fn append() -> String {
    [
        "console=ttyS0",
        // A pure cgroup-v2 host: no v1 controller can be mounted.
        "cgroup_no_v1=all",
        // One RAM disk of 1 GiB (pages are taken only when written) for
        // the guest's /tmp, formatted ext4 by stage 2.
        "brd.rd_nr=1",
        "brd.rd_size=1048576",
        // A panic ends qemu at once (-no-reboot) instead of hanging.
        "panic=-1",
        "quiet",
        // No virtio-rng: trust RDRAND (`-cpu max` has it), so getrandom
        // never waits for entropy.
        "random.trust_cpu=on",
    ]
    .join(" ")
}

pub fn run(boot: &Boot) -> Result<Outcome> {
    let accel = std::env::var("DOCKYARD_VM_ACCEL").unwrap_or_else(|_| "tcg".into());
    let mut cmd = Command::new(boot.qemu);
    cmd.args(["-accel", &accel, "-cpu", "max", "-smp", "2", "-m", "2048"])
        .args(["-nographic", "-no-reboot", "-nic", "none"])
        .arg("-kernel")
        .arg(boot.kernel)
        .arg("-initrd")
        .arg(boot.initramfs)
        .args(["-append", &append()])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    for share in boot.shares {
        // security_model=none: files are read and written as the user who
        // runs qemu; nothing is stored in extended attributes.
        // multidevs=remap: a share spanning several host filesystems gets
        // inode numbers that do not collide in the guest.
        let mut spec = format!(
            "local,path={},mount_tag={},security_model=none,multidevs=remap",
            escape(&share.host),
            share.tag
        );
        if share.read_only {
            spec.push_str(",readonly=on");
        }
        cmd.arg("-virtfs").arg(spec);
    }
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", boot.qemu.display()))?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let mut log = File::create(boot.console_log)
        .with_context(|| format!("creating {}", boot.console_log.display()))?;
    let console = std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches('\r');
            let _ = writeln!(log, "{line}");
            // Anywhere in the line: the firmware's escape sequences may
            // precede the guest's first line.
            if let Some((_, rest)) = line.split_once("dockyard-vm: ") {
                println!("    vm: {rest}");
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > boot.deadline {
            // Our own child, by its PID: nothing else is touched.
            let _ = child.kill();
            timed_out = true;
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = console.join();
    let errors = errors.join().unwrap_or_default();
    let mut status_text = status.to_string();
    if !errors.trim().is_empty() {
        status_text.push_str(&format!("; qemu said: {}", errors.trim()));
    }
    Ok(Outcome {
        finished: status.code() == Some(FINISHED),
        timed_out,
        status: status_text,
        elapsed: started.elapsed(),
    })
}

/// qemu's option syntax: a comma inside a value is written twice.
fn escape(path: &Path) -> String {
    path.display().to_string().replace(',', ",,")
}
