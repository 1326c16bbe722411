//! The cgroup v2 device controller: a BPF program.
//!
//! cgroup v2 has no `devices.allow`. Since Linux 4.15 a program of type
//! `BPF_PROG_TYPE_CGROUP_DEVICE`, attached to a cgroup, is run by the
//! kernel on every `mknod(2)` of a device node and every `open(2)` of one
//! by a process of that cgroup (or of a cgroup below it). It gets
//!
//! ```c
//! struct bpf_cgroup_dev_ctx {
//!     __u32 access_type; /* (access << 16) | type: access 1 mknod, 2 read, 4 write; type 1 block, 2 char */
//!     __u32 major;
//!     __u32 minor;
//! };
//! ```
//!
//! and returns 1 (allow) or 0 (the call fails with `EPERM`). runc, crun and
//! youki compile the rules of config.json into such a program; so does
//! this module, by hand, because the program is tiny and a BPF library
//! would cost more compile time than the ~60 lines here. [`program`] makes
//! it: load the context into registers, then one block per exception of
//! the [`Rules`] (a rule that matches returns the exception's answer),
//! and last the default. The exceptions all have the same answer (the
//! opposite of the default), so their order does not matter.
//!
//! The program is loaded with `bpf(BPF_PROG_LOAD)` — the kernel's verifier
//! checks it — and attached with `bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE)`
//! to an fd of the cgroup's directory, with `BPF_F_ALLOW_MULTI` so that a
//! program a parent cgroup has (systemd attaches some) still runs too: the
//! kernel allows only what *every* attached program allows. The attachment
//! holds the program; the fd is closed, and the program goes with the
//! cgroup when `delete` removes it.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::devices::{Kind, RWM, Rules};
use cgroups::error::CgroupError;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// One BPF instruction: opcode, dst and src registers, offset, immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

// The opcodes used (class | operation | source), from linux/bpf.h.
/// `dst = *(u32 *)(src + off)`
const fn load_word(dst: u8, src: u8, off: i16) -> Insn {
    insn(0x61, dst, src, off, 0)
}
/// `dst &= imm` (32-bit)
const fn and_imm(dst: u8, imm: i32) -> Insn {
    insn(0x54, dst, 0, 0, imm)
}
/// `dst >>= imm` (32-bit)
const fn rsh_imm(dst: u8, imm: i32) -> Insn {
    insn(0x74, dst, 0, 0, imm)
}
/// `dst = src` (32-bit)
const fn mov_reg(dst: u8, src: u8) -> Insn {
    insn(0xbc, dst, src, 0, 0)
}
/// `dst = imm` (32-bit)
const fn mov_imm(dst: u8, imm: i32) -> Insn {
    insn(0xb4, dst, 0, 0, imm)
}
/// `if dst != imm goto +off`
const fn jne_imm(dst: u8, imm: i32, off: i16) -> Insn {
    insn(0x55, dst, 0, off, imm)
}
/// `if dst != src goto +off`
const fn jne_reg(dst: u8, src: u8, off: i16) -> Insn {
    insn(0x5d, dst, src, off, 0)
}
/// `if dst == imm goto +off`
const fn jeq_imm(dst: u8, imm: i32, off: i16) -> Insn {
    insn(0x15, dst, 0, off, imm)
}
/// `return r0`
const EXIT: Insn = insn(0x95, 0, 0, 0, 0);

/// The program for `rules`.
pub fn program(rules: &Rules) -> Vec<Insn> {
    // r1 is the context. r2 = type, r3 = access, r4 = major, r5 = minor.
    let mut prog = vec![
        load_word(2, 1, 0),
        and_imm(2, 0xffff),
        load_word(3, 1, 0),
        rsh_imm(3, 16),
        load_word(4, 1, 4),
        load_word(5, 1, 8),
    ];
    let answer = i32::from(!rules.default_allow);
    for ex in &rules.exceptions {
        // Each test jumps to the next block on a mismatch: offsets are
        // counted from the instruction after the jump, so the block is
        // built first with the number of instructions left after each.
        let mut tests: Vec<Box<dyn Fn(i16) -> Insn>> = Vec::new();
        let kind = match ex.kind {
            Kind::Block => 1,
            Kind::Char => 2,
            Kind::All => unreachable!("`a` rules reset the list: never an exception"),
        };
        tests.push(Box::new(move |off| jne_imm(2, kind, off)));
        let access = i32::from(ex.access);
        if ex.access != RWM {
            tests.push(Box::new(|_| mov_reg(1, 3)));
            tests.push(Box::new(move |_| and_imm(1, access)));
            if rules.default_allow {
                // A deny exception: any bit asked for that it names.
                tests.push(Box::new(|off| jeq_imm(1, 0, off)));
            } else {
                // An allow exception: every bit asked for must be in it.
                tests.push(Box::new(|off| jne_reg(1, 3, off)));
            }
        }
        if let Some(major) = ex.major {
            tests.push(Box::new(move |off| jne_imm(4, major as i32, off)));
        }
        if let Some(minor) = ex.minor {
            tests.push(Box::new(move |off| jne_imm(5, minor as i32, off)));
        }
        let len = tests.len() + 2;
        for (i, test) in tests.iter().enumerate() {
            prog.push(test((len - i - 1) as i16));
        }
        prog.extend([mov_imm(0, answer), EXIT]);
    }
    prog.extend([mov_imm(0, i32::from(rules.default_allow)), EXIT]);
    prog
}

