//! Reading the shards' records fast: the groups-only snapshot (`/metrics`, the `metrics`
//! publisher) and the prefetching walk both kinds of snapshot use.

use crate::base::name::TaskName;
use crate::base::task::TaskType;
use crate::books::aggregate::GroupProfile;
use crate::books::shard::Shard;
use crate::books::store;
use crate::hook::record::TaskRecord;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Groups by displayed name: a name given as text and the same spawn location are one.
pub(crate) type Groups = BTreeMap<(TaskType, String), GroupProfile>;

/// What a groups-only walk of the books found (the snapshot puts it together).
pub(crate) struct GroupsScan {
    pub groups: Groups,
    pub folded_tasks: u64,
    pub tasks_started: u64,
    pub tasks_running: u64,
    pub folded_retaining_tasks: u64,
}

/// One shard's groups in [`groups_only`], by type and name address.
type ShardGroups<'s> =
    HashMap<(TaskType, (u8, usize, usize)), (&'s TaskName, GroupProfile), ByAddress>;

/// A groups-only walk: each shard's records added up per `(type, name)` under its lock (no
/// string per task), then merged by displayed name as the full snapshot does.
pub(crate) fn groups_only(now_ns: u64) -> GroupsScan {
    let mut scan = GroupsScan {
        groups: Groups::new(),
        folded_tasks: 0,
        tasks_started: 0,
        tasks_running: 0,
        folded_retaining_tasks: 0,
    };
    store::for_each_shard(|shard| {
        // Keyed by where the name is (its text's address): no hashing of text per task.
        let mut local: ShardGroups = HashMap::default();
        each_record(shard, |rec| {
            let reading = rec.read();
            scan.tasks_running += u64::from(!reading.outcome.is_finished());
            local
                .entry((rec.task_type, rec.name.address()))
                .or_insert_with(|| (&rec.name, GroupProfile::default()))
                .1
                .add(&reading, now_ns);
        });
        for ((ty, _), (name, g)) in local {
            group_of(&mut scan.groups, ty, &name.to_string()).merge(&g);
        }
        let retaining = &mut scan.folded_retaining_tasks;
        let folded =
            shard.folded_groups(|_, (_, live_count)| *retaining += u64::from(live_count > 0));
        for g in folded {
            group_of(&mut scan.groups, g.task_type, &g.name).merge(&g);
        }
        scan.folded_tasks += shard.folded_tasks;
        scan.tasks_started += shard.started;
    });
    scan
}

/// The group of `(ty, name)` in `groups`, made empty if new.
pub(crate) fn group_of<'a>(
    groups: &'a mut Groups,
    ty: TaskType,
    name: &str,
) -> &'a mut GroupProfile {
    groups
        .entry((ty, name.to_owned()))
        .or_insert_with(|| GroupProfile::new(name, ty))
}

/// Calls `f` with each record of `shard`. Records are scattered over the heap and reading
/// one stalls on memory: the record `AHEAD` places on, and the cell of the one half as
/// far, are fetched while `f` reads this one, so the misses overlap instead of following
/// one another (a `/metrics` scrape of 100,000 live tasks: see BENCHMARKS.md, "Service
/// mode").
pub(crate) fn each_record<'s>(shard: &'s Shard, mut f: impl FnMut(&'s Arc<TaskRecord>)) {
    const AHEAD: usize = 32;
    let records: Vec<&Arc<TaskRecord>> = shard.records().collect();
    for (i, rec) in records.iter().enumerate() {
        if let Some(next) = records.get(i + AHEAD) {
            prefetch(Arc::as_ptr(next).cast(), 3);
        }
        if let Some(next) = records.get(i + AHEAD / 2) {
            prefetch(std::ptr::from_ref(next.cell).cast(), 1);
        }
        f(rec);
    }
}

/// Asks the CPU to bring the `lines` cache lines at `p` in; no effect on other targets.
#[inline(always)]
fn prefetch(p: *const u8, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in 0..lines {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint: it never faults nor reads into the program, whatever
        // the address (`wrapping_add` keeps the computation itself defined).
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(line * 64).cast())
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, lines);
}

/// Hashes the `(type, address)` keys of [`groups_only`] with one multiply.
#[derive(Default)]
struct ByAddress;

impl std::hash::BuildHasher for ByAddress {
    type Hasher = AddressHasher;
    fn build_hasher(&self) -> AddressHasher {
        AddressHasher(0)
    }
}

/// See [`ByAddress`].
struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
}
