//! Task ids, and the shard of the books each id puts its task in.
//!
//! A thread takes its ids [`ID_BLOCK`] at a time from one shared counter, and a whole block
//! goes to one shard, consecutive blocks to consecutive shards ([`shard_of`]). So a
//! thread's tasks start and end in one shard for a block's length: two workers running
//! nested calls use two shards, not every shard in turn, and each shard's lock, tables,
//! spare records and free cells stay in the cache of the core using them.

use crate::base::task::TaskId;
use crate::hook::thread;
use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Number of independently locked parts of the books.
pub(crate) const SHARDS: usize = crate::hook::cell::SHARDS;

/// Ids a thread takes at a time for the tasks it creates, all in one shard.
pub(crate) const ID_BLOCK: u64 = 64;

/// The next block's first id. Every block starts at `1 + ID_BLOCK × k`. On a cache line of
/// its own: beside the settings and the clock's epoch that every poll reads (which the
/// linker puts where it likes), it would invalidate them on every other core.
static NEXT_ID: CachePadded<AtomicU64> = CachePadded::new(AtomicU64::new(1));

/// The shard holding a task's books: that of its id's block, consecutive blocks in
/// consecutive shards. A thread that uses only the first ids of its blocks (a thread per
/// job, a chain of tasks each created on another worker) still spreads over every shard,
/// and so do the blocks of threads creating tasks at once.
pub(crate) fn shard_of(id: TaskId) -> usize {
    (id.as_u64().wrapping_sub(1) / ID_BLOCK % SHARDS as u64) as usize
}

/// A new block's first id.
fn take_block() -> u64 {
    // Relaxed: only uniqueness matters.
    NEXT_ID.fetch_add(ID_BLOCK, Relaxed)
}

/// A new task's id: unique, increasing among the tasks one thread creates, and larger than
/// its parent's (`parent`, 0 for none: reports add children into parents from the largest
/// id down). Each thread takes its ids [`ID_BLOCK`] at a time, so a task's start writes
/// the shared counter's cache line once per block rather than once per task (ids are not
/// in creation order across threads; a thread ending leaves at most a block's rest
/// unused). A parent whose id is not below the block's rest (created on another thread
/// since the block was taken) makes the thread take a new block: ids the counter hands
/// out later are above every id it handed out before, the parent's included.
pub(crate) fn next_id(parent: u64) -> TaskId {
    let from_block = thread::with_state(|s| {
        let (mut next, mut end) = s.task_ids.get();
        if next >= end || next <= parent {
            next = take_block();
            end = next + ID_BLOCK;
        }
        s.task_ids.set((next + 1, end));
        next
    });
    // During thread teardown, without the thread's state: a block's first id (the rest
    // unused, so every block still starts where `shard_of` expects).
    TaskId::from_u64(from_block.unwrap_or_else(take_block))
}

/// Whether this thread took `id` from the block of ids it is using now ([`next_id`]):
/// it started that task, most likely moments ago.
pub(crate) fn started_here(id: TaskId) -> bool {
    let id = id.as_u64();
    thread::with_state(|s| {
        let (_, end) = s.task_ids.get();
        id < end && id.saturating_add(ID_BLOCK) >= end
    })
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_goes_to_one_shard_and_consecutive_blocks_to_every_shard() {
        let id = next_id(0).as_u64();
        let first = id - (id - 1) % ID_BLOCK;
        let block_shard = shard_of(TaskId::from_u64(first));
        for id in first..first + ID_BLOCK {
            assert_eq!(shard_of(TaskId::from_u64(id)), block_shard, "id {id}");
        }
        let firsts: std::collections::BTreeSet<_> = (0..SHARDS as u64)
            .map(|k| shard_of(TaskId::from_u64(1 + k * ID_BLOCK)))
            .collect();
        assert_eq!(firsts.len(), SHARDS, "blocks go to every shard");
        assert!(started_here(TaskId::from_u64(id)));
        assert!(!started_here(TaskId::from_u64(first + ID_BLOCK)));
    }

    #[test]
    fn a_task_id_is_above_its_parents_whatever_thread_made_the_parent() {
        let first = next_id(0);
        // Another thread takes a block after this one's and makes a parent there.
        let parent = std::thread::spawn(|| next_id(0)).join().unwrap();
        assert!(parent > first);
        let child = next_id(parent.as_u64());
        assert!(
            child > parent,
            "{child:?} is not above its parent {parent:?}"
        );
        let sibling = next_id(0);
        assert_eq!(
            sibling.as_u64(),
            child.as_u64() + 1,
            "the block taken for the child serves the thread's next tasks"
        );
        assert_eq!(
            (child.as_u64() - 1) % ID_BLOCK,
            0,
            "blocks start at 1 + 64 k"
        );
    }
}
