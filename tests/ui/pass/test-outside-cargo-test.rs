#![deny(warnings)]
//! Outside `cargo test` a `#[memscope::test]` fn is left out, as a `#[test]` fn is, with
//! every form of argument and no warning. (trybuild builds binaries, not tests: the
//! tests themselves run in `tests/mem_test_attr.rs`.)

#[memscope::test(peak = "256 KiB", retained = 0, allocations = 96)]
async fn budgets_of_both_kinds() {
    let v = vec![0u8; 1000];
    assert_eq!(v.len(), 1000);
}

#[memscope::test(
    flavor = "multi_thread",
    worker_threads = 2,
    allocated = "1.5 MiB",
    freed = "100 B",
    frees = 10,
    retained_blocks = 0,
    polls = 5,
    tasks = 1
)]
async fn multi_thread_and_every_other_budget() -> Result<(), std::num::ParseIntError> {
    let n: u8 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}

fn main() {}
