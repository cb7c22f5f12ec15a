//! Which URLs may be fetched, by us or by anyone we hand a URL to: http(s) to public unicast
//! addresses only, and never a cloud metadata service.
//!
//! The same rules serve three places: the check of a caller's URL before the model server is
//! given it ([`check_url`]), every hop of a download ([`check_literal`] on redirects) and the
//! addresses a download connects to ([`GuardedResolver`]). `allow_private` (tests and trusted
//! networks) lets private, loopback and link-local addresses through; metadata services stay
//! refused regardless, since no media lives there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why a URL is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not an http(s) URL")]
    Scheme,
    #[error("no host")]
    NoHost,
    #[error("private or local address")]
    Private,
    #[error("cloud metadata address")]
    Metadata,
}

/// Host names of metadata services (GCP, AWS, generic short names).
const METADATA_NAMES: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
];

/// Name suffixes that never denote a public host.
const PRIVATE_SUFFIXES: &[&str] = &["localhost", "local", "internal", "home.arpa"];

/// Whether an address is a cloud metadata service (AWS, GCP, Azure, Alibaba, ECS tasks).
pub fn is_metadata(ip: IpAddr) -> bool {
    const V4: [Ipv4Addr; 5] = [
        Ipv4Addr::new(169, 254, 169, 254),
        Ipv4Addr::new(169, 254, 169, 253),
        Ipv4Addr::new(169, 254, 170, 2),
        Ipv4Addr::new(100, 100, 100, 200),
        Ipv4Addr::new(168, 63, 129, 16),
    ];
    const V6: [Ipv6Addr; 2] = [
        Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254),
        Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0023),
    ];
    match ip {
        IpAddr::V4(v4) => V4.contains(&v4),
        IpAddr::V6(v6) => V6.contains(&v6) || embedded_v4(v6).is_some_and(|v4| V4.contains(&v4)),
    }
}

/// Whether an address is on the public internet (and not a metadata service).
pub fn is_public(ip: IpAddr) -> bool {
    if is_metadata(ip) {
        return false;
    }
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped, IPv4-compatible, NAT64
/// (`64:ff9b::/96`) and 6to4 (`2002::/16`), so none of them reaches a private host.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link local
        || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: any IPv4 behind it
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64, local use
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard only
        || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
}

/// Whether an address may be connected to.
fn address_allowed(ip: IpAddr, allow_private: bool) -> Result<(), Refusal> {
    if is_metadata(ip) {
        Err(Refusal::Metadata)
    } else if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(Refusal::Private)
    }
}

/// The rules that need no DNS: the scheme, literal addresses (in every form the URL standard
/// reads as one: `2130706433`, `0x7f.1`, `0177.0.0.1`, `[::ffff:127.0.0.1]`) and names that
/// are never public.
///
/// # Errors
/// The reason the URL is refused.
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::Scheme);
    }
    match url.host() {
        None => Err(Refusal::NoHost),
        Some(Host::Ipv4(ip)) => address_allowed(IpAddr::V4(ip), allow_private),
        Some(Host::Ipv6(ip)) => address_allowed(IpAddr::V6(ip), allow_private),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if METADATA_NAMES.contains(&name.as_str()) {
                return Err(Refusal::Metadata);
            }
            let private = PRIVATE_SUFFIXES
                .iter()
                .any(|s| name == *s || name.ends_with(&format!(".{s}")));
            if private && !allow_private {
                return Err(Refusal::Private);
            }
            Ok(())
        }
    }
}

