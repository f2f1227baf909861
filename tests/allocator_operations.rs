//! Exact books for the allocator's raw operations across tasks: realloc grow and shrink,
//! alloc_zeroed, over-alignment, zero-size types, cross-task and cross-thread frees.

use memscope::{TaskType, Tracked};
use memscope_test_support::task;
use std::alloc::Layout;

// The global allocator (memscope's hook) called directly, as `Vec` and `Box` do.

fn alloc(layout: Layout) -> *mut u8 {
    assert!(layout.size() > 0);
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    assert!(!p.is_null());
    p
}

fn alloc_zeroed(layout: Layout) -> *mut u8 {
    assert!(layout.size() > 0);
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc_zeroed(layout) };
    assert!(!p.is_null());
    p
}

/// Only for pointers this file got from `alloc`/`realloc` with `layout`, not yet freed.
fn realloc(p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    assert!(new_size > 0);
    // SAFETY: every caller passes a live block of the global allocator with its layout.
    let p = unsafe { std::alloc::realloc(p, layout, new_size) };
    assert!(!p.is_null());
    p
}

/// Only for pointers this file got from `alloc`/`realloc` with `layout`, not yet freed.
fn dealloc(p: *mut u8, layout: Layout) {
    // SAFETY: every caller passes a live block of the global allocator with its layout.
    unsafe { std::alloc::dealloc(p, layout) }
}

/// A task that is never polled, used only for its scope.
fn scope(name: &'static str) -> (Tracked<std::future::Ready<()>>, memscope::ScopeHandle) {
    let t = Tracked::new(std::future::ready(()), name, TaskType::Unspecified);
    let h = t.scope_handle();
    (t, h)
}

#[test]
fn realloc_across_tasks_moves_ownership_exactly() {
    let (_a, a) = scope("realloc-a");
    let (_b, b) = scope("realloc-b");
    let layout = Layout::from_size_align(100, 8).unwrap();
    let p = a.run(|| alloc(layout));
    assert!(!p.is_null());
    let p = b.run(|| realloc(p, layout, 300)); // grow, by another task
    assert!(!p.is_null());
    let (ta, tb) = (task(a.id()), task(b.id()));
    assert_eq!(
        (ta.heap.allocated_bytes, ta.heap.freed_bytes, ta.live_bytes),
        (100, 100, 0)
    );
    assert_eq!(
        (tb.heap.allocated_bytes, tb.heap.freed_bytes, tb.live_bytes),
        (300, 0, 300)
    );
    let grown = Layout::from_size_align(300, 8).unwrap();
    let p = a.run(|| realloc(p, grown, 40)); // shrink, back in the first task
    let (ta, tb) = (task(a.id()), task(b.id()));
    assert_eq!((ta.heap.allocated_bytes, ta.live_bytes), (140, 40));
    assert_eq!((tb.heap.freed_bytes, tb.live_bytes), (300, 0));
    assert_eq!(tb.peak_bytes, 300);
    // Same-task realloc keeps the owner; a free outside any task is still charged to it.
    let p = a.run(|| realloc(p, Layout::from_size_align(40, 8).unwrap(), 40));
    dealloc(p, Layout::from_size_align(40, 8).unwrap());
    let ta = task(a.id());
    assert_eq!(
        (ta.heap.allocated_bytes, ta.heap.freed_bytes, ta.live_bytes),
        (180, 180, 0)
    );
    assert_eq!((ta.heap.allocation_count, ta.heap.free_count), (3, 3));
}

#[test]
fn vec_growth_by_push_is_exact() {
    let (_t, h) = scope("vec-growth");
    let cap = h.run(|| {
        let mut v: Vec<u64> = Vec::new();
        for i in 0..10_000u64 {
            v.push(i);
        }
        let cap = v.capacity();
        drop(v);
        cap
    });
    let t = task(h.id());
    assert_eq!(t.live_bytes, 0);
    assert_eq!(t.heap.freed_bytes, t.heap.allocated_bytes);
    assert_eq!(t.peak_bytes, (cap * 8) as u64);
}

