//! Content addressing: a blob is named by the SHA-256 of its bytes.
//!
//! `sha256:` followed by 64 lowercase hex digits is the only algorithm
//! this store writes or accepts (the image spec allows sha512 too; no
//! tool we meet writes it). Hashing is done *while* bytes stream through
//! ([`Hashing`]), never by reading a file a second time: a multi-gigabyte
//! layer is read once, and what was hashed is what was written.

use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// `sha256:<hex>` of `bytes`.
pub fn of(bytes: &[u8]) -> String {
    hex_name(&Sha256::digest(bytes))
}

fn hex_name(sum: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in sum {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// The hex part of a digest, checked: `sha256:` and 64 lowercase hex
/// digits. A digest names a file in `blobs/sha256/`, so anything else
/// (`sha256:../../etc/passwd`) must be refused before it becomes a path.
pub fn hex(digest: &str) -> Result<&str> {
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| Error::invalid(digest, "not a sha256 digest"))?;
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(Error::invalid(
            digest,
            "a sha256 digest is 64 lowercase hex digits",
        ));
    }
    Ok(hex)
}

/// A reader or writer that hashes and counts every byte passing through.
pub struct Hashing<T> {
    inner: T,
    sha: Sha256,
    size: u64,
}

impl<T> Hashing<T> {
    pub fn new(inner: T) -> Hashing<T> {
        Hashing {
            inner,
            sha: Sha256::new(),
            size: 0,
        }
    }

    /// The digest and size of what passed so far.
    pub fn sum(&self) -> (String, u64) {
        (hex_name(&self.sha.clone().finalize()), self.size)
    }

    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Compare what was hashed with what was expected.
pub fn expect(name: &str, (digest, size): (&str, u64), want: (&str, u64)) -> Result<()> {
    if digest != want.0 {
        return Err(Error::Corrupt {
            digest: name.to_string(),
            detail: format!("its content hashes to {digest}, not {}", want.0),
        });
    }
    if size != want.1 {
        return Err(Error::Corrupt {
            digest: name.to_string(),
            detail: format!("it is {size} bytes, its descriptor says {}", want.1),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_string_hashes_as_everyone_says() {
        assert_eq!(
            of(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut h = Hashing::new(&b"abc"[..]);
        io::copy(&mut h, &mut io::sink()).unwrap();
        assert_eq!(h.sum(), (of(b"abc"), 3));
    }

    #[test]
    fn only_plain_sha256_digests_name_files() {
        assert!(hex(&of(b"x")).is_ok());
        assert!(hex("sha256:../../etc/passwd").is_err());
        assert!(hex("sha512:00").is_err());
        assert!(hex(&of(b"x").to_uppercase()).is_err());
    }
}
