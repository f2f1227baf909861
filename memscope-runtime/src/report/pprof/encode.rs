//! Samples into a `Profile`: the string table, the functions and locations of the task
//! frames and of the sampled call stacks, the four sample types, and gzip.
//!
//! A task frame is a location of one line, without an address, named after the task. A
//! call stack's frames that share a return address are one location at that address,
//! whose lines are the functions inlined there, innermost first, as in Go's profiles; a
//! function is one per name and source file. No mapping is written: the frames come
//! resolved, so nothing is left for a reader to symbolize (`go tool pprof` only says
//! "Main binary filename not available").

use super::profile::{Function, Label, Line, Location, Profile, Sample, ValueType};
use super::samples::{Key, Values};
use crate::view::sites::{CallStack, StackFrame};
use flate2::write::GzEncoder;
use flate2::Compression;
use prost::Message;
use std::collections::HashMap;
use std::io::Write;

/// The sample types, in the order of every sample's values (Go's heap profile order).
pub(crate) const SAMPLE_TYPES: [(&str, &str); 4] = [
    ("alloc_objects", "count"),
    ("alloc_space", "bytes"),
    ("inuse_objects", "count"),
    ("inuse_space", "bytes"),
];

/// What a profile says about itself beyond its samples.
pub(crate) struct Header<'a> {
    /// The sample type shown first.
    pub default_sample_type: &'a str,
    /// When the profile is written, nanoseconds since the Unix epoch.
    pub time_nanos: i64,
    /// The time the profile's cumulative figures cover.
    pub duration_nanos: i64,
    /// Free-form lines for the reader.
    pub comments: Vec<String>,
}

/// A profile being built: strings, functions and locations are interned.
#[derive(Default)]
struct Builder<'s> {
    strings: Vec<String>,
    string_index: HashMap<String, i64>,
    /// (Name, source file) → function id.
    functions: HashMap<(&'s str, Option<&'s str>), u64>,
    /// Task frame name → its location id.
    task_frames: HashMap<&'s str, u64>,
    /// (Address, its lines as (function id, line)) → location id.
    addresses: HashMap<(u64, Vec<(u64, i64)>), u64>,
    /// Index in `stacks` → its location ids, leaf first.
    call_stacks: HashMap<usize, Vec<u64>>,
    /// The snapshot's call stacks, which samples name by index.
    stacks: &'s [CallStack],
    profile: Profile,
}

impl<'s> Builder<'s> {
    fn new(stacks: &'s [CallStack]) -> Self {
        let mut b = Builder {
            stacks,
            ..Builder::default()
        };
        b.string(""); // string_table[0] must be ""
        b
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.string_index.get(s) {
            return i;
        }
        let i = self.strings.len() as i64;
        self.strings.push(s.to_owned());
        self.string_index.insert(s.to_owned(), i);
        i
    }

    /// The function named `name` in source file `file`, made on first use.
    fn function(&mut self, name: &'s str, file: Option<&'s str>) -> u64 {
        if let Some(&id) = self.functions.get(&(name, file)) {
            return id;
        }
        let id = self.profile.function.len() as u64 + 1;
        let name_index = self.string(name);
        let filename = file.map_or(0, |f| self.string(f));
        // No `system_name` (there is no mangled name): a reader that finds it equal to
        // the name takes the name for one still to simplify, and `go tool pprof` would
        // cut `<…>` and `(…)` out of `<Vec<T> as Drop>::drop` or a task's name.
        self.profile.function.push(Function {
            id,
            name: name_index,
            filename,
            ..Function::default()
        });
        self.functions.insert((name, file), id);
        id
    }

    /// A new location at `address` (0: none) with `line`, innermost first.
    fn location(&mut self, address: u64, line: Vec<Line>) -> u64 {
        let id = self.profile.location.len() as u64 + 1;
        self.profile.location.push(Location {
            id,
            address,
            line,
            ..Location::default()
        });
        id
    }

