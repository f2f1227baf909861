//! Where the endpoint listens: `host:port`, or a port alone on loopback.

use crate::base::error::Error;
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};

/// The address `given` names: `127.0.0.1:6060`, `[::1]:6060`, `localhost:6060`, or a port
/// alone (`6060`, `:6060`), which means loopback.
pub(crate) fn parse(given: &str) -> Result<SocketAddr, Error> {
    let bad = || Error::ServeAddress {
        given: given.to_owned(),
    };
    let trimmed = given.trim();
    let port_only = trimmed.strip_prefix(':').unwrap_or(trimmed);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    trimmed
        .to_socket_addrs()
        .map_err(|_| bad())?
        .next()
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_alone_means_loopback() {
        assert_eq!(parse("6060").unwrap(), "127.0.0.1:6060".parse().unwrap());
        assert_eq!(parse(":6061").unwrap(), "127.0.0.1:6061".parse().unwrap());
        assert_eq!(parse("[::1]:6062").unwrap(), "[::1]:6062".parse().unwrap());
        assert!(parse("localhost:6063").unwrap().ip().is_loopback());
    }

    #[test]
    fn garbage_is_a_clear_error() {
        for bad in [
            "",
            "x",
            "127.0.0.1",
            "127.0.0.1:99999",
            "http://127.0.0.1:6060",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.to_string().contains("host:port"), "{bad}: {e}");
        }
    }
}
