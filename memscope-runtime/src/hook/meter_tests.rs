//! Unit tests of `hook::meter`: chains of meters, soft limits, reuse of indices.

use super::*;

#[test]
fn batches_and_frees_reach_every_enclosing_meter() {
    let outer = open(1, 0, None, None);
    let inner = open(2, outer, Some(100), None);
    add_batch(
        inner,
        &Batch {
            alloc_bytes: 300,
            alloc_count: 3,
            free_bytes: 100,
            free_count: 1,
            delta: 200,
            max_delta: 250,
            live_base: 0,
            meter_base: 0,
        },
    );
    charge_foreign_free(inner, 50);
    for index in [outer, inner] {
        let r = get(index).read();
        assert_eq!((r.alloc_bytes, r.alloc_count), (300, 3));
        assert_eq!((r.live_bytes, r.live_count), (150, 1));
        assert_eq!(r.peak_bytes, 250);
    }
    assert_eq!(
        over_limit(inner, 7).map(|(i, _, new)| (i, new)),
        Some((inner, true))
    );
    assert_eq!(get(inner).tripped_by(), Some(7));
    assert!(over_limit(outer, 8).is_none());
    release(inner);
    release(outer);
}

#[test]
fn the_soft_limit_is_due_once_per_crossing() {
    let m = open(1, 0, Some(1000), Some(800));
    let meter = get(m);
    assert!(!meter.soft_due(700));
    assert!(meter.soft_due(800));
    assert!(!meter.soft_due(900));
    assert!(!meter.soft_due(100));
    assert!(meter.soft_due(850));
    release(m);
}

#[test]
fn indices_are_reused_once_released() {
    let a = open(1, 0, None, None);
    retain(a);
    release(a);
    release(a);
    let b = open(1, 0, None, None);
    assert_eq!(get(b).read(), MeterReading::default());
    release(b);
}
