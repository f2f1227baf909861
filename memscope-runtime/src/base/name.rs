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

impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskName::Static(s) => f.write_str(s),
            TaskName::Location(l) => write!(f, "{}:{}:{}", l.file(), l.line(), l.column()),
            TaskName::Owned(s) => f.write_str(s),
        }
    }
}
