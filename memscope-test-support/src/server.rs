//! A real server for tests and benchmarks: a small key-value store over TCP in the style
//! of mini-redis, and a bounded client ([`client`]).
//!
//! [`kv_server!`](crate::kv_server) expands the server as a module: an accept loop that
//! spawns one task per connection, a connection handler, and the inner async fns it
//! awaits inline for each command (`read_frame`, `execute`, `write_reply`). Their logic
//! is written once, in [`proto`]; what the expansions differ in is only how they are
//! tracked:
//!
//! - `attributes`: the handler is `#[memscope::track(task_type = "network")]`, the inner
//!   fns `#[memscope::track]`, as a program would write them. The expanding crate names
//!   the `memscope` facade (the facade's tests do).
//! - `runtime`: the same tasks, built with `memscope_runtime::Tracked` as the attributes
//!   expand (same names and types), for crates that cannot depend on the facade: its
//!   default `#[global_allocator]` would clash with theirs (the benchmarks' binaries).
//! - `untracked`: plain async fns and `tokio::spawn`, the baseline.
//!
//! In the tracked expansions each connection is spawned with `memscope::spawn` as a task
//! named `<module>::connection` (`network`), whose child is the handler
//! (`<module>::handle_connection`, `network`), whose children are one task per call of
//! the inner fns (`<module>::read_frame` …, no type of their own). A `SET`'s key and value
//! are allocated by its `read_frame` task and stay in the map after that task ended:
//! memory retained by a finished inner task, freed later by whichever connection deletes
//! it.
//!
//! ```ignore
//! memscope_test_support::kv_server!(
//!     /// The server, tracked as a program would track it.
//!     pub mod kv = attributes
//! );
//! let served = kv::serve(listener, connections, db).await?; // after all connections
//! ```

pub mod client;
pub mod proto;

use memscope_runtime::{TaskId, TaskType, Tracked, TrackedExt, TrackedHandle};
use std::future::Future;
use std::net::SocketAddr;

/// The tokio the expansions name, so that expanding crates need no features of their own.
#[doc(hidden)]
pub use tokio;

/// One connection as the server ended it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    /// The client's address.
    pub peer: SocketAddr,
    /// The connection's task, in the tracked expansions.
    pub task: Option<TaskId>,
    /// Commands it served.
    pub commands: u64,
}

/// A spawned connection task: tracked (`memscope::spawn`) or plain (`tokio::spawn`).
#[derive(Debug)]
pub enum Spawned<T> {
    /// Spawned as a tracked task.
    Tracked(TrackedHandle<T>),
    /// Spawned with `tokio::spawn`.
    Plain(tokio::task::JoinHandle<T>),
}

impl<T: Send + 'static> Spawned<T> {
    /// Spawns `future` as a tracked `network` task called `name`; tokio's task cell is
    /// charged to it.
    pub fn tracked<F>(name: &'static str, future: F) -> Self
    where
        F: Future<Output = T> + Send + 'static,
    {
        Spawned::Tracked(memscope_runtime::spawn(
            future.tracked(name, TaskType::NetworkIntensive),
        ))
    }

    /// Spawns `future` with `tokio::spawn`.
    pub fn plain<F>(future: F) -> Self
    where
        F: Future<Output = T> + Send + 'static,
    {
        Spawned::Plain(tokio::spawn(future))
    }

    /// The task's id, if tracked.
    pub fn id(&self) -> Option<TaskId> {
        match self {
            Spawned::Tracked(h) => Some(h.id()),
            Spawned::Plain(_) => None,
        }
    }

    /// Waits for the task's output.
    ///
    /// # Panics
    /// If the task panicked or was cancelled.
    pub async fn join(self) -> T {
        match self {
            Spawned::Tracked(h) => h.await.expect("connection task"),
            Spawned::Plain(h) => h.await.expect("connection task"),
        }
    }
}

/// A tracked `network` task called `name`, as `#[memscope::track(task_type = "network")]`
/// builds it (the `runtime` expansion).
#[doc(hidden)]
pub fn track_network<F: Future>(name: &'static str, future: F) -> Tracked<F> {
    Tracked::new(future, name, TaskType::NetworkIntensive)
}

/// A tracked task called `name` of no type of its own, as `#[memscope::track]` builds it
/// (the `runtime` expansion).
#[doc(hidden)]
pub fn track<F: Future>(name: &'static str, future: F) -> Tracked<F> {
    Tracked::named(future, name)
}

