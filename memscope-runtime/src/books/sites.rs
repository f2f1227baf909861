//! The books of sampled allocations: what the allocator hook's sample slots add up to per
//! `(task group, call stack)`. Off the hot path, behind one lock the hook never takes.
//!
//! [`collect`] walks the slots the hook filled: each new sample is counted once in its
//! site's allocated figures (weighted by `hook::sampling::weight`) and its slot, once its
//! block is freed, goes back to the pool. In-use figures are not kept here: a snapshot
//! reads them from the live slots ([`live`]), so they are current however the blocks are
//! freed, by whoever, after their task finished or not.
//!
//! Bounds: at most [`MAX_GROUPS`] task groups (names past it share `(other names)` per
//! type), [`MAX_SITES`] `(group, stack)` rows (rows past it go to their group's
//! `(stack table full)` row) and the last [`RECENT`] samples for the trace; with the
//! hook's fixed tables (`hook::stacks`, `hook::sample_slots`: 8.25 MiB of static memory at
//! most) that bounds the memory call sites take, whatever the run length.

use crate::base::lock;
use crate::base::name::TaskName;
use crate::base::task::{TaskId, TaskType};
use crate::hook::record::TaskRecord;
use crate::hook::sample_slots::{self, Slot, COUNTED, FREED};
use crate::hook::sampling;
use crate::hook::stacks::OVERFLOW;
use crate::hook::thread;
use std::collections::{HashMap, VecDeque};
use std::panic::Location;
use std::sync::atomic::Ordering::*;
use std::sync::{Arc, Mutex};

/// Task groups kept apart.
pub(crate) const MAX_GROUPS: usize = 1024;
/// `(group, stack)` rows kept apart.
pub(crate) const MAX_SITES: usize = 64 * 1024;
/// Recent samples kept for the trace's instant events.
pub(crate) const RECENT: usize = 4096;
/// The group of allocations made outside any tracked task.
pub(crate) const UNTRACKED_GROUP: u32 = 0;
/// Name of the group of names past [`MAX_GROUPS`].
pub(crate) const OTHER_NAMES: &str = "(other names)";

/// A task group as the sites see it: `None` for allocations outside tracked tasks.
pub(crate) type GroupKey = Option<(String, TaskType)>;

/// Estimated allocations at one site of one group (fractional: sums of weights).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Allocated {
    pub bytes: f64,
    pub count: f64,
}

/// One sample of the recent ones: when, by which task, where, how large.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecentSample {
    pub at_ns: u64,
    pub task: Option<TaskId>,
    pub stack: u32,
    pub size: u64,
}

/// One live sampled block, as a snapshot reads it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LiveSample {
    pub group: u32,
    pub stack: u32,
    pub task: Option<TaskId>,
    pub bytes: f64,
    pub count: f64,
}

struct SiteBooks {
    groups: Vec<GroupKey>,
    group_index: HashMap<GroupKey, u32>,
    sites: HashMap<(u32, u32), Allocated>,
    recent: VecDeque<RecentSample>,
}

static BOOKS: Mutex<Option<SiteBooks>> = Mutex::new(None);

impl SiteBooks {
    fn new() -> Self {
        let mut books = SiteBooks {
            groups: Vec::new(),
            group_index: HashMap::new(),
            sites: HashMap::new(),
            recent: VecDeque::new(),
        };
        books.group(None);
        books
    }

    /// The index of `key`'s group, made if new (past [`MAX_GROUPS`], `(other names)`).
    fn group(&mut self, key: GroupKey) -> u32 {
        if let Some(&i) = self.group_index.get(&key) {
            return i;
        }
        let key = match key {
            Some((_, task_type)) if self.groups.len() >= MAX_GROUPS => {
                let other = Some((OTHER_NAMES.to_string(), task_type));
                if let Some(&i) = self.group_index.get(&other) {
                    return i;
                }
                other
            }
            key => key,
        };
        let i = self.groups.len() as u32;
        self.groups.push(key.clone());
        self.group_index.insert(key, i);
        i
    }

