//! A real server under memscope: the key-value server of `memscope-test-support`
//! (`server`), tracked with the attributes as a program would write them, on a
//! multi-thread tokio runtime (2 workers), and its bounded client on a runtime of its own.
//!
//! 8 connections × 50 commands: 30 `SET`s of values of `1000 + c` bytes (connection `c`)
//! under distinct keys, then 10 `DEL`s of the next connection's first keys (frees of
//! another connection's memory, mostly on another thread) and 10 `GET`s of its own last
//! keys. What each connection leaves in the store is known from what its client sent
//! (`Plan::retained_by`), and was allocated by that connection's `read_frame` tasks,
//! finished long before: the figures below are checked to the byte, per connection
//! (`inclusive_heap` of its task), per name (`groups`) and in total; the second test
//! checks where the bytes of folded tasks are counted (their ancestors' inclusive and
//! retained figures) and that the inner fns, which name no type, take the handler's.
//!
//! Slack, all of it kept out of the figures compared exactly:
//! - the store's table is allocated outside any task with room for every `SET`, so no
//!   insert grows it (and a `DEL` never shrinks it);
//! - keys and values are allocated with exactly their length (`to_owned`, `vec![0; len]`),
//!   so the bytes a `SET` leaves are `key.len() + value.len()`;
//! - the line and reply buffers are reserved by the handler and never grow (lines are
//!   short, replies ≤ 1007 + 6 bytes < `REPLY_CAPACITY`), so `read_frame` allocates only
//!   frames and `write_reply` nothing; the handler's own buffers, tokio's task cells and
//!   whatever tokio keeps for a connection's socket are freed by the time the server's
//!   runtime is dropped, which is before the snapshot (so the handler's and the
//!   connection's own allocations are not compared, only that nothing of them is live);
//! - tokio's one-time, process-wide allocations in the first tasks of a process are made
//!   by `warm_up_tokio` first, and live figures are compared as differences to a snapshot
//!   taken before the server starts.
//!
//! Retention: every task that may finish after the client's last barrier (per
//! connection its last `write_reply`, the `read_frame` seeing the end of the stream, the
//! handler and the connection: 4) must stay held individually, so that
//! `inclusive_heap(connection)` has a task to start from; each of the 8 shards of the
//! books keeps its `retention / 8` most recent, hence `8 × 4 × CONNECTIONS`. Most of the
//! ~1,200 inner tasks finished before them are folded out of the per-task list (a shard
//! whose last block of ids was used by few tasks keeps some older ones).

use memscope::{Config, GroupProfile, HeapCounters, MemorySnapshot, TaskId, TaskType};
use memscope_test_support::server::client::{self, Plan};
use memscope_test_support::server::proto::{self, Db};
use memscope_test_support::warm_up_tokio;
use std::sync::OnceLock;

memscope_test_support::kv_server!(
    /// The server, tracked with `#[memscope::track]` as a program would track it.
    mod kv = attributes
);

const CONNECTIONS: usize = 8;
const PLAN: Plan = Plan {
    connections: CONNECTIONS,
    sets: 30,
    gets: 10,
    dels: 10,
    value_len,
};
const RETENTION: usize = 8 * 4 * CONNECTIONS;

/// Connection `c`'s values are `1000 + c` bytes, so each connection's bytes are its own.
fn value_len(c: usize, _i: usize) -> usize {
    1000 + c
}

/// One run of the server, shared by the tests of this binary (the books are global).
struct Run {
    before: MemorySnapshot,
    after: MemorySnapshot,
    db: Db,
    /// The connection task serving the client's connection `c`, at index `c`.
    connections: Vec<TaskId>,
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        warm_up_tokio();
        memscope::configure(Config::default().with_retention(RETENTION));
        let db = proto::new_db(PLAN.connections * PLAN.sets);
        let server_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_io()
            .build()
            .expect("server runtime");
        let client_rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("client runtime");
        let listener = server_rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("listener on an ephemeral port");
        let addr = listener.local_addr().expect("listener address");
        let before = memscope::snapshot();
        let server = server_rt.spawn(kv::serve(listener, CONNECTIONS, Db::clone(&db)));
        let clients = client_rt
            .block_on(client::run(addr, PLAN))
            .expect("every reply as expected");
        let served = server_rt
            .block_on(server)
            .expect("accept loop")
            .expect("every connection served");
        // Joins the workers: what tokio kept for the connections is freed by now.
        drop(server_rt);
        drop(client_rt);
        let after = memscope::snapshot();
        let connections = clients
            .iter()
            .map(|c| {
                let s = served
                    .iter()
                    .find(|s| s.peer == c.local)
                    .expect("the server saw each client connection");
                assert_eq!(s.commands as usize, PLAN.commands_per_connection());
                s.task.expect("a tracked connection task")
            })
            .collect();
        Run {
            before,
            after,
            db,
            connections,
        }
    })
}

