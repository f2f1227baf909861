//! Reference row: the same alloc/free pairs and growth through dhat 0.3 heap profiling
//! (a backtrace per allocation), against `System` called directly, in one process (ABBA).
//! Argument: rounds (default 15). dhat has no notion of a task: both tracked rows are the
//! same profiler.

#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

fn main() {
    let reps = memscope_bench::count_arg(15);
    let profiler = dhat::Profiler::builder().testing().build();
    let in_group = |f: &mut dyn FnMut()| f();
    memscope_bench::micro::peer("dhat", &GLOBAL, &in_group, reps, 1);
    drop(profiler);
}
