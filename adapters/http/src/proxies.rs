//! [`TrustedProxies`]: the peers whose `X-Forwarded-*` headers are believed.
//!
//! Anyone can send `X-Forwarded-For: 10.0.0.1` or `X-Forwarded-Proto: https`; only a proxy
//! we run overwrites them with the truth. So the headers count only when the TCP peer is one
//! of the configured proxy addresses, and are ignored otherwise.

use std::net::IpAddr;

use poem::web::RemoteAddr;
use poem::Request;

/// One address or CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    addr: IpAddr,
    prefix: u8,
}

impl Block {
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?} has an invalid prefix length"))?,
        };
        Ok(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 peer seen through an IPv6 socket as itself.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The proxies whose forwarding headers are believed; empty believes none.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<Block>);

impl TrustedProxies {
    /// Parses IP addresses and CIDR blocks (`10.0.0.0/8`, `::1`).
    ///
    /// # Errors
    /// A one-line description of the first entry that is neither.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| Block::parse(e.as_ref()))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|b| b.contains(ip))
    }

    /// Whether the request's TCP peer is a trusted proxy.
    pub fn trusts(&self, req: &Request) -> bool {
        !self.0.is_empty() && peer_ip(req.remote_addr()).is_some_and(|ip| self.contains(ip))
    }

    /// A forwarding header's value, only when the peer is trusted; the first of a list.
    pub fn forwarded<'a>(&self, req: &'a Request, name: &str) -> Option<&'a str> {
        if !self.trusts(req) {
            return None;
        }
        req.header(name)
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// The client's address: the first `X-Forwarded-For` entry from a trusted proxy, else the
    /// TCP peer.
    pub fn client_addr(&self, req: &Request) -> Option<String> {
        self.forwarded(req, "x-forwarded-for")
            .map(str::to_string)
            .or_else(|| peer_ip(req.remote_addr()).map(|ip| ip.to_string()))
    }
}

fn peer_ip(addr: &RemoteAddr) -> Option<IpAddr> {
    addr.as_socket_addr().map(|a| canonical(a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn addresses_and_blocks_match_their_peers() {
        let trusted =
            TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1", "fd00::/8"]).expect("valid");

        assert!(trusted.contains(ip("10.1.2.3")));
        assert!(trusted.contains(ip("127.0.0.1")));
        assert!(trusted.contains(ip("::ffff:127.0.0.1")));
        assert!(trusted.contains(ip("fd12::1")));
        assert!(!trusted.contains(ip("127.0.0.2")));
        assert!(!trusted.contains(ip("11.0.0.1")));
        assert!(!TrustedProxies::default().contains(ip("127.0.0.1")));
    }

    #[test]
    fn junk_is_refused() {
        assert!(TrustedProxies::parse(&["proxy.internal"]).is_err());
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["0.0.0.0/0"]).is_ok());
    }
}
