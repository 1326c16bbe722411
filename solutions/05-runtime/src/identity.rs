//! Who the process is and what it may do: rlimits, user and groups, the
//! five capability sets, `no_new_privs`. The last setup steps before the
//! exec FIFO, in the child.
//!
//! The order is the kernel's, not a matter of taste:
//!
//! 1. **rlimits** first, while the process may still raise a hard limit.
//! 2. **bounding set**: dropping from it needs `CAP_SETPCAP`, which the
//!    process loses in step 4 — so drop first.
//! 3. **`PR_SET_KEEPCAPS`, then the ids**: `setresuid` to a non-zero uid
//!    clears the permitted and effective sets unless "keep caps" is on.
//!    Groups before the gid, the gid before the uid: after the uid
//!    changes, the process may no longer change its groups.
//! 4. **`capset`**: effective, permitted, inheritable — from what step 3 kept.
//! 5. **ambient**: only what is permitted *and* inheritable can be raised.
//! 6. **`no_new_privs`** last of all: from then on no exec can gain a
//!    privilege (setuid bits, file capabilities), and it cannot be undone.
//!
//! Everything is a raw system call on data the parent prepared: nothing
//! here allocates.

use nix::errno::Errno;

use crate::plan::Identity;

fn check(rc: libc::c_int) -> Result<(), Errno> {
    if rc < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// `capset(2)` with version 3 (two 32-bit words per set).
fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), Errno> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let word = |mask: u64, i: u32| (mask >> (32 * i)) as u32;
    let data = [0, 1].map(|i| Data {
        effective: word(effective, i),
        permitted: word(permitted, i),
        inheritable: word(inheritable, i),
    });
    // SAFETY: the kernel reads one header and two data structs.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    check(rc as libc::c_int)
}

/// rlimits, then the umask.
pub fn set_limits(identity: &Identity) -> Result<(), Errno> {
    for &(resource, soft, hard) in &identity.rlimits {
        let limit = libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        };
        // SAFETY: a plain system call on a struct on the stack.
        check(unsafe { libc::setrlimit(resource, &limit) })?;
    }
    if let Some(mask) = identity.umask {
        // SAFETY: umask cannot fail.
        unsafe { libc::umask(mask as libc::mode_t) };
    }
    Ok(())
}

// ANCHOR: become
/// Become the configured user with exactly the configured capabilities.
pub fn become_user(identity: &Identity) -> Result<(), Errno> {
    // TASK 05.3: bounding, keepcaps, groups/gid/uid, capset, ambient, no_new_privs
    // SAFETY: plain system calls on integers and a slice that outlives them.
    unsafe {
        for cap in 0..=identity.last_cap {
            if identity.bounding & (1 << cap) == 0 {
                check(libc::prctl(
                    libc::PR_CAPBSET_DROP,
                    cap as libc::c_ulong,
                    0,
                    0,
                    0,
                ))?;
            }
        }
        check(libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0))?;
        check(libc::setgroups(
            identity.groups.len(),
            identity.groups.as_ptr(),
        ))?;
        check(libc::setresgid(identity.gid, identity.gid, identity.gid))?;
        check(libc::setresuid(identity.uid, identity.uid, identity.uid))?;
        check(libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0))?;
    }
    capset(identity.effective, identity.permitted, identity.inheritable)?;
    // SAFETY: as above.
    unsafe {
        let ambient = libc::PR_CAP_AMBIENT as libc::c_int;
        check(libc::prctl(
            ambient,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        ))?;
        for cap in 0..=identity.last_cap {
            if identity.ambient & (1 << cap) != 0 {
                let raise = libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong;
                check(libc::prctl(ambient, raise, cap as libc::c_ulong, 0, 0))?;
            }
        }
        if identity.no_new_privs {
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
        }
    }
    Ok(())
    // END TASK 05.3
}
// ANCHOR_END: become

/// The working directory, entered as the user (so its permissions apply).
pub fn enter_cwd(identity: &Identity) -> Result<(), Errno> {
    nix::unistd::chdir(identity.cwd.as_c_str())
}