    /// The location of the task frame named `name`, made on first use with its function.
    fn task_frame(&mut self, name: &'s str) -> u64 {
        if let Some(&id) = self.task_frames.get(name) {
            return id;
        }
        let function_id = self.function(name, None);
        let id = self.location(
            0,
            vec![Line {
                function_id,
                line: 0,
            }],
        );
        self.task_frames.insert(name, id);
        id
    }

    /// The locations of call stack `index`, leaf first: one per run of frames that share
    /// a return address. Made on first use.
    fn call_stack(&mut self, index: usize) -> Vec<u64> {
        if let Some(ids) = self.call_stacks.get(&index) {
            return ids.clone();
        }
        let stacks = self.stacks;
        let frames: &'s [StackFrame] = stacks.get(index).map_or(&[], |s| &s.frames[..]);
        let mut ids = Vec::new();
        for run in frames.chunk_by(|a, b| a.address == b.address) {
            let line: Vec<Line> = run
                .iter()
                .map(|f| Line {
                    function_id: self.function(&f.function, f.file.as_deref()),
                    line: f.line.map_or(0, i64::from),
                })
                .collect();
            let key = (
                run[0].address,
                line.iter().map(|l| (l.function_id, l.line)).collect(),
            );
            let id = match self.addresses.get(&key) {
                Some(&id) => id,
                None => {
                    let id = self.location(key.0, line);
                    self.addresses.insert(key, id);
                    id
                }
            };
            ids.push(id);
        }
        self.call_stacks.insert(index, ids.clone());
        ids
    }

    fn value_type(&mut self, (ty, unit): (&str, &str)) -> ValueType {
        ValueType {
            r#type: self.string(ty),
            unit: self.string(unit),
        }
    }

    fn label(&mut self, key: &str, value: &str) -> Label {
        Label {
            key: self.string(key),
            str: self.string(value),
            ..Label::default()
        }
    }

    fn sample(&mut self, key: &Key<'s>, values: &Values) {
        let mut location_id = key.site.map(|i| self.call_stack(i)).unwrap_or_default();
        for &frame in &key.frames {
            location_id.push(self.task_frame(frame));
        }
        let mut label = vec![self.label("task_type", key.task_type)];
        if let Some(task) = key.task {
            label.push(self.label("task", task));
        }
        let value = values.map(saturating_i64).to_vec();
        self.profile.sample.push(Sample {
            location_id,
            value,
            label,
        });
    }
}

/// pprof values are signed; a figure past `i64::MAX` (never reached in practice) is
/// written as `i64::MAX`.
fn saturating_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The profile of `samples` under `header`, unencoded; `stacks` are the call stacks
/// the samples' keys name.
pub(crate) fn profile<'s>(
    samples: &[(Key<'s>, Values)],
    stacks: &'s [CallStack],
    header: Header<'_>,
) -> Profile {
    let mut b = Builder::new(stacks);
    b.profile.sample_type = SAMPLE_TYPES.map(|t| b.value_type(t)).to_vec();
    b.profile.default_sample_type = b.string(header.default_sample_type);
    // Not sampled: every allocation is counted once, so one event per occurrence.
    b.profile.period_type = Some(b.value_type(("space", "bytes")));
    b.profile.period = 1;
    b.profile.time_nanos = header.time_nanos;
    b.profile.duration_nanos = header.duration_nanos;
    b.profile.comment = header.comments.iter().map(|c| b.string(c)).collect();
    for (key, values) in samples {
        b.sample(key, values);
    }
    let mut profile = b.profile;
    profile.string_table = b.strings;
    profile
}

/// `profile` encoded and gzip-compressed, as pprof files and endpoints carry it.
pub(crate) fn gzip(profile: &Profile) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    // Writing to a `Vec` cannot fail.
    gz.write_all(&profile.encode_to_vec())
        .and_then(|()| gz.finish())
        .unwrap_or_default()
}
