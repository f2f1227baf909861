//! std's lazily made process state is not a task's leak: stdout's buffer made by a task's
//! first `println!`, and the panic hook's backtrace capture and symbolisation (with
//! `RUST_BACKTRACE=1`) for a task that panics, go to the `untracked` bucket.
//!
//! A test binary of its own without libtest (`harness = false`): libtest prints to
//! stdout before any test runs, which would make stdout's buffer first.

use memscope::{snapshot, Session, SessionOptions, TaskType, Tracked};

fn main() {
    std::env::set_var("RUST_BACKTRACE", "1");
    // A hook like the default one (capture and symbolise a backtrace), quiet for the panic
    // below; set before memscope starts, so memscope wraps it.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let backtrace = std::backtrace::Backtrace::force_capture().to_string();
        if info.payload().downcast_ref::<&str>() != Some(&"on purpose") {
            eprintln!("{backtrace}");
            default(info);
        }
    }));
    let session = Session::start(SessionOptions::new().summary(false).sampler(false));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    // tokio's lazily made state (1,056 B the first time tasks run) is not under test here.
    rt.block_on(async { tokio::spawn(tokio::task::yield_now()).await.unwrap() });

    let hello = rt.block_on(Tracked::new(
        async {
            println!("std_state: hello from a task");
            memscope::current_task_id().unwrap()
        },
        "hello",
        TaskType::IoIntensive,
    ));
    let panicked = rt.block_on(async {
        let boom = async {
            let v = vec![0u8; 4096];
            if v.len() == 4096 {
                panic!("on purpose");
            }
        };
        memscope::spawn(Tracked::new(boom, "boom", TaskType::CpuIntensive)).await
    });
    assert!(panicked.is_err());
    drop(panicked); // its payload is the panicking task's memory
    drop(rt);

    let s = snapshot();
    let hello = s.task(hello).expect("held").clone();
    assert_eq!(
        hello.retained_bytes, 0,
        "stdout's buffer is not the task's: {hello:?}"
    );
    let boom = s.groups.iter().find(|g| g.name == "boom").unwrap();
    assert_eq!(
        boom.live_bytes, 0,
        "the backtrace caches are not the task's: {boom:?}"
    );
    let efficiency = s.tracked().freed_percent();
    assert!(
        efficiency >= 99.0,
        "tracked tasks freed {efficiency:.2} % of what they allocated"
    );
    drop(session);
    println!("std_state: 1 passed, 0 failed");
}