/// Every group of the server's fn `name` (by `#[track]`'s default name, `<module>::name`),
/// whatever their type, merged.
fn group(s: &MemorySnapshot, name: &str) -> GroupProfile {
    let full = format!("{}::kv::{name}", module_path!());
    let mut all = GroupProfile::default();
    for g in s.groups.iter().filter(|g| g.name == full) {
        all.task_type = g.task_type;
        all.heap += g.heap;
        all.task_count += g.task_count;
        all.completed_count += g.completed_count;
        all.live_bytes += g.live_bytes;
        all.retained_bytes += g.retained_bytes;
        if g.retaining_count > 0 {
            all.min_retained_bytes = match all.retaining_count {
                0 => g.min_retained_bytes,
                _ => all.min_retained_bytes.min(g.min_retained_bytes),
            };
            all.max_retained_bytes = all.max_retained_bytes.max(g.max_retained_bytes);
        }
        all.retaining_count += g.retaining_count;
    }
    all
}

#[test]
fn the_store_and_the_books_agree_to_the_byte() {
    let r = run();
    let s = &r.after;
    // What the client left: every kept key, with its value, and nothing else.
    let stored = proto::lock(&r.db).len();
    assert_eq!(stored, PLAN.connections * PLAN.kept().len());
    assert_eq!(proto::stored_bytes(&r.db), PLAN.retained());

    // Per connection: its task retains nothing itself (its cell and buffers are freed);
    // with its descendants, it holds exactly what its `SET`s left in the store.
    for (c, &id) in r.connections.iter().enumerate() {
        let task = s
            .task(id)
            .expect("the connection task is held (see RETENTION)");
        assert_eq!(task.task_type, TaskType::NetworkIntensive);
        assert_eq!(task.retained_bytes, 0, "{task:?}");
        assert_eq!(
            s.inclusive_heap(id).live_bytes(),
            PLAN.retained_by(c),
            "connection {c}: live bytes of its task tree vs what it left in the store"
        );
    }

    // Per name (folded tasks included).
    let calls = (PLAN.connections * PLAN.commands_per_connection()) as u64;
    let (get_keys, del_keys, got) = PLAN.get_del_bytes();
    let read = group(s, "read_frame");
    // One call per command, and one that sees the end of the stream, per connection.
    assert_eq!(read.task_count, calls + PLAN.connections as u64);
    assert_eq!(read.completed_count, read.task_count);
    assert_eq!(
        read.heap.allocated_bytes,
        PLAN.set_bytes() + get_keys + del_keys,
        "read_frame allocates the frames' keys and values, nothing else"
    );
    assert_eq!(read.retained_bytes, PLAN.retained());
    assert_eq!(read.live_bytes, PLAN.retained());
    // The deleted keys and values were freed by other connections' tasks, charged back.
    assert_eq!(
        read.heap.freed_bytes,
        read.heap.allocated_bytes - PLAN.retained()
    );
    let execute = group(s, "execute");
    assert_eq!(execute.task_count, calls);
    assert_eq!(execute.heap.allocated_bytes, got, "the GETs' copies");
    assert_eq!(execute.live_bytes, 0, "freed by write_reply");
    let write = group(s, "write_reply");
    assert_eq!(write.task_count, calls);
    assert_eq!(
        write.heap.allocated_bytes, 0,
        "replies fit the reply buffer"
    );
    for (name, count) in [("handle_connection", 1), ("connection", 1)] {
        let g = group(s, name);
        assert_eq!(g.task_count, count * PLAN.connections as u64, "{name}");
        assert_eq!(g.task_type, TaskType::NetworkIntensive, "{name}");
        assert_eq!(g.live_bytes, 0, "{name}");
    }
    assert!(
        s.folded_tasks >= r.before.folded_tasks + calls,
        "the inner tasks were folded out of the per-task list"
    );

    // Nothing else of the server is live: the tracked total grew by the store's contents.
    assert_eq!(
        s.tracked().live_bytes() - r.before.tracked().live_bytes(),
        PLAN.retained()
    );
}

