//! Compile-time behaviour of `#[memscope::track]` and `#[memscope::main]`.
//!
//! `tests/ui/fail/*.rs` each hold one misuse; the `.stderr` beside it pins the
//! message and where it points. `tests/ui/pass/*.rs` cover every supported
//! shape, are compiled with `#![deny(warnings)]`, and run.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`,
//! then read each one.
//!
//! The `.stderr` files are rustc 1.95's wording: under any other compiler the
//! misuse test is skipped (the way tokio gates its own UI tests), not failed;
//! moving to a new compiler means regenerating them and changing the version below.

#[rustversion::attr(not(stable(1.95)), ignore = "UI messages are pinned to rustc 1.95")]
#[test]
fn misuses_are_rejected_with_the_pinned_messages() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
}

#[test]
fn supported_shapes_compile_without_warnings_and_run() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
}
