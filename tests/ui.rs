//! Compile-time behaviour of `#[memscope::track]` and `#[memscope::main]`.
//!
//! `tests/ui/fail/*.rs` each hold one misuse; the `.stderr` beside it pins the
//! message and where it points. `tests/ui/pass/*.rs` cover every supported
//! shape, are compiled with `#![deny(warnings)]`, and run.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`,
//! then read each one.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
