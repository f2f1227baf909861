//! Attribution under a multi-thread tokio runtime: tasks spawned with `spawn_tracked`
//! hand memory to each other across worker threads.

mod support;

use memscope::async_memory::spawn_tracked;
use memscope::Outcome;
use memscope_test_support::{runtime, Flavor};
use support::eventually;

#[test]
fn producer_memory_freed_by_a_consumer_on_another_worker_is_charged_to_the_producer() {
    const MESSAGES: usize = 500;
    const SIZE: usize = 2048;
    let rt = runtime(Flavor::MultiThread);
    let (producer_id, consumer_id, consumer_threads) = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
        let consumer = spawn_tracked(async move {
            let mut threads = std::collections::BTreeSet::new();
            let mut received = 0;
            while let Some(message) = rx.recv().await {
                assert_eq!(message.len(), SIZE);
                threads.insert(format!("{:?}", std::thread::current().id()));
                received += 1;
                drop(message);
            }
            (received, threads)
        });
        let producer = spawn_tracked(async move {
            for i in 0..MESSAGES {
                tx.send(vec![i as u8; SIZE]).await.unwrap();
                if i % 7 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        });
        let (producer_id, consumer_id) = (producer.id(), consumer.id());
        producer.await.unwrap();
        let (received, threads) = consumer.await.unwrap();
        assert_eq!(received, MESSAGES);
        (producer_id, consumer_id, threads)
    });
    drop(rt);
    assert!(!consumer_threads.is_empty());
    // The thread names came back to us: until dropped, the consumer retains them.
    assert!(
        memscope::snapshot()
            .task(consumer_id)
            .unwrap()
            .retained_bytes
            > 0
    );
    drop(consumer_threads);
    let total = (MESSAGES * SIZE) as u64;
    let p = eventually(producer_id, |t| t.live_bytes == 0);
    let c = eventually(consumer_id, |t| t.live_bytes == 0);
    assert_eq!(p.outcome, Outcome::Completed);
    // The producer made every message (plus its task cell and channel blocks).
    assert!(p.heap.allocated_bytes >= total, "{p:?}");
    assert_eq!(p.heap.freed_bytes, p.heap.allocated_bytes, "{p:?}");
    assert_eq!(p.live_bytes, 0);
    // The consumer freed the messages, but none of them is charged to it: it freed exactly
    // what it allocated itself (its task cell, thread names), far less than the messages.
    assert_eq!(c.heap.freed_bytes, c.heap.allocated_bytes, "{c:?}");
    assert!(c.heap.allocated_bytes < total / 4, "{c:?}");
    // The spawn itself is charged to the task: tokio boxes the future in a task cell.
    assert!(
        p.heap.allocated_bytes >= total + p.future_size_bytes,
        "{p:?}"
    );
}

/// Regression: the spawning thread charges tokio's task cell to the new task while a worker
/// may already poll it; the task's peak must still include the cell.
#[test]
fn a_spawned_task_peak_includes_its_task_cell_even_when_polled_at_once() {
    const N: usize = 64 * 1024;
    let rt = runtime(Flavor::MultiThread);
    let ids = rt.block_on(async {
        let mut ids = Vec::new();
        for _ in 0..200 {
            let h = spawn_tracked(async { std::hint::black_box(vec![1u8; N]).len() });
            ids.push(h.id());
            assert_eq!(h.await.unwrap(), N);
        }
        ids
    });
    drop(rt);
    for id in ids {
        let t = eventually(id, |t| t.live_bytes == 0);
        assert!(t.peak_bytes >= (N as u64) + t.future_size_bytes, "{t:?}");
        assert_eq!(t.heap.freed_bytes, t.heap.allocated_bytes, "{t:?}");
    }
}
