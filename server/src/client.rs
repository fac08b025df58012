//! Who the client is, as far as a request can tell: its address (behind trusted reverse proxies,
//! from `Forwarded` / `X-Forwarded-For`), its user agent, and the request id it asked for. Read
//! once per request, before anything else, into [`ClientFacts`]: `aws:SourceIp`, `aws:UserAgent`
//! and the audit log all take them from there.
//!
//! Request ids are the server's: a client's `x-request-id` is moved aside (checked and bounded)
//! before the server sets its own, so nobody can write an id of their choosing into the audit log.

use std::net::{IpAddr, SocketAddr};

use app::ssr::ClientFacts;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use iam_policy::values::Cidr;

/// Which header the trusted proxies write the client's address to. Only that one is read: the
/// common proxies write `X-Forwarded-For` and pass a client's own `Forwarded` through untouched,
/// so guessing from which headers are present would let a client choose its address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, Traefik, Caddy, cloud load
    /// balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// The reverse proxies whose forwarding header is believed, and which header that is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    pub proxies: Vec<Cidr>,
    pub header: ForwardedHeader,
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|net| net.contains(ip))
    }

    /// Whether a request seems to come through a reverse proxy while none is trusted: a loopback
    /// or private peer (a dual-stack listener's `::ffff:a.b.c.d` included) with a forwarding header.
    fn looks_proxied(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        let peer = peer.to_canonical();
        self.proxies.is_empty() && (peer.is_loopback() || is_private(peer)) && forwards(headers)
    }

    /// The client's address: the peer itself unless it is a trusted proxy; then, walking the
    /// forwarding chain from the right (the hop nearest us), the first address that is not a
    /// trusted proxy. Hops further left were written by whoever sent the request and prove
    /// nothing. A hop that does not parse ends the walk at the last address that did (a proxy we
    /// trust wrote it). Only the configured header is read.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            if self.looks_proxied(peer, headers) {
                warn_untrusted_proxy_once(peer.to_canonical());
            }
            return peer;
        }
        let lines = |name| headers.get_all(name).into_iter().filter_map(|v: &axum::http::HeaderValue| v.to_str().ok());
        let hops: Vec<Option<IpAddr>> = match self.header {
            ForwardedHeader::XForwardedFor => lines(header::HeaderName::from_static("x-forwarded-for"))
                .flat_map(|v| v.split(','))
                .map(|hop| parse_hop(hop.trim()))
                .collect(),
            ForwardedHeader::Forwarded => {
                lines(header::FORWARDED).flat_map(|v| v.split(',')).map(forwarded_for).collect()
            }
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = *hop else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// The `for=` of one `Forwarded` element (RFC 7239): `for=192.0.2.60`, `for="[2001:db8::1]:4711"`.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| parse_hop(value.trim().trim_matches('"')))?
    })
}

/// An address as proxies write it: bare, `[v6]`, `[v6]:port` or `v4:port`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    text.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// Longest client request id kept, and its alphabet: enough for a UUID or an SDK's invocation id.
const MAX_CLIENT_REQUEST_ID: usize = 128;

fn client_request_id(headers: &HeaderMap) -> Option<String> {
    let id = headers.get("x-request-id")?.to_str().ok()?;
    let ok = !id.is_empty()
        && id.len() <= MAX_CLIENT_REQUEST_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| id.to_owned())
}

/// Whether a request carries either forwarding header.
fn forwards(headers: &HeaderMap) -> bool {
    headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED)
}

/// A private (RFC 1918, or IPv6 unique local) address: where a reverse proxy usually is.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => (v6.segments().first().copied().unwrap_or(0) & 0xfe00) == 0xfc00,
    }
}

/// Says once per process that a reverse proxy seems to be in front while none is trusted: then
/// every client has the proxy's address, so one per-client sign-in bucket is shared by everyone
/// behind it (a few failures from anyone slow everyone down), and `aws:SourceIp` conditions and
/// the audit log see only the proxy.
fn warn_untrusted_proxy_once(peer: IpAddr) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            %peer,
            "a request from a local or private address carries a forwarding header, but no proxy is trusted: \
             if Portcullis runs behind a reverse proxy, set --trusted-proxies to its address, or every client \
             shares the proxy's address (one sign-in throttle for all, aws:SourceIp and the audit log see only the proxy)"
        );
    }
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    let agent = headers.get(header::USER_AGENT)?.to_str().ok()?;
    let agent: String = agent.chars().filter(|c| !c.is_control()).take(iam_core::caller::MAX_USER_AGENT).collect();
    (!agent.is_empty()).then_some(agent)
}