    /// Counts a new sample's allocation; returns its group.
    fn count(&mut self, slot: &Slot) -> u32 {
        let task = sample_slots::unpack_task(slot.task.load(Relaxed));
        let key = task.map(|(_, task_type)| (name_of(slot), task_type));
        let group = self.group(key);
        let stack = slot.stack.load(Relaxed);
        let size = slot.size.load(Relaxed);
        let weight = sampling::weight(size, slot.mean.load(Relaxed));
        let full = self.sites.len() >= MAX_SITES;
        let row = match self.sites.get_mut(&(group, stack)) {
            Some(row) => row,
            None => self
                .sites
                .entry((group, if full { OVERFLOW } else { stack }))
                .or_default(),
        };
        row.bytes += weight * size as f64;
        row.count += weight;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentSample {
            at_ns: slot.at_ns.load(Relaxed),
            task: task.map(|(id, _)| id),
            stack,
            size,
        });
        group
    }
}

/// The name the hook packed into `slot`: a `'static` text or location, or read from the
/// record it holds a strong count of (given back here).
fn name_of(slot: &Slot) -> String {
    let (address, packed) = (slot.name[0].load(Relaxed), slot.name[1].load(Relaxed));
    match packed & 0xff {
        0 => {
            // SAFETY: `sampling::describe` packed the address and length of a
            // `TaskName::Static`'s `&'static str`, valid UTF-8 for the program's life.
            let text = unsafe {
                std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                    address as *const u8,
                    packed >> 8,
                ))
            };
            text.to_string()
        }
        1 => {
            // SAFETY: as above, of a `TaskName::Location`'s `&'static Location`.
            let location = unsafe { &*(address as *const Location<'static>) };
            TaskName::Location(location).to_string()
        }
        _ => {
            let record = slot.record.swap(std::ptr::null_mut(), Relaxed);
            if record.is_null() {
                return String::new();
            }
            // SAFETY: `sampling::describe` stored `Arc::as_ptr` of a record after making
            // one more strong count of it, which this takes back (once: swapped out).
            let record = unsafe { Arc::from_raw(record.cast::<TaskRecord>().cast_const()) };
            record.name.to_string()
        }
    }
}

/// Runs `f` on the books, made on first use; tracker-internal.
fn with_books<R>(f: impl FnOnce(&mut SiteBooks) -> R) -> R {
    let _internal = thread::internal();
    let mut books = lock::lock(&BOOKS);
    f(books.get_or_insert_with(SiteBooks::new))
}

/// Counts every sample not yet counted and gives back the slots of freed blocks.
pub(crate) fn collect() {
    if sample_slots::used().is_empty() {
        return;
    }
    with_books(|books| {
        for slot in sample_slots::used() {
            // Acquire: pairs with the hook's `Release` of the state (`LIVE`, `FREED`).
            let mut state = slot.state.load(Acquire);
            if state == 0 {
                continue;
            }
            if state & COUNTED == 0 {
                let group = books.count(slot);
                slot.group.store(group, Relaxed);
                state = slot.state.fetch_or(COUNTED, AcqRel) | COUNTED;
            }
            if state & FREED != 0 {
                sample_slots::give_back(slot);
            }
        }
    });
}

/// Everything the site books hold, copied out after a [`collect`].
pub(crate) struct SitesReading {
    pub groups: Vec<GroupKey>,
    pub allocated: Vec<((u32, u32), Allocated)>,
    pub live: Vec<LiveSample>,
    pub recent: Vec<RecentSample>,
    pub samples: u64,
    pub dropped: u64,
}

/// Collects, then copies the books and the live samples out.
pub(crate) fn read() -> SitesReading {
    collect();
    let live = live();
    with_books(|books| SitesReading {
        groups: books.groups.clone(),
        allocated: books.sites.iter().map(|(k, v)| (*k, *v)).collect(),
        live,
        recent: books.recent.iter().copied().collect(),
        samples: sampling::taken(),
        dropped: sample_slots::dropped(),
    })
}

/// The samples whose blocks are live and counted, with their estimated weight.
fn live() -> Vec<LiveSample> {
    let _internal = thread::internal();
    let mut out = Vec::new();
    for slot in sample_slots::used() {
        let state = slot.state.load(Acquire);
        if state & COUNTED == 0 || state & FREED != 0 {
            continue;
        }
        let size = slot.size.load(Relaxed);
        let weight = sampling::weight(size, slot.mean.load(Relaxed));
        let task = sample_slots::unpack_task(slot.task.load(Relaxed));
        out.push(LiveSample {
            group: slot.group.load(Relaxed),
            stack: slot.stack.load(Relaxed),
            task: task.map(|(id, _)| id),
            bytes: weight * size as f64,
            count: weight,
        });
    }
    out
}