/// `bpf(BPF_PROG_LOAD)`'s part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
}

/// `bpf(BPF_PROG_ATTACH)`'s part.
#[repr(C)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> Result<libc::c_long, std::io::Error> {
    // SAFETY: attr is a repr(C) prefix of union bpf_attr, and its size is
    // passed: the kernel reads that many bytes and zero-fills the rest.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Load the program; on a refusal, the verifier's log says why.
fn load(prog: &[Insn], dir: &Path) -> Result<OwnedFd, CgroupError> {
    let license = CString::new("MIT").expect("no NUL");
    let mut log = vec![0u8; 1 << 16];
    let mut attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..ProgLoad::default()
    };
    let first = bpf(BPF_PROG_LOAD, &mut attr);
    let fd = match first {
        Ok(fd) => fd,
        Err(_) => {
            // Again, with the verifier's log.
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            bpf(BPF_PROG_LOAD, &mut attr).map_err(|source| {
                let text = String::from_utf8_lossy(&log);
                let said = text.trim_end_matches('\0').trim();
                CgroupError::new(
                    format!("load the device filter (the verifier said: {said}) for"),
                    dir,
                    source,
                )
            })?
        }
    };
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Compile `rules`, load the program and attach it to the cgroup `dir`.
pub fn attach(dir: &Path, rules: &Rules) -> Result<(), CgroupError> {
    let prog = load(&program(rules), dir)?;
    let cgroup = std::fs::File::open(dir)
        .map_err(|source| CgroupError::new("open the cgroup", dir, source))?;
    let mut attr = ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    bpf(BPF_PROG_ATTACH, &mut attr)
        .map(drop)
        .map_err(|source| CgroupError::new("attach the device filter to", dir, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run the program as the kernel would, on one access.
    fn run(prog: &[Insn], access_type: u32, major: u32, minor: u32) -> u64 {
        let ctx = [access_type, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = (usize::from(i.regs & 0xf), usize::from(i.regs >> 4));
            pc += 1;
            let jump = |taken: bool, pc: &mut usize| {
                if taken {
                    *pc = (*pc as isize + isize::from(i.off)) as usize;
                }
            };
            match i.code {
                0x61 => r[dst] = u64::from(ctx[i.off as usize / 4]),
                0x54 => r[dst] = u64::from(r[dst] as u32 & i.imm as u32),
                0x74 => r[dst] = u64::from((r[dst] as u32) >> i.imm),
                0xbc => r[dst] = u64::from(r[src] as u32),
                0xb4 => r[dst] = u64::from(i.imm as u32),
                0x55 => jump(r[dst] != i.imm as i64 as u64, &mut pc),
                0x5d => jump(r[dst] != r[src], &mut pc),
                0x15 => jump(r[dst] == i.imm as i64 as u64, &mut pc),
                0x95 => return r[0],
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn the_program_answers_as_the_rules_do() {
        let rules = deny_all_then_defaults();
        let prog = program(&rules);
        for (kind, bpf_kind) in [(Kind::Char, 2u32), (Kind::Block, 1)] {
            for (major, minor) in [(1, 3), (1, 11), (8, 0), (136, 4), (5, 2), (10, 200)] {
                for access in [1u8, 2, 4, 6] {
                    let want = rules.allows(kind, major, minor, access);
                    let got = run(&prog, (u32::from(access) << 16) | bpf_kind, major, minor);
                    assert_eq!(got == 1, want, "{kind:?} {major}:{minor} access {access}");
                }
            }
        }
    }
}

#[cfg(test)]
mod on_this_host {
    use super::*;

    /// Needs root and a cgroup2 mount at /sys/fs/cgroup/unified (a hybrid host).
    #[test]
    #[ignore]
    fn attached_it_refuses_and_allows() {
        let dir =
            Path::new("/sys/fs/cgroup/unified").join(format!("dy-bpf-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let rules = deny_all_then_defaults();
        attach(&dir, &rules).unwrap();
        let script = format!(
            "echo $$ > {}/cgroup.procs && cat /dev/null && echo null-ok; (: < /dev/loop-control); echo rc=$?",
            dir.display()
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        let _ = std::fs::remove_dir(&dir);
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("null-ok") && !text.contains("rc=0"), "{text}");
    }
}

/// The rules of a container with no `linux.resources.devices` of its own:
/// deny everything, then the devices every container gets.
#[cfg(test)]
fn deny_all_then_defaults() -> Rules {
    let mut rules = Rules::default();
    rules.push(crate::devices::Rule {
        allow: false,
        kind: Kind::All,
        major: None,
        minor: None,
        access: RWM,
    });
    crate::devices::DEFAULT_ALLOWED
        .into_iter()
        .for_each(|r| rules.push(r));
    rules
}
