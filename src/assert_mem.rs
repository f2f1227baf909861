//! `assert_mem!`: bounds on the figures of a measured future.

/// Checks figures of [`Stats`](crate::Stats) (from [`measure`](crate::measure)) against bounds:
/// `assert_mem!(stats, KEY OP VALUE, …)` with `KEY` one of `allocated`, `allocations`,
/// `freed`, `frees`, `peak`, `retained`, `retained_blocks`, `polls`, `tasks` (the methods
/// of [`Stats`](crate::Stats); a misspelt key does not compile) and `OP` one of `<=`, `<`, `==`, `>=`,
/// `>`. Every check is made; if any fails, it panics with the failed ones, all the
/// figures, the measured task tree (each task's own figures) and, where allocations
/// were sampled, the top call sites of the tree's task names. Like dhat's heap
/// assertions, but per measured future, so tests running at once in one binary each
/// see only their own.
///
/// ```
/// use memscope::{assert_mem, measure, KIB};
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let (_, stats) = rt.block_on(measure(async { vec![0u64; 1000].iter().sum::<u64>() }));
/// assert_mem!(stats, peak <= 8 * KIB, retained == 0, allocations <= 1);
/// ```
///
/// ```should_panic
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let (_, stats) = rt.block_on(memscope::measure(async { Box::leak(Box::new([0u8; 100])); }));
/// memscope::assert_mem!(stats, retained == 0); // panics: "retained == 0: retained is 100 B (100)"
/// ```
#[macro_export]
macro_rules! assert_mem {
    ($stats:expr, $($key:ident $op:tt $value:expr),+ $(,)?) => {{
        $crate::__private_mem_assert::require_hook();
        $crate::__private_mem_assert::require_hook();
        let __memscope_stats: &$crate::Stats = &$stats;
        let mut __memscope_failed: ::std::vec::Vec<::std::string::String> = ::std::vec::Vec::new();
        $(
            let __memscope_value: u64 = $value;
            let __memscope_actual: u64 = $crate::Stats::$key(__memscope_stats);
            if !(__memscope_actual $op __memscope_value) {
                __memscope_failed.push($crate::__private_mem_assert::failed_check(
                    stringify!($key),
                    stringify!($op),
                    __memscope_value,
                    __memscope_actual,
                ));
            }
        )+
        if !__memscope_failed.is_empty() {
            $crate::__private_mem_assert::fail(__memscope_stats, &__memscope_failed);
        }
    }};
}
