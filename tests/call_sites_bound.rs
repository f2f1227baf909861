//! The call-site books keep at most 1,024 task names: names past them share one
//! `(other names)` group. In a binary of its own: the bound lasts for the process.

use memscope::{configure, snapshot, Config, Tracked};
use memscope_test_support::block_on;
use std::hint::black_box;

#[inline(never)]
fn churn(size: usize) {
    drop(black_box(Vec::<u8>::with_capacity(size)));
}

#[test]
fn the_site_books_keep_at_most_1024_names() {
    configure(Config::default().with_sample_bytes(1));
    for i in 0..1100 {
        let name: &'static str = Box::leak(format!("sites-many-{i}").into_boxed_str());
        block_on(Tracked::named(async { churn(64) }, name));
    }
    let snap = snapshot();
    let groups = &snap.sites.groups;
    assert!(
        groups.len() <= 1024 + memscope::TaskType::ALL.len(),
        "{} groups",
        groups.len()
    );
    let other = snap
        .sites
        .group("(other names)")
        .expect("names past the bound share one group");
    assert!(other.sites.iter().any(|s| snap.sites.stacks[s.stack]
        .label()
        .contains("call_sites_bound::churn")));
    configure(Config::default());
}
