//! What the seed examples share to check their own figures: each prints what it checked
//! and exits with status 1 at the first wrong figure.
#![allow(dead_code)] // each example uses its own subset

use std::fmt::Display;

/// Bytes of a `Vec<String>` buffer per element.
pub const STRING: u64 = size_of::<String>() as u64;

/// Prints the wrong figure and exits with status 1.
pub fn fail(what: impl Display) -> ! {
    eprintln!("✗ wrong figure: {what}");
    std::process::exit(1);
}

/// Prints `what` as checked, or fails with it when `ok` is false.
pub fn check(ok: bool, what: impl Display) {
    if ok {
        println!("   ✓ {what}");
    } else {
        fail(what);
    }
}

/// Checks `value` lies in `[low, high]`.
pub fn within(name: &str, value: f64, low: f64, high: f64, why: &str) {
    check(
        (low..=high).contains(&value),
        format_args!("{name} {value:.6} within [{low:.6}, {high:.6}]: {why}"),
    );
}

/// Decimal digits of `i`.
pub fn digits(i: u64) -> u64 {
    i.to_string().len() as u64
}
