//! What a case of `books_model_nested` is: its steps, the random trees of tasks a step
//! runs, and the strategies that draw them.

use crate::nested_tasks::THREADS;
use memscope::TaskType;
use proptest::prelude::*;

const TYPES: [TaskType; 4] = [
    TaskType::CpuIntensive,
    TaskType::IoIntensive,
    TaskType::NetworkIntensive,
    TaskType::MemoryIntensive,
];

/// One thing a task does, in order.
#[derive(Clone, Debug)]
pub enum Act {
    /// A block freed at the task's end.
    Keep(usize),
    /// A block put in the pool.
    HandOut(usize),
    /// Frees a pooled block (picked among those live), if any.
    Free(usize),
    Yield,
    Child(Node),
}

/// One task of a program: its type and what it does.
#[derive(Clone, Debug)]
pub struct Node {
    /// `None`: `Tracked::named`, the parent's type.
    pub task_type: Option<TaskType>,
    pub acts: Vec<Act>,
}

/// One step of a case.
#[derive(Clone, Debug)]
pub enum Step {
    Run {
        root: Node,
        thread: usize,
        pin: bool,
    },
    FreeOutside {
        picks: Vec<usize>,
        thread: usize,
    },
    Fold {
        sweep: bool,
    },
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 1usize..=256,
        2 => 257usize..=5000,
        1 => 200_000usize..=300_000, // past the 256 KiB batch threshold
    ]
}

fn task_type() -> impl Strategy<Value = Option<TaskType>> {
    prop_oneof![
        Just(None),
        prop::sample::select(TYPES.to_vec()).prop_map(Some)
    ]
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        2 => size().prop_map(Act::Keep),
        5 => size().prop_map(Act::HandOut),
        2 => any::<usize>().prop_map(Act::Free),
        1 => Just(Act::Yield),
    ]
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = (task_type(), prop::collection::vec(act(), 0..5))
        .prop_map(|(task_type, acts)| Node { task_type, acts });
    leaf.prop_recursive(4, 16, 5, |inner| {
        let act = prop_oneof![3 => act(), 2 => inner.prop_map(Act::Child)];
        (task_type(), prop::collection::vec(act, 0..6))
            .prop_map(|(task_type, acts)| Node { task_type, acts })
    })
}

/// Draws one step of a case.
pub fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (node(), 0..THREADS, any::<bool>())
            .prop_map(|(root, thread, pin)| Step::Run { root, thread, pin }),
        2 => (prop::collection::vec(any::<usize>(), 1..6), 0..THREADS)
            .prop_map(|(picks, thread)| Step::FreeOutside { picks, thread }),
        3 => prop::bool::weighted(0.6).prop_map(|sweep| Step::Fold { sweep }),
    ]
}
