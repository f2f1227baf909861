//! The bounded client of the key-value server: a [`Plan`] of connections and commands,
//! run by [`run`], every reply checked.
//!
//! Each connection `c` runs two phases, all connections in step (a barrier between them,
//! and another before they close):
//!
//! 1. `sets` × `SET` of its own keys `0..sets` ([`Plan::key`]), values of
//!    [`Plan::value_len`] bytes filled with [`Plan::fill`];
//! 2. interleaved, `dels` × `DEL` of the *next* connection's keys `0..dels` (so frees
//!    cross connections, and threads) and `gets` × `GET` of its own keys from the top
//!    (`sets - 1` down), which no one deletes.
//!
//! Every `DEL` removes a stored key and every `GET` finds its value, so what the store
//! keeps at the end is known exactly: [`Plan::retained_by`]. The client's allocations are
//! made outside any tracked task.

use crate::server::proto::MAX_VALUE;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

/// What the client does; see the [module](self).
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Connections, open at once.
    pub connections: usize,
    /// `SET`s per connection (phase 1).
    pub sets: usize,
    /// `GET`s per connection (phase 2).
    pub gets: usize,
    /// `DEL`s per connection (phase 2), of the next connection's keys.
    pub dels: usize,
    /// Length of the value connection `c` stores under its key `i`: `value_len(c, i)`.
    pub value_len: fn(usize, usize) -> usize,
}

impl Plan {
    /// Commands one connection sends.
    pub fn commands_per_connection(&self) -> usize {
        self.sets + self.gets + self.dels
    }

    /// Commands all connections send.
    pub fn commands(&self) -> usize {
        self.connections * self.commands_per_connection()
    }

    /// Connection `c`'s key `i`.
    pub fn key(c: usize, i: usize) -> String {
        format!("c{c}:{i}")
    }

    /// The byte connection `c`'s value `i` is filled with.
    pub fn fill(c: usize, i: usize) -> u8 {
        (c * 31 + i) as u8
    }

    /// The connection that deletes `c`'s keys `0..dels`: the one before it.
    pub fn deleter_of(&self, c: usize) -> usize {
        (c + self.connections - 1) % self.connections
    }

    /// Indices of `c`'s keys still stored at the end (the same for every connection).
    pub fn kept(&self) -> Range<usize> {
        self.dels..self.sets
    }

    /// Bytes of keys and values that connection `c`'s `SET`s leave in the store at the end.
    pub fn retained_by(&self, c: usize) -> u64 {
        self.kept()
            .map(|i| (Self::key(c, i).len() + (self.value_len)(c, i)) as u64)
            .sum()
    }

    /// Bytes of keys and values in the store at the end, all connections together.
    pub fn retained(&self) -> u64 {
        (0..self.connections).map(|c| self.retained_by(c)).sum()
    }

    /// Bytes of keys and values all `SET`s send (each one allocation per key and value on
    /// the server).
    pub fn set_bytes(&self) -> u64 {
        (0..self.connections)
            .flat_map(|c| (0..self.sets).map(move |i| (c, i)))
            .map(|(c, i)| (Self::key(c, i).len() + (self.value_len)(c, i)) as u64)
            .sum()
    }

    /// Bytes of the keys of all `GET`s and `DEL`s, and of the values the `GET`s return.
    pub fn get_del_bytes(&self) -> (u64, u64, u64) {
        let (mut get_keys, mut del_keys, mut got) = (0, 0, 0);
        for c in 0..self.connections {
            for j in 0..self.gets {
                let i = self.sets - 1 - j;
                get_keys += Self::key(c, i).len() as u64;
                got += (self.value_len)(c, i) as u64;
            }
            for j in 0..self.dels {
                del_keys += Self::key((c + 1) % self.connections, j).len() as u64;
            }
        }
        (get_keys, del_keys, got)
    }
}

/// One client connection, as it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConn {
    /// Its index `c` in the plan.
    pub index: usize,
    /// Its local address: the server sees it as the peer's.
    pub local: SocketAddr,
}

