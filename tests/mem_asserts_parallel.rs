//! 100 memory-asserting tests in one binary, run in parallel by the default test harness:
//! each allocates a known number of bytes, half with budgets they meet exactly, half with
//! budgets one byte short (`should_panic`). A measurement that saw another test's memory
//! would fail a passing test; one that missed its own would pass a failing one. CI runs
//! the binary several times (`.ci/run`); BENCHMARKS.md records 60 runs.

use memscope_test_support::yield_once;
use std::hint::black_box;

/// Holds `n` bytes across a poll boundary, then frees them.
async fn hold(n: usize) {
    let block = black_box(vec![7u8; n]);
    yield_once().await;
    drop(block);
}

macro_rules! budgeted {
    ($($pass:ident $fail:ident $n:literal $short:literal $flavor:literal;)*) => {$(
        #[memscope::test(flavor = $flavor, allocated = $n, allocations = 1, peak = $n, retained = 0, polls = 2, tasks = 1)]
        async fn $pass() {
            hold($n).await
        }

        #[memscope::test(flavor = $flavor, peak = $short)]
        #[should_panic(expected = "memscope::assert_mem! failed")]
        async fn $fail() {
            hold($n).await
        }
    )*};
}

budgeted! {
    pass_00 fail_00 1000 999 "multi_thread";
    pass_01 fail_01 1037 1036 "current_thread";
    pass_02 fail_02 1074 1073 "current_thread";
    pass_03 fail_03 1111 1110 "current_thread";
    pass_04 fail_04 1148 1147 "current_thread";
    pass_05 fail_05 1185 1184 "multi_thread";
    pass_06 fail_06 1222 1221 "current_thread";
    pass_07 fail_07 1259 1258 "current_thread";
    pass_08 fail_08 1296 1295 "current_thread";
    pass_09 fail_09 1333 1332 "current_thread";
    pass_10 fail_10 1370 1369 "multi_thread";
    pass_11 fail_11 1407 1406 "current_thread";
    pass_12 fail_12 1444 1443 "current_thread";
    pass_13 fail_13 1481 1480 "current_thread";
    pass_14 fail_14 1518 1517 "current_thread";
    pass_15 fail_15 1555 1554 "multi_thread";
    pass_16 fail_16 1592 1591 "current_thread";
    pass_17 fail_17 1629 1628 "current_thread";
    pass_18 fail_18 1666 1665 "current_thread";
    pass_19 fail_19 1703 1702 "current_thread";
    pass_20 fail_20 1740 1739 "multi_thread";
    pass_21 fail_21 1777 1776 "current_thread";
    pass_22 fail_22 1814 1813 "current_thread";
    pass_23 fail_23 1851 1850 "current_thread";
    pass_24 fail_24 1888 1887 "current_thread";
    pass_25 fail_25 1925 1924 "multi_thread";
    pass_26 fail_26 1962 1961 "current_thread";
    pass_27 fail_27 1999 1998 "current_thread";
    pass_28 fail_28 2036 2035 "current_thread";
    pass_29 fail_29 2073 2072 "current_thread";
    pass_30 fail_30 2110 2109 "multi_thread";
    pass_31 fail_31 2147 2146 "current_thread";
    pass_32 fail_32 2184 2183 "current_thread";
    pass_33 fail_33 2221 2220 "current_thread";
    pass_34 fail_34 2258 2257 "current_thread";
    pass_35 fail_35 2295 2294 "multi_thread";
    pass_36 fail_36 2332 2331 "current_thread";
    pass_37 fail_37 2369 2368 "current_thread";
    pass_38 fail_38 2406 2405 "current_thread";
    pass_39 fail_39 2443 2442 "current_thread";
    pass_40 fail_40 2480 2479 "multi_thread";
    pass_41 fail_41 2517 2516 "current_thread";
    pass_42 fail_42 2554 2553 "current_thread";
    pass_43 fail_43 2591 2590 "current_thread";
    pass_44 fail_44 2628 2627 "current_thread";
    pass_45 fail_45 2665 2664 "multi_thread";
    pass_46 fail_46 2702 2701 "current_thread";
    pass_47 fail_47 2739 2738 "current_thread";
    pass_48 fail_48 2776 2775 "current_thread";
    pass_49 fail_49 2813 2812 "current_thread";
}
