#![deny(warnings)]
//! A `#[track]` fn awaited inside another is its child; one spawned from it with
//! `spawn_tracked` is the child of that spawned task, itself a child of the caller.

use memscope::{TaskId, TaskMemoryProfile};

#[memscope::track(name = "leaf")]
async fn leaf(n: usize) -> Vec<u64> {
    (0..n as u64).collect()
}

#[memscope::track(name = "spawned")]
async fn spawned() -> usize {
    leaf(8).await.len()
}

#[memscope::track(name = "parent", task_type = "cpu")]
async fn parent() -> usize {
    let direct = leaf(16).await.len();
    let handle = memscope::async_memory::spawn_tracked(spawned());
    direct + handle.await.unwrap()
}

fn by_name<'a>(profiles: &'a [TaskMemoryProfile], name: &str) -> Vec<&'a TaskMemoryProfile> {
    profiles.iter().filter(|t| t.name == name).collect()
}

#[memscope::main(summary = false)]
async fn main() {
    assert_eq!(parent().await, 24);
    let snapshot = memscope::snapshot();
    let profiles = snapshot.task_profiles();
    let parent = by_name(profiles, "parent");
    let parent_id: TaskId = parent[0].id;
    let spawned = by_name(profiles, "spawned");
    let handle = spawned[0]
        .parent
        .and_then(|id| snapshot.task(id))
        .expect("spawn_tracked's task");
    assert_eq!(handle.parent, Some(parent_id));
    let leaves = by_name(profiles, "leaf");
    assert_eq!(leaves.len(), 2);
    assert!(leaves.iter().any(|t| t.parent == Some(parent_id)));
    assert!(leaves.iter().any(|t| t.parent == Some(spawned[0].id)));
}
