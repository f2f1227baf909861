//! The endpoint's limits: what keeps it up under garbage, floods and slow clients, and
//! bounds its memory.

use std::time::Duration;

/// Connections open at once; a new one past this closes the oldest (a flood of idle
/// connections never locks a scraper out, and the endpoint's memory stays bounded).
pub const MAX_CONNECTIONS: usize = 128;

/// Time a client has to send a request's head (line and headers), from when the endpoint
/// starts waiting for one (so an idle keep-alive connection closes after it too).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest a connection lives, whatever it does: a client that asks for big answers
/// and never reads them holds their memory this long at most (scrapers reconnect).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// Largest request head read (line and headers); a longer one is answered
/// `431 Request Header Fields Too Large` and the connection closed.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// Recent snapshots `/snapshot.json` handed out, kept for `?since=<id>` (their groups
/// only: tasks and timeline dropped).
pub const HISTORY: usize = 16;
