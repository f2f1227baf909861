//! The model of `books_model_nested`: what each task of a case allocates and frees, as
//! counted independently of memscope, and the case's programs compiled against it.

use crate::nested_case::{Act, Node};
use memscope::TaskType;
use std::sync::Mutex;

/// One task's figures, as the model counts them: every block is its allocator's, freed
/// by whoever frees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Books {
    allocated_bytes: u64,
    allocation_count: u64,
    freed_bytes: u64,
    free_count: u64,
}

impl Books {
    fn alloc(&mut self, size: usize) {
        self.allocated_bytes += size as u64;
        self.allocation_count += 1;
    }

    pub fn free(&mut self, size: usize) {
        self.freed_bytes += size as u64;
        self.free_count += 1;
    }

    pub fn add(&mut self, other: Books) {
        self.allocated_bytes += other.allocated_bytes;
        self.allocation_count += other.allocation_count;
        self.freed_bytes += other.freed_bytes;
        self.free_count += other.free_count;
    }

    pub fn minus(self, earlier: Books) -> Books {
        Books {
            allocated_bytes: self.allocated_bytes - earlier.allocated_bytes,
            allocation_count: self.allocation_count - earlier.allocation_count,
            freed_bytes: self.freed_bytes - earlier.freed_bytes,
            free_count: self.free_count - earlier.free_count,
        }
    }

    pub fn live_bytes(&self) -> u64 {
        self.allocated_bytes - self.freed_bytes
    }

    pub fn live_count(&self) -> u64 {
        self.allocation_count - self.free_count
    }

    pub fn of(heap: &memscope::HeapCounters) -> Books {
        Books {
            allocated_bytes: heap.allocated_bytes,
            allocation_count: heap.allocation_count,
            freed_bytes: heap.freed_bytes,
            free_count: heap.free_count,
        }
    }
}

/// One task of a case: its name, type, parent (an index of the case's tasks) and books.
#[derive(Clone, Debug)]
pub struct TaskModel {
    pub name: &'static str,
    pub task_type: TaskType,
    pub parent: Option<usize>,
    pub books: Books,
}

/// The name of a case's task `index`: the same in every case (so the groups stay few),
/// leaked once.
fn task_name(index: usize) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap();
    while names.len() <= index {
        let name = format!("nest/{}", names.len());
        names.push(Box::leak(name.into_boxed_str()));
    }
    names[index]
}

/// What one node of a program does, with its blocks and pool slots resolved.
pub enum Run {
    Keep(usize),
    HandOut { slot: usize, size: usize },
    Free(usize),
    Yield,
    Child(Compiled),
}

/// One task's program: its index among the case's tasks, name, type (as given to
/// `Tracked`) and what it does.
pub struct Compiled {
    pub index: usize,
    pub name: &'static str,
    pub task_type: Option<TaskType>,
    pub runs: Vec<Run>,
}

/// The model: the case's tasks and its pool of handed-out blocks.
#[derive(Default)]
pub struct Model {
    pub tasks: Vec<TaskModel>,
    /// Per slot, (owner, size) while the block is live.
    pub pool: Vec<Option<(usize, usize)>>,
    /// Live slots, in the order they were filled.
    pub live: Vec<usize>,
}

impl Model {
    /// Frees the live pooled block `pick` designates (modulo their number), if any; returns
    /// its slot.
    pub fn free_pick(&mut self, pick: usize) -> Option<usize> {
        if self.live.is_empty() {
            return None;
        }
        let slot = self.live.remove(pick % self.live.len());
        let (owner, size) = self.pool[slot].take().expect("live slot");
        self.tasks[owner].books.free(size);
        Some(slot)
    }

    /// Walks `node` in the order its task runs it, counting what each task allocates and
    /// frees.
    pub fn compile(&mut self, node: &Node, parent: Option<usize>) -> Compiled {
        let index = self.tasks.len();
        let inherited = parent.map_or(TaskType::Unspecified, |p| self.tasks[p].task_type);
        let name = task_name(index);
        self.tasks.push(TaskModel {
            name,
            task_type: node.task_type.unwrap_or(inherited),
            parent,
            books: Books::default(),
        });
        let mut runs = Vec::new();
        let mut kept = Vec::new();
        for act in &node.acts {
            match act {
                Act::Keep(size) => {
                    self.tasks[index].books.alloc(*size);
                    kept.push(*size);
                    runs.push(Run::Keep(*size));
                }
                Act::HandOut(size) => {
                    let slot = self.pool.len();
                    self.pool.push(Some((index, *size)));
                    self.live.push(slot);
                    self.tasks[index].books.alloc(*size);
                    runs.push(Run::HandOut { slot, size: *size });
                }
                Act::Free(pick) => runs.extend(self.free_pick(*pick).map(Run::Free)),
                Act::Yield => runs.push(Run::Yield),
                Act::Child(child) => runs.push(Run::Child(self.compile(child, Some(index)))),
            }
        }
        for size in kept {
            self.tasks[index].books.free(size);
        }
        Compiled {
            index,
            name,
            task_type: node.task_type,
            runs,
        }
    }
}