/// Expands the key-value server as a module: `kv_server!(pub mod NAME = MODE)`, `MODE`
/// one of `attributes`, `runtime`, `untracked` (see [`server`](crate::server)); doc
/// comments before `pub mod` go to the module.
///
/// The module has `serve(listener, connections, db)`, which accepts `connections`
/// connections, serves each in its own task until its client closes it, waits for them
/// all and returns them as [`Served`]; and `TRACKED`, whether the mode tracks.
#[macro_export]
macro_rules! kv_server {
    (@tracked untracked) => { false };
    (@tracked attributes) => { true };
    (@tracked runtime) => { true };

    // One async fn of the server, tracked as the mode says; `network` for the handler,
    // `inner` for the fns it awaits.
    (@fn untracked $kind:ident
        $(#[$doc:meta])* $vis:vis async fn $name:ident($($arg:tt)*) -> $ret:ty $body:block
    ) => {
        $(#[$doc])* $vis async fn $name($($arg)*) -> $ret $body
    };
    (@fn attributes network
        $(#[$doc:meta])* $vis:vis async fn $name:ident($($arg:tt)*) -> $ret:ty $body:block
    ) => {
        $(#[$doc])*
        #[memscope::track(task_type = "network")]
        $vis async fn $name($($arg)*) -> $ret $body
    };
    (@fn attributes inner
        $(#[$doc:meta])* $vis:vis async fn $name:ident($($arg:tt)*) -> $ret:ty $body:block
    ) => {
        $(#[$doc])*
        #[memscope::track]
        $vis async fn $name($($arg)*) -> $ret $body
    };
    (@fn runtime network
        $(#[$doc:meta])* $vis:vis async fn $name:ident($($arg:tt)*) -> $ret:ty $body:block
    ) => {
        $(#[$doc])* $vis async fn $name($($arg)*) -> $ret {
            let name = ::core::concat!(::core::module_path!(), "::", ::core::stringify!($name));
            $crate::server::track_network(name, async move $body).await
        }
    };
    (@fn runtime inner
        $(#[$doc:meta])* $vis:vis async fn $name:ident($($arg:tt)*) -> $ret:ty $body:block
    ) => {
        $(#[$doc])* $vis async fn $name($($arg)*) -> $ret {
            let name = ::core::concat!(::core::module_path!(), "::", ::core::stringify!($name));
            $crate::server::track(name, async move $body).await
        }
    };

    ($(#[$attr:meta])* $vis:vis mod $module:ident = $mode:ident) => {
        $(#[$attr])*
        $vis mod $module {
            use $crate::server::proto::{self, Conn, Db, Frame, Reply};
            use $crate::server::tokio::net::{TcpListener, TcpStream};
            use $crate::server::{Served, Spawned};
            use ::std::io;

            /// Whether this expansion tracks its tasks.
            pub const TRACKED: bool = $crate::kv_server!(@tracked $mode);

            /// Accepts `connections` connections (no more), serves each in a task of its
            /// own until its client closes it, and returns them once all have ended.
            pub async fn serve(
                listener: TcpListener,
                connections: usize,
                db: Db,
            ) -> io::Result<Vec<Served>> {
                let mut spawned = Vec::with_capacity(connections);
                for _ in 0..connections {
                    let (stream, peer) = listener.accept().await?;
                    stream.set_nodelay(true)?;
                    let conn = handle_connection(stream, Db::clone(&db));
                    let task = if TRACKED {
                        let name = ::core::concat!(::core::module_path!(), "::connection");
                        Spawned::tracked(name, conn)
                    } else {
                        Spawned::plain(conn)
                    };
                    spawned.push((peer, task));
                }
                let mut served = Vec::with_capacity(connections);
                for (peer, task) in spawned {
                    let id = task.id();
                    let commands = task.join().await?;
                    served.push(Served { peer, task: id, commands });
                }
                Ok(served)
            }

            $crate::kv_server! { @fn $mode network
                /// Serves one connection: read a frame, execute it, write the reply,
                /// until the client closes; returns the commands served.
                pub async fn handle_connection(stream: TcpStream, db: Db) -> io::Result<u64> {
                    let mut conn = Conn::new(stream);
                    let mut commands = 0;
                    while let Some(frame) = read_frame(&mut conn).await? {
                        let reply = execute(&db, frame).await;
                        write_reply(&mut conn, reply).await?;
                        commands += 1;
                    }
                    Ok(commands)
                }
            }

            $crate::kv_server! { @fn $mode inner
                /// Reads one request (see [`proto::read_frame`]).
                async fn read_frame(conn: &mut Conn) -> io::Result<Option<Frame>> {
                    proto::read_frame(conn).await
                }
            }

            $crate::kv_server! { @fn $mode inner
                /// Applies one request to the store (see [`proto::execute`]).
                async fn execute(db: &Db, frame: Frame) -> Reply {
                    proto::execute(db, frame)
                }
            }

            $crate::kv_server! { @fn $mode inner
                /// Writes one reply (see [`proto::write_reply`]).
                async fn write_reply(conn: &mut Conn, reply: Reply) -> io::Result<()> {
                    proto::write_reply(conn, reply).await
                }
            }
        }
    };
}