#[test]
fn folded_descendants_count_in_their_ancestors_and_inner_fns_take_the_handlers_type() {
    let r = run();
    let s = &r.after;
    // The connections' task trees are every task of the server, folded ones included, so
    // their inclusive figures add up to the server's groups: every allocation and free.
    let inclusive: HeapCounters = r.connections.iter().map(|&id| s.inclusive_heap(id)).sum();
    let names = [
        "connection",
        "handle_connection",
        "read_frame",
        "execute",
        "write_reply",
    ];
    let groups: HeapCounters = names.into_iter().map(|name| group(s, name).heap).sum();
    assert_eq!(inclusive, groups);
    for (c, &id) in r.connections.iter().enumerate() {
        let conn = s
            .task(id)
            .expect("the connection task is held (see RETENTION)");
        assert_eq!(conn.inclusive, s.inclusive_heap(id));
        assert_eq!(
            conn.inclusive.live_bytes(),
            PLAN.retained_by(c),
            "connection {c}"
        );
        // All of it left behind by finished tasks (its SETs' read_frame tasks)…
        assert_eq!(
            conn.inclusive_retained_bytes,
            PLAN.retained_by(c),
            "connection {c}"
        );
        // …most of them folded away long ago (the handler is their nearest ancestor still
        // listed), the others still listed themselves: a shard keeps its own most recent
        // tasks, and a thread's last block of ids may have put only a few there.
        let handler = s
            .children(id)
            .find(|t| t.name.ends_with("::handle_connection"))
            .expect("the handler is held (see RETENTION)");
        let listed: Vec<u64> = s
            .children(handler.id)
            .map(|t| t.retained_bytes)
            .filter(|&bytes| bytes > 0)
            .collect();
        assert_eq!(
            (
                handler.folded_descendants_retained_bytes + listed.iter().sum::<u64>(),
                handler.folded_descendants_retaining + listed.len() as u64
            ),
            (PLAN.retained_by(c), PLAN.kept().len() as u64),
            "connection {c}: {handler:?}"
        );
        assert!(
            handler.folded_descendants_retaining > PLAN.kept().len() as u64 / 2,
            "connection {c}: most of its retaining tasks folded: {handler:?}"
        );
        assert_eq!(conn.folded_descendants_retained_bytes, 0, "{conn:?}");
    }
    // `#[memscope::track]` without a `task_type` takes the parent's: the handler's.
    for name in ["read_frame", "execute", "write_reply"] {
        let full = format!("{}::kv::{name}", module_path!());
        let types: Vec<TaskType> = s
            .groups
            .iter()
            .filter(|g| g.name == full)
            .map(|g| g.task_type)
            .collect();
        assert_eq!(types, [TaskType::NetworkIntensive], "{name}");
    }
    for t in s
        .tasks
        .iter()
        .filter(|t| t.name.starts_with(module_path!()))
    {
        assert_eq!(t.task_type, TaskType::NetworkIntensive, "{t:?}");
    }
    // One retaining read_frame task per kept key, each holding its key and value.
    let read = group(s, "read_frame");
    let held: Vec<u64> = (0..CONNECTIONS)
        .flat_map(|c| PLAN.kept().map(move |i| (c, i)))
        .map(|(c, i)| (Plan::key(c, i).len() + value_len(c, i)) as u64)
        .collect();
    assert_eq!(read.retaining_count, held.len() as u64);
    assert_eq!(
        read.min_retained_bytes,
        held.iter().copied().min().unwrap_or(0)
    );
    assert_eq!(
        read.max_retained_bytes,
        held.iter().copied().max().unwrap_or(0)
    );
}
