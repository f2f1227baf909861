//! Unit tests of `books::shard`: when a record may be folded and reused.

use super::*;
use crate::base::task::Outcome;
use crate::hook::record_ref::RecordRef;

/// A running task in `shard`, as `store::register` makes one (the shard owns it).
fn start(shard: &mut Shard, id: u64) -> RecordRef {
    let cell = shard.cells.take(None);
    let rec = shard.new_record(NewTask {
        id: TaskId::from_u64(id),
        name: "shard-test".into(),
        task_type: TaskType::IoIntensive,
        parent: None,
        cell,
        meter: 0,
        future_size: 8,
        created_ns: 1,
    });
    // SAFETY: a new record, kept by `shard` (which the test never drops a record from
    // before its reference lets go).
    let task = unsafe { RecordRef::new(&rec) };
    shard.insert_active(rec);
    task
}

#[test]
fn a_record_is_folded_only_once_its_tracked_lets_go() {
    let mut shard = Shard::new(0);
    let task = start(&mut shard, 1);
    assert_eq!(
        Arc::strong_count(&task),
        1,
        "the `Tracked`'s reference is uncounted"
    );
    assert!(task.finish(Outcome::Completed, 2).is_some());
    let held = shard.remove_active(&task).unwrap();
    shard.retain(held, 0, 16, 2);
    assert_eq!(
        shard.lingering.len(),
        1,
        "its `Tracked` holds it: it lingers"
    );
    assert_eq!(shard.folded_tasks, 0);
    drop(task);
    for rec in std::mem::take(&mut shard.lingering) {
        shard.retire(rec, 16, 3);
    }
    assert_eq!(shard.folded_tasks, 1);
    assert!(
        shard.lingering.is_empty() && shard.spare.len() == 1,
        "kept for reuse"
    );
    let again = start(&mut shard, 2);
    assert!(
        again.held_by_tracked() && shard.spare.is_empty(),
        "and reused"
    );
    assert_eq!(again.id, TaskId::from_u64(2));
}
