//! Redaction of volatile values before a snapshot.
//!
//! Snapshots (with `insta`) must be identical on every host, so values that
//! change from run to run or host to host — pids, inode numbers, random
//! names, temp paths — are replaced by a placeholder first.

use serde_json::Value;

/// Replace the values at the given JSON pointers (`/pid`, `/namespaces/net`)
/// by `"[name]"`, where `name` is the pointer's last segment.
/// A `*` segment matches every element of an array or object.
pub fn redact(value: &mut Value, pointers: &[&str]) {
    for pointer in pointers {
        let segments: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        let label = format!("[{}]", segments.last().copied().unwrap_or("value"));
        redact_at(value, &segments, &label);
    }
}

fn redact_at(value: &mut Value, segments: &[&str], label: &str) {
    let Some((first, rest)) = segments.split_first() else {
        *value = Value::String(label.to_owned());
        return;
    };
    match (value, *first) {
        (Value::Array(items), "*") => items.iter_mut().for_each(|v| redact_at(v, rest, label)),
        (Value::Object(map), "*") => map.values_mut().for_each(|v| redact_at(v, rest, label)),
        (Value::Array(items), index) => {
            if let Some(v) = index.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                redact_at(v, rest, label)
            }
        }
        (Value::Object(map), key) => {
            if let Some(v) = map.get_mut(key) {
                redact_at(v, rest, label)
            }
        }
        _ => {}
    }
}

/// Replace every occurrence of each `(needle, placeholder)` in `text`.
/// For plain-text snapshots: random names and temp paths.
pub fn redact_text(text: &str, replacements: &[(&str, &str)]) -> String {
    replacements
        .iter()
        .filter(|(needle, _)| !needle.is_empty())
        .fold(text.to_owned(), |acc, (needle, with)| {
            acc.replace(needle, with)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_nested_and_wildcards() {
        let mut v = json!({"pid": 7, "ns": {"net": 1, "uts": 2}, "m": [{"id": 1}, {"id": 2}]});
        redact(&mut v, &["/pid", "/ns/*", "/m/*/id", "/missing/x"]);
        assert_eq!(
            v,
            json!({"pid": "[pid]", "ns": {"net": "[*]", "uts": "[*]"}, "m": [{"id": "[id]"}, {"id": "[id]"}]})
        );
    }

    #[test]
    fn redacts_text() {
        assert_eq!(
            redact_text("a /tmp/x b", &[("/tmp/x", "[tmp]"), ("", "z")]),
            "a [tmp] b"
        );
    }
}
