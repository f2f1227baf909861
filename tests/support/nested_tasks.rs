//! How `books_model_nested` runs a compiled program: the tasks' futures, the pool and ids
//! they share with the test, and the threads they run on.

use crate::nested_model::{Compiled, Run};
use memscope::{TaskId, TaskType, Tracked};
use memscope_test_support::yield_once;
use std::future::Future;
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

/// The threads a case runs on: this one and two workers.
pub const THREADS: usize = 3;

/// Worker threads that run closures on request, one at a time.
type Job = Box<dyn FnOnce() + Send>;
type Worker = mpsc::SyncSender<(Job, mpsc::SyncSender<()>)>;

fn workers() -> &'static Vec<Worker> {
    static W: OnceLock<Vec<Worker>> = OnceLock::new();
    W.get_or_init(|| {
        (1..THREADS)
            .map(|_| {
                let (tx, rx) = mpsc::sync_channel::<(Job, mpsc::SyncSender<()>)>(0);
                std::thread::spawn(move || {
                    for (job, reply) in rx {
                        job();
                        let _ = reply.send(());
                    }
                });
                tx
            })
            .collect()
    })
}

/// Runs `f` on thread `thread` (0 = this one), outside any task, and waits for it.
pub fn on_thread(thread: usize, f: impl FnOnce() + Send + 'static) {
    if thread == 0 {
        return f();
    }
    let (reply_tx, reply_rx) = mpsc::sync_channel(1);
    workers()[thread - 1]
        .send((Box::new(f), reply_tx))
        .expect("worker alive");
    reply_rx.recv().expect("worker answered");
}

/// What the tasks share with the test: the pool, and each task's id once it ran.
pub struct Shared {
    pub pool: Vec<Mutex<Option<Box<[u8]>>>>,
    pub ids: Vec<Mutex<Option<TaskId>>>,
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

enum Ready {
    Run(Run),
    Child(&'static str, Option<TaskType>, BoxFuture),
}

fn block(size: usize) -> Box<[u8]> {
    vec![size as u8; size].into_boxed_slice()
}

/// The future of one task's body, built (with its children's) outside any task.
pub fn build(c: Compiled, shared: &Arc<Shared>) -> BoxFuture {
    let index = c.index;
    let keeps = c.runs.iter().filter(|r| matches!(r, Run::Keep(_))).count();
    let mut kept: Vec<Box<[u8]>> = Vec::with_capacity(keeps);
    let steps: Vec<Ready> = c
        .runs
        .into_iter()
        .map(|r| match r {
            Run::Child(c) => Ready::Child(c.name, c.task_type, build(c, shared)),
            other => Ready::Run(other),
        })
        .collect();
    let shared = Arc::clone(shared);
    Box::pin(async move {
        *shared.ids[index].lock().unwrap() = memscope::current_task_id();
        for step in steps {
            match step {
                Ready::Run(Run::Keep(size)) => kept.push(block(size)),
                Ready::Run(Run::HandOut { slot, size }) => {
                    *shared.pool[slot].lock().unwrap() = Some(block(size));
                }
                Ready::Run(Run::Free(slot)) => drop(shared.pool[slot].lock().unwrap().take()),
                Ready::Run(Run::Yield) => yield_once().await,
                Ready::Run(Run::Child(_)) => unreachable!("built as Ready::Child"),
                Ready::Child(name, Some(ty), fut) => Tracked::new(fut, name, ty).await,
                Ready::Child(name, None, fut) => Tracked::named(fut, name).await,
            }
        }
        drop(kept);
    })
}
