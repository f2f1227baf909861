//! Inclusive figures: a task plus all its descendants, those folded away included.
//!
//! A snapshot knows three kinds of descendant: tasks still held (their profiles), tasks
//! folded away whose allocations their parent's record added up when they were folded
//! (`descendant_alloc`), and of those, the ones whose memory outlives them (detached
//! cells, linked to their parent's cell). Live memory of a detached cell goes to the
//! nearest ancestor still held, found by walking cell links; everything then adds up
//! from the leaves, children having larger ids than their parents (`store::next_id`
//! gives a task an id above its parent's).

use crate::base::counters::HeapCounters;
use crate::view::task::TaskMemoryProfile;
use std::collections::HashMap;

/// What a snapshot read of one held task beyond its profile.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeldExtra {
    /// Its cell's address.
    pub cell: usize,
    /// Bytes and blocks allocated by its folded descendants.
    pub descendant_alloc: (u64, u64),
}

/// What a snapshot read of one detached cell.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Detached {
    pub cell: usize,
    /// The parent's cell address, 0 for none.
    pub parent: usize,
    pub live_bytes: u64,
    pub live_count: u64,
}

/// Fills each task's `inclusive` and `inclusive_retained_bytes`. `tasks` and `extra` are
/// parallel and sorted by id.
pub(crate) fn fill(tasks: &mut [TaskMemoryProfile], extra: &[HeldExtra], detached: &[Detached]) {
    let held: HashMap<usize, usize> = extra.iter().enumerate().map(|(i, e)| (e.cell, i)).collect();
    let parent_of: HashMap<usize, usize> = detached.iter().map(|d| (d.cell, d.parent)).collect();
    // Per held task: (live bytes, live blocks) its folded descendants still hold.
    let mut folded_live = vec![(0u64, 0u64); tasks.len()];
    let mut nearest: HashMap<usize, Option<usize>> = HashMap::new();
    for d in detached.iter().filter(|d| d.live_count > 0) {
        if let Some(i) = nearest_held(d.parent, &held, &parent_of, &mut nearest) {
            let (bytes, count) = &mut folded_live[i];
            *bytes = bytes.saturating_add(d.live_bytes);
            *count = count.saturating_add(d.live_count);
            let t = &mut tasks[i];
            t.folded_descendants_retained_bytes = t
                .folded_descendants_retained_bytes
                .saturating_add(d.live_bytes);
            t.folded_descendants_retaining = t.folded_descendants_retaining.saturating_add(1);
        }
    }
    let index: HashMap<_, _> = tasks.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    // (allocated bytes, allocations, live bytes, live blocks, retained bytes) per task.
    let mut sums: Vec<[u64; 5]> = tasks
        .iter()
        .zip(extra)
        .zip(&folded_live)
        .map(|((t, e), &(fb, fc))| {
            [
                t.heap.allocated_bytes.saturating_add(e.descendant_alloc.0),
                t.heap.allocation_count.saturating_add(e.descendant_alloc.1),
                t.live_bytes.saturating_add(fb),
                t.heap.live_count().saturating_add(fc),
                t.retained_bytes.saturating_add(fb),
            ]
        })
        .collect();
    for i in (0..tasks.len()).rev() {
        let parent = tasks[i].parent.and_then(|p| index.get(&p).copied());
        if let Some(p) = parent.filter(|&p| p < i) {
            let child = sums[i];
            for (total, part) in sums[p].iter_mut().zip(child) {
                *total = total.saturating_add(part);
            }
        }
    }
    for (t, [alloc, count, live, live_count, retained]) in tasks.iter_mut().zip(sums) {
        t.inclusive = HeapCounters::new(
            alloc,
            count,
            alloc - live.min(alloc),
            count - live_count.min(count),
        );
        t.inclusive_retained_bytes = retained;
    }
}

/// The held task whose cell is `cell` or the nearest ancestor of it, memoised.
fn nearest_held(
    cell: usize,
    held: &HashMap<usize, usize>,
    parent_of: &HashMap<usize, usize>,
    memo: &mut HashMap<usize, Option<usize>>,
) -> Option<usize> {
    let mut path = Vec::new();
    let mut at = cell;
    let found = loop {
        if at == 0 {
            break None;
        }
        if let Some(&i) = held.get(&at) {
            break Some(i);
        }
        if let Some(&known) = memo.get(&at) {
            break known;
        }
        // A cell neither held nor detached in this snapshot: its task changed between
        // two shards' reads; the memory counts for no ancestor this time.
        let Some(&parent) = parent_of.get(&at) else {
            break None;
        };
        if path.len() > parent_of.len() {
            break None; // a cycle could only come from cells reused between reads
        }
        path.push(at);
        at = parent;
    };
    for cell in path {
        memo.insert(cell, found);
    }
    found
}
