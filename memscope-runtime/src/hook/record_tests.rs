//! Unit tests of `hook::record`: flushing, reading while others write, finishing.

use super::*;

#[test]
fn flush_tracks_peak_within_a_batch() {
    let r = test_record(1);
    r.flush(&Batch {
        alloc_bytes: 300,
        alloc_count: 2,
        free_bytes: 200,
        free_count: 1,
        delta: 100,
        max_delta: 250,
        live_base: 0,
        meter_base: 0,
    });
    let read = r.read();
    assert_eq!(read.peak_bytes, 250);
    assert_eq!(read.heap.live_bytes(), 100);
    assert_eq!(read.heap, HeapCounters::new(300, 2, 200, 1));
}

#[test]
fn a_foreign_free_ahead_of_its_batch_never_shows_more_freed_than_allocated() {
    let r = test_record(1);
    r.cell.charge_foreign_free(100);
    assert_eq!(r.read().heap, HeapCounters::default());
    r.flush(&Batch {
        alloc_bytes: 100,
        alloc_count: 1,
        delta: 100,
        max_delta: 100,
        ..Batch::default()
    });
    let read = r.read();
    assert_eq!(read.peak_bytes, 100);
    assert_eq!(read.heap, HeapCounters::new(100, 1, 100, 1));
}

/// Flushing writers against preempted readers (more threads than cores): a reader
/// never sees more freed than allocated, and allocations never go back.
#[test]
fn readers_never_see_more_freed_than_allocated() {
    use std::sync::atomic::AtomicBool;
    let r = Arc::new(test_record(1));
    let stop = Arc::new(AtomicBool::new(false));
    let batch = Batch {
        alloc_bytes: 64,
        alloc_count: 1,
        free_bytes: 64,
        free_count: 1,
        delta: 0,
        max_delta: 64,
        live_base: 0,
        meter_base: 0,
    };
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (r, stop) = (r.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Relaxed) {
                    r.flush(&batch);
                    r.cell.charge_foreign_free(0);
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let r = r.clone();
            std::thread::spawn(move || {
                let mut seen = 0u64;
                for _ in 0..300_000 {
                    let h = r.read().heap;
                    assert!(h.freed_bytes <= h.allocated_bytes, "{h:?}");
                    assert!(h.free_count <= h.allocation_count, "{h:?}");
                    assert!(h.allocation_count >= seen, "counters went back");
                    seen = h.allocation_count;
                }
            })
        })
        .collect();
    for reader in readers {
        reader.join().unwrap();
    }
    stop.store(true, Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
}

#[test]
fn only_the_first_finish_counts() {
    let r = test_record(1);
    assert_eq!(r.finish(Outcome::Panicked, 5), Some(5));
    assert!(r.finish(Outcome::Cancelled, 6).is_none());
    assert_eq!(r.read().outcome, Outcome::Panicked);
    assert_eq!(r.read().ended_ns, Some(5));
}