#[test]
fn alloc_zeroed_is_zeroed_and_counted() {
    let (_t, h) = scope("zeroed");
    let layout = Layout::from_size_align(4097, 1).unwrap();
    let p = h.run(|| alloc_zeroed(layout));
    // SAFETY: `p` points to 4097 initialised (zeroed) bytes.
    let bytes = unsafe { std::slice::from_raw_parts(p, 4097) };
    assert!(bytes.iter().all(|&b| b == 0));
    assert_eq!(task(h.id()).heap.allocated_bytes, 4097);
    dealloc(p, layout);
    assert_eq!(task(h.id()).live_bytes, 0);
}

#[test]
fn over_aligned_layouts_are_aligned_and_exact() {
    let (_t, h) = scope("aligned");
    for (size, align) in [(1, 4096), (5000, 4096), (64, 64), (3, 2), (4096, 4096)] {
        let layout = Layout::from_size_align(size, align).unwrap();
        let p = h.run(|| alloc(layout));
        assert_eq!(p as usize % align, 0, "{size} bytes at {align}");
        let p = h.run(|| realloc(p, layout, size * 3));
        assert_eq!(p as usize % align, 0, "realloc of {size} bytes at {align}");
        dealloc(p, Layout::from_size_align(size * 3, align).unwrap());
    }
    let t = task(h.id());
    let expected: u64 = [1u64, 5000, 64, 3, 4096].iter().map(|s| s + 3 * s).sum();
    assert_eq!(
        (t.heap.allocated_bytes, t.heap.freed_bytes, t.live_bytes),
        (expected, expected, 0)
    );
}

#[test]
fn zero_size_types_allocate_nothing() {
    let (_t, h) = scope("zst");
    h.run(|| {
        let v: Vec<()> = vec![(); 1_000_000];
        let b = Box::new(());
        drop((v, b));
    });
    let t = task(h.id());
    assert_eq!((t.heap.allocated_bytes, t.heap.allocation_count), (0, 0));
}

#[test]
fn cross_thread_frees_are_charged_to_the_producer() {
    const MESSAGES: usize = 200;
    const SIZE: usize = 1000;
    // A bounded std channel allocates its buffer here, outside both tasks.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(MESSAGES);
    let (_p, producer) = scope("producer");
    let (_c, consumer) = scope("consumer");
    let consumer_thread = {
        let consumer = consumer.clone();
        std::thread::spawn(move || {
            // Receive outside the task (a blocking receive may allocate its waiter entry),
            // free inside it.
            for message in rx.iter() {
                assert_eq!(message.len(), SIZE);
                consumer.run(|| drop(message));
            }
        })
    };
    producer.run(|| {
        for _ in 0..MESSAGES {
            tx.send(vec![7u8; SIZE]).unwrap();
        }
    });
    drop(tx);
    consumer_thread.join().unwrap();
    let (p, c) = (task(producer.id()), task(consumer.id()));
    let total = (MESSAGES * SIZE) as u64;
    assert_eq!(
        (p.heap.allocated_bytes, p.heap.freed_bytes, p.live_bytes),
        (total, total, 0)
    );
    assert_eq!(
        (p.heap.allocation_count, p.heap.free_count),
        (MESSAGES as u64, MESSAGES as u64)
    );
    assert!(p.peak_bytes >= SIZE as u64 && p.peak_bytes <= total);
    // The consumer freed them, but they were never its memory.
    assert_eq!(
        (c.heap.allocated_bytes, c.heap.freed_bytes, c.live_bytes),
        (0, 0, 0)
    );
}

#[test]
fn allocations_during_thread_teardown_do_not_crash_and_are_charged() {
    struct AllocatesOnDrop(memscope::ScopeHandle);
    impl Drop for AllocatesOnDrop {
        fn drop(&mut self) {
            // black_box: release builds drop allocations nobody reads.
            let untracked = std::hint::black_box(vec![0u8; 100]);
            let tracked = self.0.run(|| std::hint::black_box(vec![0u8; 50]));
            drop((untracked, tracked));
        }
    }
    thread_local! {
        static ON_EXIT: std::cell::RefCell<Option<AllocatesOnDrop>> = const { std::cell::RefCell::new(None) };
    }
    let (_t, h) = scope("teardown");
    let h2 = h.clone();
    std::thread::spawn(move || ON_EXIT.with(|slot| *slot.borrow_mut() = Some(AllocatesOnDrop(h2))))
        .join()
        .unwrap();
    let t = task(h.id());
    assert_eq!((t.heap.allocated_bytes, t.heap.freed_bytes), (50, 50));
}