/// Runs `plan` against the server at `addr`, its connections as tasks of the current
/// tokio runtime; returns them by index once every reply was checked and all are closed.
///
/// # Panics
/// If `plan` has no connection, or more `gets` + `dels` than `sets`.
pub async fn run(addr: SocketAddr, plan: Plan) -> io::Result<Vec<ClientConn>> {
    assert!(plan.connections > 0, "a plan needs a connection");
    assert!(
        plan.gets + plan.dels <= plan.sets,
        "GET and DEL keys must differ"
    );
    let barrier = Arc::new(Barrier::new(plan.connections));
    let tasks: Vec<_> = (0..plan.connections)
        .map(|c| tokio::spawn(connection(addr, plan, c, Arc::clone(&barrier))))
        .collect();
    let mut conns = Vec::with_capacity(tasks.len());
    for task in tasks {
        conns.push(task.await.map_err(io::Error::other)??);
    }
    Ok(conns)
}

/// A reply as the client reads it (a value's bytes go to a buffer of the caller).
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Ok,
    Value(usize),
    Missing,
    Deleted(u64),
}

struct Client {
    stream: BufReader<TcpStream>,
    request: Vec<u8>,
    line: String,
    body: Vec<u8>,
    key: String,
}

fn unexpected(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

impl Client {
    /// Sends the request in `self.request` and reads the reply.
    async fn call(&mut self) -> io::Result<Answer> {
        self.stream.get_mut().write_all(&self.request).await?;
        self.line.clear();
        if self.stream.read_line(&mut self.line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let text = self.line.trim_end();
        let number = |s: &str| s.parse::<usize>().ok();
        let answer = match text.as_bytes().first() {
            _ if text == "+OK" => Answer::Ok,
            _ if text == "$-1" => Answer::Missing,
            Some(b':') => Answer::Deleted(number(&text[1..]).unwrap_or(usize::MAX) as u64),
            Some(b'$') => match number(&text[1..]).filter(|&n| n <= MAX_VALUE) {
                Some(len) => {
                    self.body.resize(len, 0);
                    self.stream.read_exact(&mut self.body).await?;
                    Answer::Value(len)
                }
                None => return Err(unexpected(format!("bad reply {text:?}"))),
            },
            _ => return Err(unexpected(format!("unknown reply {text:?}"))),
        };
        Ok(answer)
    }

    /// Puts `<command> c{c}:{i}` into the request buffer and the key buffer.
    fn start(&mut self, command: &str, c: usize, i: usize) {
        self.key.clear();
        let _ = write!(self.key, "c{c}:{i}");
        self.request.clear();
        let _ = write!(self.request, "{command} {}", self.key);
    }

    async fn set(&mut self, plan: &Plan, c: usize, i: usize) -> io::Result<()> {
        let len = (plan.value_len)(c, i);
        self.start("SET", c, i);
        let _ = writeln!(self.request, " {len}");
        let fill = Plan::fill(c, i);
        self.request.resize(self.request.len() + len, fill);
        self.expect(Answer::Ok).await
    }

    async fn get(&mut self, plan: &Plan, c: usize, i: usize) -> io::Result<()> {
        self.start("GET", c, i);
        self.request.push(b'\n');
        let len = (plan.value_len)(c, i);
        self.expect(Answer::Value(len)).await?;
        let fill = Plan::fill(c, i);
        if self.body.iter().any(|&b| b != fill) {
            return Err(unexpected(format!("GET {}: wrong bytes", self.key)));
        }
        Ok(())
    }

    async fn del(&mut self, c: usize, i: usize) -> io::Result<()> {
        self.start("DEL", c, i);
        self.request.push(b'\n');
        self.expect(Answer::Deleted(1)).await
    }

    async fn expect(&mut self, want: Answer) -> io::Result<()> {
        let got = self.call().await?;
        if got != want {
            return Err(unexpected(format!("{}: {got:?}, not {want:?}", self.key)));
        }
        Ok(())
    }
}

async fn connection(
    addr: SocketAddr,
    plan: Plan,
    c: usize,
    barrier: Arc<Barrier>,
) -> io::Result<ClientConn> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let local = stream.local_addr()?;
    let mut client = Client {
        stream: BufReader::new(stream),
        request: Vec::new(),
        line: String::new(),
        body: Vec::new(),
        key: String::new(),
    };
    for i in 0..plan.sets {
        client.set(&plan, c, i).await?;
    }
    barrier.wait().await;
    let next = (c + 1) % plan.connections;
    for j in 0..plan.gets.max(plan.dels) {
        if j < plan.dels {
            client.del(next, j).await?;
        }
        if j < plan.gets {
            client.get(&plan, c, plan.sets - 1 - j).await?;
        }
    }
    // The server's last tasks of each connection all end after this point (see
    // `tests/real_server.rs`, which counts on it).
    barrier.wait().await;
    Ok(ClientConn { index: c, local })
}
