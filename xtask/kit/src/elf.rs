//! Reading just enough of an ELF header to tell a static binary from a
//! dynamic one.
//!
//! A dynamically linked program names its loader (`ld-linux.so`) in a
//! `PT_INTERP` program header; the kernel runs that loader first. Inside a
//! container whose root filesystem has no loader, such a program fails to
//! start with a confusing ENOENT. The probe and busybox are static.

/// The program header type that names the dynamic loader.
const PT_INTERP: u32 = 3;

/// Whether an ELF64 little-endian file asks for a program interpreter
/// (ld-linux.so), i.e. is dynamically linked. `None` if it is not such a
/// file, or its program headers lie beyond `elf`.
pub fn has_interp(elf: &[u8]) -> Option<bool> {
    // e_ident: the magic, then EI_CLASS 2 (64-bit) and EI_DATA 1 (little-endian).
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let phoff = usize::try_from(le_u64(elf, 32)?).ok()?;
    let phentsize = usize::from(le_u16(elf, 54)?);
    let phnum = usize::from(le_u16(elf, 56)?);
    for index in 0..phnum {
        // p_type is the first field of each program header.
        let p_type = le_u32(elf, phoff.checked_add(index.checked_mul(phentsize)?)?)?;
        if p_type == PT_INTERP {
            return Some(true);
        }
    }
    Some(false)
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        bytes.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        bytes.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        bytes.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Whether `elf` is a statically linked ELF64 program.
pub fn is_static(elf: &[u8]) -> bool {
    has_interp(elf) == Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_binary_is_dynamic() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        assert_eq!(has_interp(&exe), Some(true));
        assert!(!is_static(&exe));
    }

    /// An ELF64 header with `types.len()` program headers of 56 bytes at 64.
    fn elf_with(types: &[u32]) -> Vec<u8> {
        let mut elf = vec![0u8; 64 + 56 * types.len()];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[32..40].copy_from_slice(&64u64.to_le_bytes());
        elf[54..56].copy_from_slice(&56u16.to_le_bytes());
        elf[56..58].copy_from_slice(&(types.len() as u16).to_le_bytes());
        for (index, p_type) in types.iter().enumerate() {
            let at = 64 + 56 * index;
            elf[at..at + 4].copy_from_slice(&p_type.to_le_bytes());
        }
        elf
    }

    #[test]
    fn elf_interp_detection() {
        const PT_LOAD: u32 = 1;
        assert_eq!(has_interp(&elf_with(&[PT_LOAD, PT_LOAD])), Some(false));
        assert_eq!(has_interp(&elf_with(&[PT_LOAD, PT_INTERP])), Some(true));
        assert_eq!(has_interp(b"#!/bin/sh\n"), None);
        // Program headers cut off: not an answer.
        let mut cut = elf_with(&[PT_LOAD, PT_INTERP]);
        cut.truncate(100);
        assert_eq!(has_interp(&cut), None);
    }
}
