//! Samples into a `Profile`: the string table, one function and one location per frame
//! name, the four sample types, and gzip.

use super::profile::{Function, Label, Line, Location, Profile, Sample, ValueType};
use super::samples::Key;
use crate::base::counters::HeapCounters;
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
    pub time_nanos: i64,
    pub duration_nanos: i64,
    pub comments: Vec<String>,
}

/// A profile being built: strings and frames are interned.
#[derive(Default)]
struct Builder {
    strings: Vec<String>,
    string_index: HashMap<String, i64>,
    /// Frame name → its location id, which is also its function's id.
    frames: HashMap<String, u64>,
    profile: Profile,
}

impl Builder {
    fn new() -> Self {
        let mut b = Builder::default();
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

    /// The location of a frame named `name`, made on first use with its function.
    fn frame(&mut self, name: &str) -> u64 {
        if let Some(&id) = self.frames.get(name) {
            return id;
        }
        let id = self.frames.len() as u64 + 1;
        let name_index = self.string(name);
        self.profile.function.push(Function {
            id,
            name: name_index,
            system_name: name_index,
            ..Function::default()
        });
        self.profile.location.push(Location {
            id,
            line: vec![Line {
                function_id: id,
                line: 0,
            }],
            ..Location::default()
        });
        self.frames.insert(name.to_owned(), id);
        id
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

    fn sample(&mut self, key: &Key<'_>, heap: &HeapCounters) {
        let location_id = key.frames.iter().map(|f| self.frame(f)).collect();
        let mut label = vec![self.label("task_type", key.task_type)];
        if let Some(task) = key.task {
            label.push(self.label("task", task));
        }
        let value = [
            heap.allocation_count,
            heap.allocated_bytes,
            heap.live_count(),
            heap.live_bytes(),
        ]
        .map(saturating_i64)
        .to_vec();
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

/// The profile of `samples` under `header`, unencoded.
pub(crate) fn profile(samples: &[(Key<'_>, HeapCounters)], header: Header<'_>) -> Profile {
    let mut b = Builder::new();
    b.profile.sample_type = SAMPLE_TYPES.map(|t| b.value_type(t)).to_vec();
    b.profile.default_sample_type = b.string(header.default_sample_type);
    // Not sampled: every allocation is counted once, so one event per occurrence.
    b.profile.period_type = Some(b.value_type(("space", "bytes")));
    b.profile.period = 1;
    b.profile.time_nanos = header.time_nanos;
    b.profile.duration_nanos = header.duration_nanos;
    b.profile.comment = header.comments.iter().map(|c| b.string(c)).collect();
    for (key, heap) in samples {
        b.sample(key, heap);
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
