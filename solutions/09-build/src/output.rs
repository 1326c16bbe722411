//! Build output like `docker build --progress=plain` (BuildKit): one
//! number per step, `[stage k/M]` where it is in its stage (FROM is 1),
//! then `CACHED`, or `DONE` with the time it took.
//!
//! ```text
//! #1 [builder 1/3] FROM docker.io/library/busybox
//! #2 [builder 2/3] COPY src /src
//! #2 CACHED
//! #3 [builder 3/3] RUN make
//! #3 DONE 1.2s
//! ```

use std::time::Duration;

/// The `[…]` label of step `k` of `m` in a stage: the stage's name
/// (`stage-N` without one) when the file has several stages.
pub fn label(
    stage_name: Option<&str>,
    stage_index: usize,
    stages: usize,
    k: usize,
    m: usize,
) -> String {
    if stages <= 1 {
        return format!("[{k}/{m}]");
    }
    match stage_name {
        Some(name) => format!("[{name} {k}/{m}]"),
        None => format!("[stage-{stage_index} {k}/{m}]"),
    }
}

pub fn step(n: usize, label: &str, text: &str) -> String {
    format!("#{n} {label} {text}")
}

pub fn cached(n: usize) -> String {
    format!("#{n} CACHED")
}

/// `#N DONE 0.3s`: tenths of a second, as BuildKit prints.
pub fn done(n: usize, took: Duration) -> String {
    format!("#{n} DONE {:.1}s", took.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_look_like_buildkit_plain_progress() {
        assert_eq!(label(None, 0, 1, 1, 3), "[1/3]");
        assert_eq!(label(Some("builder"), 0, 2, 2, 3), "[builder 2/3]");
        assert_eq!(label(None, 1, 2, 1, 2), "[stage-1 1/2]");
        assert_eq!(step(4, "[2/3]", "RUN make"), "#4 [2/3] RUN make");
        assert_eq!(cached(2), "#2 CACHED");
        assert_eq!(done(3, Duration::from_millis(1249)), "#3 DONE 1.2s");
    }
}
