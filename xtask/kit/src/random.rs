//! Random values for checks.
//!
//! Anything a learner could hard-code to make a check pass (a hostname, a
//! file's content, a size, a port) is drawn at random on every run.

/// A random lowercase token of `len` letters and digits, starting with a letter.
pub fn token(len: usize) -> String {
    let mut s = String::with_capacity(len);
    s.push(fastrand::lowercase());
    while s.len() < len {
        s.push(fastrand::alphanumeric().to_ascii_lowercase());
    }
    s
}

/// A random valid hostname such as `dy-k3v9q2xw`.
pub fn hostname() -> String {
    format!("dy-{}", token(8))
}

/// A random integer in `range`.
pub fn int(range: std::ops::RangeInclusive<u32>) -> u32 {
    fastrand::u32(range)
}
