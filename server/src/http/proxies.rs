//! Which peers may tell us the client's address: forwarded-for headers are
//! believed only from configured proxies, so a client cannot choose the IP
//! recorded on its session or counted by throttling.

use std::net::IpAddr;

/// A parsed list of trusted proxy addresses and ranges.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    ranges: Vec<(IpAddr, u8)>,
    true_client_ip: bool,
}

impl TrustedProxies {
    /// Parses `10.0.0.0/8`, `192.168.1.7`, `::1`, ...; returns the first
    /// entry that does not parse as the error.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for entry in entries {
            let (address, prefix) = match entry.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (entry.as_str(), None),
            };
            let address: IpAddr = address.trim().parse().map_err(|_| entry.clone())?;
            let full = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                Some(p) => p
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= full)
                    .ok_or_else(|| entry.clone())?,
                None => full,
            };
            ranges.push((address, prefix));
        }
        Ok(Self {
            ranges,
            true_client_ip: false,
        })
    }

    /// Also believes a trusted proxy's `True-Client-IP` header
    /// (`serve.public.trust_true_client_ip`).
    pub fn with_true_client_ip(mut self, believe: bool) -> Self {
        self.true_client_ip = believe;
        self
    }

    /// The client's address. From an untrusted peer, the peer itself. From a
    /// trusted proxy, its `True-Client-IP` when configured to believe it, else
    /// the `X-Forwarded-For` chain
    /// walked from the right: each hop a trusted proxy appended is skipped, and
    /// the first address no trusted proxy holds is the client (a client can
    /// prepend anything, but cannot append after its own proxy). A malformed hop
    /// ends the walk at the last hop that could be believed.
    pub fn client_address(
        &self,
        peer: IpAddr,
        true_client_ip: Option<&str>,
        forwarded_for: Option<&str>,
    ) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let true_client_ip = true_client_ip.filter(|_| self.true_client_ip);
        if let Some(ip) = true_client_ip.and_then(|v| v.trim().parse().ok()) {
            return ip;
        }
        let mut client = peer;
        for hop in forwarded_for.unwrap_or_default().rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }

    /// Whether a peer is one of the trusted proxies.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.ranges
            .iter()
            .any(|(network, prefix)| contains(*network, *prefix, peer))
    }
}

fn contains(network: IpAddr, prefix: u8, address: IpAddr) -> bool {
    match (network, address) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_single_addresses() {
        let proxies =
            TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into(), "192.168.1.7".into()])
                .unwrap();
        assert!(proxies.trusts("10.200.3.4".parse().unwrap()));
        assert!(proxies.trusts("::1".parse().unwrap()));
        assert!(proxies.trusts("192.168.1.7".parse().unwrap()));
        assert!(!proxies.trusts("192.168.1.8".parse().unwrap()));
        assert!(!proxies.trusts("11.0.0.1".parse().unwrap()));
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["not an ip".into()]).is_err());
        assert!(!TrustedProxies::default().trusts("127.0.0.1".parse().unwrap()));
        let everyone = TrustedProxies::parse(&["0.0.0.0/0".into()]).unwrap();
        assert!(everyone.trusts("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn forwarded_chains_are_walked_from_the_right() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A spoofed first hop is ignored: the proxy appended the real client.
        let chain = Some("6.6.6.6, 203.0.113.9");
        assert_eq!(
            proxies.client_address(proxy, None, chain),
            ip("203.0.113.9")
        );
        // Hops appended by trusted proxies are skipped.
        let chain = Some("203.0.113.9, 10.0.0.7, 10.1.2.3");
        assert_eq!(
            proxies.client_address(proxy, None, chain),
            ip("203.0.113.9")
        );
        // Every hop trusted: the leftmost is the client.
        assert_eq!(
            proxies.client_address(proxy, None, Some("10.9.9.9")),
            ip("10.9.9.9")
        );
        // Garbage stops the walk at the last hop that could be believed.
        let chain = Some("203.0.113.9, not-an-ip, 10.0.0.7");
        assert_eq!(proxies.client_address(proxy, None, chain), ip("10.0.0.7"));
        assert_eq!(proxies.client_address(proxy, None, None), proxy);
        // True-Client-IP only when configured.
        assert_eq!(
            proxies.client_address(proxy, Some("2001:db8::1"), chain),
            ip("10.0.0.7")
        );
        let believing = proxies.clone().with_true_client_ip(true);
        assert_eq!(
            believing.client_address(proxy, Some("2001:db8::1"), chain),
            ip("2001:db8::1")
        );
        assert_eq!(
            believing.client_address(ip("198.51.100.4"), Some("2001:db8::1"), chain),
            ip("198.51.100.4"),
            "never from an untrusted peer"
        );
        // An untrusted peer is the client, whatever it claims.
        let stranger = ip("198.51.100.4");
        assert_eq!(
            proxies.client_address(stranger, Some("1.1.1.1"), chain),
            stranger
        );
    }
}