/// Records the client's facts on the request and takes away its `x-request-id`, so that the
/// request-id layer (inside this one) always sets the server's own.
pub async fn client_facts(State(proxies): State<TrustedProxies>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    let headers = req.headers();
    let facts = ClientFacts {
        address: peer.map(|peer| proxies.client_address(peer, headers)),
        client_request_id: client_request_id(headers),
        user_agent: user_agent(headers),
    };
    req.headers_mut().remove("x-request-id");
    req.extensions_mut().insert(facts);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies {
            proxies: list.iter().map(|c| Cidr::parse(c).unwrap()).collect(),
            header: ForwardedHeader::default(),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_proxy_is_looked_for_on_local_and_private_addresses_only() {
        for private in ["10.1.2.3", "172.16.0.1", "192.168.1.1", "fd00::1", "fc12::9"] {
            assert!(is_private(ip(private)), "{private}");
        }
        for public in ["203.0.113.9", "172.32.0.1", "2001:db8::1", "fe80::1"] {
            assert!(!is_private(ip(public)), "{public}");
        }
        assert!(forwards(&headers(&[("x-forwarded-for", "203.0.113.9")])));
        assert!(forwards(&headers(&[("forwarded", "for=203.0.113.9")])));
        assert!(!forwards(&HeaderMap::new()));
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9")]);
        let none = TrustedProxies::default();
        assert!(none.looks_proxied(ip("::ffff:10.0.0.5"), &forwarded), "a dual-stack listener's IPv4 peer");
        assert!(none.looks_proxied(ip("127.0.0.1"), &forwarded));
        assert!(!none.looks_proxied(ip("203.0.113.7"), &forwarded), "a public peer is a client");
        assert!(!none.looks_proxied(ip("10.0.0.5"), &HeaderMap::new()), "no forwarding header");
        assert!(!proxies(&["10.0.0.0/8"]).looks_proxied(ip("10.0.0.5"), &forwarded), "proxies are trusted");
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let trusted = proxies(&["10.0.0.0/8", "2001:db8:ffff::/48"]);
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        // No proxy configured, or a peer that is not one: the peer, whatever the headers say.
        assert_eq!(TrustedProxies::default().client_address(ip("198.51.100.7"), &spoofed), ip("198.51.100.7"));
        assert_eq!(trusted.client_address(ip("198.51.100.7"), &spoofed), ip("198.51.100.7"));
        // Through our proxy: the address it saw.
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &spoofed), ip("203.0.113.9"));
        // The client wrote a fake hop on the left; the right-most untrusted hop is the real one.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &chain), ip("203.0.113.9"));
        // Several header lines are one list, in order.
        let lines = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &lines), ip("203.0.113.9"));
        // Every hop a trusted proxy: the left-most of them.
        let inside = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.5")]);
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &inside), ip("10.1.1.1"));
        // Garbage stops the walk at the last address a trusted proxy wrote.
        let garbage = headers(&[("x-forwarded-for", "203.0.113.9, not-an-ip, 10.0.0.5")]);
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &garbage), ip("10.0.0.5"));
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        // Ports and brackets, as proxies write them.
        let ported = headers(&[("x-forwarded-for", "[2001:db8::1]:4711, 203.0.113.9:1234")]);
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &ported), ip("203.0.113.9"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // The proxy writes X-Forwarded-For; the client adds a Forwarded of its choosing.
        let trusted = proxies(&["10.0.0.0/8"]);
        let both = headers(&[
            ("forwarded", r#"for=1.2.3.4, for="[2001:db8::1]:4711";proto=https, for=10.0.0.5;by=10.0.0.2"#),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &both), ip("203.0.113.9"), "Forwarded is not read");
        let spoof = headers(&[("forwarded", "for=unknown"), ("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &spoof), ip("203.0.113.9"));
        // A proxy set up to write Forwarded: that one only.
        let trusted = TrustedProxies { header: ForwardedHeader::Forwarded, ..trusted };
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &both), ip("2001:db8::1"));
        let obfuscated = headers(&[("forwarded", "for=_hidden, for=203.0.113.9")]);
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &obfuscated), ip("203.0.113.9"));
        let unknown = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(trusted.client_address(ip("10.0.0.2"), &unknown), ip("10.0.0.2"));
    }

    #[test]
    fn client_request_ids_are_bounded_and_plain() {
        assert_eq!(client_request_id(&headers(&[("x-request-id", "abc-123_x.y:z")])).as_deref(), Some("abc-123_x.y:z"));
        for bad in ["", "has space", "semi;colon", "quote\"", &"x".repeat(129)] {
            assert_eq!(client_request_id(&headers(&[("x-request-id", bad)])), None, "{bad}");
        }
        let long_agent = "a".repeat(1000);
        assert_eq!(user_agent(&headers(&[("user-agent", &long_agent)])).map(|a| a.len()), Some(256));
    }
}