/// Every rule, for a URL someone else will fetch: [`check_literal`], then every address the
/// name resolves to must be allowed (one private address is enough to refuse, since the
/// fetcher may pick it). A name that does not resolve within `lookup_timeout` is let through:
/// nothing shows it private, and whoever fetches it will not reach it either on our network.
///
/// # Errors
/// The reason the URL is refused.
pub async fn check_url(
    url: &Url,
    allow_private: bool,
    lookup_timeout: Duration,
) -> Result<(), Refusal> {
    check_literal(url, allow_private)?;
    let Some(Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let lookup = tokio::net::lookup_host((name.trim_end_matches('.'), port));
    let Ok(Ok(addrs)) = tokio::time::timeout(lookup_timeout, lookup).await else {
        return Ok(());
    };
    for addr in addrs {
        address_allowed(addr.ip(), allow_private)?;
    }
    Ok(())
}

/// Why the guard refused a request's destination, when that is why it failed.
pub fn refusal_of(err: &reqwest::Error) -> Option<Refusal> {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(current) = source {
        if let Some(refusal) = current.downcast_ref::<Refusal>() {
            return Some(*refusal);
        }
        source = current.source();
    }
    None
}

/// A resolver that drops the addresses a download may not connect to, and fails if none
/// remain, so DNS tricks do not get past the literal check.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = format!("{}:0", name.as_str());
            let mut refusal = Refusal::Private;
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host(host)
                .await?
                .filter(|addr| match address_allowed(addr.ip(), allow_private) {
                    Ok(()) => true,
                    Err(why) => {
                        refusal = why;
                        false
                    }
                })
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(refusal) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn literal(url: &str, allow_private: bool) -> Result<(), Refusal> {
        check_literal(&Url::parse(url).expect("url"), allow_private)
    }

    #[test]
    fn private_local_and_metadata_addresses_are_not_public() {
        for text in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "168.63.129.16",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
        ] {
            assert!(!is_public(ip(text)), "{text}");
        }
        for text in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(text)), "{text}");
        }
    }

    #[test]
    fn literal_hosts_in_every_form_are_checked() {
        for url in [
            "http://127.0.0.1:8080/x",
            "http://[::1]/x",
            "http://[::ffff:7f00:1]/x",
            "http://2130706433/x",
            "http://0x7f.1/x",
            "http://0177.0.0.1/x",
            "http://localhost/x",
            "http://LOCALHOST./x",
            "http://db.internal/x",
            "http://printer.local/x",
            "http://user:pw@10.0.0.1/x",
        ] {
            assert_eq!(literal(url, false), Err(Refusal::Private), "{url}");
            assert_eq!(literal(url, true), Ok(()), "{url}");
        }
        assert_eq!(literal("https://example.com/a.png", false), Ok(()));
        assert_eq!(literal("https://93.184.216.34/a.png", false), Ok(()));
        assert_eq!(
            literal("ftp://example.com/a.png", false),
            Err(Refusal::Scheme)
        );
        assert_eq!(literal("file:///etc/passwd", true), Err(Refusal::Scheme));
    }

    #[test]
    fn metadata_services_are_refused_even_on_trusted_networks() {
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00:ec2::254]/latest",
            "http://[::ffff:169.254.169.254]/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://Metadata.Google.Internal./computeMetadata/v1/",
            "http://100.100.100.200/latest/meta-data",
        ] {
            assert_eq!(literal(url, true), Err(Refusal::Metadata), "{url}");
        }
    }

    /// This machine's name, when it resolves only to non-public addresses (as on most hosts,
    /// containers and CI runners, through `/etc/hosts`).
    async fn own_private_name() -> Option<String> {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
        let name = name.trim().to_string();
        let addrs: Vec<_> = tokio::net::lookup_host((name.as_str(), 80))
            .await
            .ok()?
            .collect();
        (!addrs.is_empty() && addrs.iter().all(|a| !is_public(a.ip()))).then_some(name)
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_a_private_address_is_refused() {
        let Some(name) = own_private_name().await else {
            eprintln!("skipped: this host's name does not resolve to a private address");
            return;
        };
        let url = Url::parse(&format!("http://{name}:1/x")).expect("url");
        assert_eq!(
            check_url(&url, false, Duration::from_secs(2)).await,
            Err(Refusal::Private)
        );
        assert_eq!(check_url(&url, true, Duration::from_secs(2)).await, Ok(()));
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_let_through() {
        let url = Url::parse("https://no-such-host.invalid/a.png").expect("url");
        assert_eq!(check_url(&url, false, Duration::from_secs(2)).await, Ok(()));
    }
}
