//! The words that both `#[memscope::track]`/`#[memscope::main]` (compile time) and the
//! runtime (`"io".parse::<TaskType>()`, `MEMSCOPE_REPORT`) accept, kept in one place so
//! the two can never disagree, and the one way their error messages list choices.
//!
//! ```
//! assert_eq!(memscope_vocab::one_of(&["a", "b", "c"]), "`a`, `b`, or `c`");
//! assert!(memscope_vocab::TASK_TYPES.iter().any(|(name, _)| *name == "io"));
//! ```
#![forbid(unsafe_code)]

/// Accepted `task_type` names, each with the `TaskType` variant it names, in the order
/// messages list them.
pub const TASK_TYPES: [(&str, &str); 6] = [
    ("cpu", "CpuIntensive"),
    ("io", "IoIntensive"),
    ("network", "NetworkIntensive"),
    ("memory", "MemoryIntensive"),
    ("background", "Background"),
    ("unspecified", "Unspecified"),
];

/// Accepted report format names, each with the file ending that selects it.
pub const REPORT_FORMATS: [(&str, &str); 4] = [
    ("text", ".txt"),
    ("json", ".json"),
    ("html", ".html"),
    ("trace", ".trace.json"),
];

/// Lists accepted words as "`a`", "`a` or `b`", or "`a`, `b`, or `c`".
pub fn one_of(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [only] => only.clone(),
        [first, second] => format!("{first} or {second}"),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_well() {
        assert_eq!(one_of(&[]), "");
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b"]), "`a` or `b`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b`, or `c`");
    }
}
