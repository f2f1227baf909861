//! The key-value server's side of the protocol and its store, written once for every expansion of
//! [`kv_server!`](crate::kv_server): frames, replies, the shared map and the I/O of one
//! frame or reply. The expansions' tracked fns are thin wrappers around these, so
//! whatever these allocate is charged to the tracked task awaiting them.
//!
//! Requests, one per line, a `SET`'s value right after its line:
//!
//! ```text
//! SET <key> <len>\n<len bytes>      GET <key>\n      DEL <key>\n
//! ```
//!
//! Replies: `+OK\n` (SET), `$<len>\n<len bytes>` or `$-1\n` (GET: the value, or none),
//! `:<n>\n` (DEL: keys removed, 0 or 1).

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The largest value a `SET` may carry.
pub const MAX_VALUE: usize = 16 << 20;
/// Capacity of a connection's line buffer: request and reply lines are far shorter, so
/// reading a line never grows it.
pub const LINE_CAPACITY: usize = 128;
/// Capacity of a connection's reply buffer: a reply to a `GET` of a value up to 8 KiB
/// fits, so writing it allocates nothing (longer replies grow the buffer once).
pub const REPLY_CAPACITY: usize = 8 << 10;

/// The server's store, shared by every connection.
pub type Db = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A new store with room for `keys` keys: up to that many inserts never grow the table.
pub fn new_db(keys: usize) -> Db {
    Arc::new(Mutex::new(HashMap::with_capacity(keys)))
}

/// Locks the store; a panic of another connection does not poison it for the others
/// (every command leaves the map consistent).
pub fn lock(db: &Db) -> MutexGuard<'_, HashMap<String, Vec<u8>>> {
    db.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Bytes the store holds in keys and values (their lengths, which are their allocations'
/// sizes for what [`read_frame`] builds).
pub fn stored_bytes(db: &Db) -> u64 {
    lock(db)
        .iter()
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum()
}

/// One connection's stream and buffers.
#[derive(Debug)]
pub struct Conn {
    /// The socket, buffered for reading (writes go straight through).
    pub stream: BufReader<TcpStream>,
    /// The current request line ([`LINE_CAPACITY`] reserved).
    pub line: String,
    /// The reply being written ([`REPLY_CAPACITY`] reserved).
    pub out: Vec<u8>,
}

impl Conn {
    /// Wraps an accepted stream; allocates the read buffer (8 KiB), the line and reply
    /// buffers, all freed when the connection ends.
    pub fn new(stream: TcpStream) -> Self {
        Conn {
            stream: BufReader::new(stream),
            line: String::with_capacity(LINE_CAPACITY),
            out: Vec::with_capacity(REPLY_CAPACITY),
        }
    }
}

/// One parsed request. Its key (and a `SET`'s value) are allocated by [`read_frame`] with
/// exactly their length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Store `value` under `key`.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// The value under `key`.
    Get {
        /// The key.
        key: String,
    },
    /// Remove `key`.
    Del {
        /// The key.
        key: String,
    },
}

/// One reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A `SET` stored its value.
    Ok,
    /// A `GET`'s value (a copy), or `None` for a key not stored.
    Value(Option<Vec<u8>>),
    /// How many keys a `DEL` removed.
    Deleted(u64),
}

fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// Reads one request; `None` at the end of the stream. Allocates nothing but the frame's
/// key and value (the line fits [`Conn::line`]).
pub async fn read_frame(conn: &mut Conn) -> io::Result<Option<Frame>> {
    conn.line.clear();
    if conn.stream.read_line(&mut conn.line).await? == 0 {
        return Ok(None);
    }
    let mut words = conn.line.split_ascii_whitespace();
    let (command, key) = match (words.next(), words.next()) {
        (Some(command), Some(key)) => (command, key),
        _ => return Err(invalid("expected `<command> <key>`")),
    };
    let frame = match command {
        "SET" => {
            let len: usize = words
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|&n| n <= MAX_VALUE)
                .ok_or_else(|| invalid("SET needs a length up to MAX_VALUE"))?;
            let key = key.to_owned();
            let mut value = vec![0; len];
            conn.stream.read_exact(&mut value).await?;
            Frame::Set { key, value }
        }
        "GET" => Frame::Get {
            key: key.to_owned(),
        },
        "DEL" => Frame::Del {
            key: key.to_owned(),
        },
        _ => return Err(invalid("unknown command")),
    };
    Ok(Some(frame))
}

/// Applies a request to the store. A `SET` moves its key and value into the map (a table
/// with room left does not grow); a `GET` copies the value; a `DEL` frees what it removes.
pub fn execute(db: &Db, frame: Frame) -> Reply {
    match frame {
        Frame::Set { key, value } => {
            // A replaced value (and the new key, HashMap keeps the old one) is freed here.
            lock(db).insert(key, value);
            Reply::Ok
        }
        Frame::Get { key } => Reply::Value(lock(db).get(&key).cloned()),
        Frame::Del { key } => {
            let removed = lock(db).remove_entry(&key);
            Reply::Deleted(u64::from(removed.is_some()))
        }
    }
}

impl Reply {
    /// Appends the reply's bytes to `out` (growing it only past its capacity), consuming
    /// (freeing) a `GET`'s copy.
    pub fn encode(self, out: &mut Vec<u8>) {
        match self {
            Reply::Ok => out.extend_from_slice(b"+OK\n"),
            Reply::Value(None) => out.extend_from_slice(b"$-1\n"),
            Reply::Value(Some(value)) => {
                // Writes into a `Vec` cannot fail.
                let _ = writeln!(out, "${}", value.len());
                out.extend_from_slice(&value);
            }
            Reply::Deleted(n) => {
                let _ = writeln!(out, ":{n}");
            }
        }
    }
}

/// Writes one reply in one `write_all` through [`Conn::out`].
pub async fn write_reply(conn: &mut Conn, reply: Reply) -> io::Result<()> {
    conn.out.clear();
    reply.encode(&mut conn.out);
    conn.stream.write_all(&conn.out).await
}
