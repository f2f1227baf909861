//! `TaskName`: a task's name in the cheapest form it came in.

use std::borrow::Cow;
use std::fmt;
use std::panic::Location;

/// A task's name, kept in the cheapest form it came in: spawning by source location or
/// with a `&'static str` name allocates nothing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TaskName {
    Static(&'static str),
    Location(&'static Location<'static>),
    Owned(Box<str>),
}

impl From<Cow<'static, str>> for TaskName {
    fn from(name: Cow<'static, str>) -> Self {
        match name {
            Cow::Borrowed(s) => TaskName::Static(s),
            Cow::Owned(s) => TaskName::Owned(s.into_boxed_str()),
        }
    }
}

impl From<&'static str> for TaskName {
    fn from(name: &'static str) -> Self {
        TaskName::Static(name)
    }
}

impl TaskName {
    /// Where this name's text (or location) is: equal for the same `&'static str` or
    /// location, so it can key a table without hashing text. Two keys may still display
    /// the same (a text name equal to another's); whoever keys by it merges by text after.
    pub(crate) fn address(&self) -> (u8, usize, usize) {
        match self {
            TaskName::Static(s) => (0, s.as_ptr() as usize, s.len()),
            TaskName::Location(l) => (1, std::ptr::from_ref(*l) as usize, 0),
            TaskName::Owned(s) => (2, s.as_ptr() as usize, s.len()),
        }
    }
}

impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskName::Static(s) => f.write_str(s),
            TaskName::Location(l) => write!(f, "{}:{}:{}", l.file(), l.line(), l.column()),
            TaskName::Owned(s) => f.write_str(s),
        }
    }
}
