//! Where validators may send requests. A quest's URL is written by staff, so
//! it is untrusted: it may not reach loopback, private, link-local (cloud
//! metadata), CGNAT, multicast or unspecified addresses unless its host is
//! in an explicit allowlist; names are resolved and checked by the client's
//! own resolver, so the connection goes to the address that was checked (no
//! DNS rebinding between check and connect). A named secret goes only to the
//! hosts configured for it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::DomainError;

pub const DISCORD_BASE: &str = "https://discord.com/api/v10";
pub const YOUTUBE_BASE: &str = "https://www.googleapis.com/youtube/v3";
pub const DISCORD_TOKEN: &str = "DISCORD_BOT_TOKEN";
pub const YOUTUBE_KEY: &str = "YOUTUBE_API_KEY";

/// The operator's outbound rules (configuration, never per quest).
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// Hosts, as written in URLs (`127.0.0.1`, `game.internal`), that may
    /// resolve to non-public addresses.
    pub allow_private_hosts: BTreeSet<String>,
    /// Secret name → the hosts it may be sent to.
    pub secret_hosts: BTreeMap<String, BTreeSet<String>>,
    pub discord_base_url: String,
    pub youtube_base_url: String,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy {
            allow_private_hosts: BTreeSet::new(),
            secret_hosts: BTreeMap::new(),
            discord_base_url: DISCORD_BASE.into(),
            youtube_base_url: YOUTUBE_BASE.into(),
        }
    }
}

/// A URL's host, lower case, IPv6 without brackets.
fn url_host(url: &reqwest::Url) -> Option<String> {
    url.host_str().map(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    })
}

fn host_of(url: &str) -> Option<String> {
    url_host(&reqwest::Url::parse(url).ok()?)
}

impl OutboundPolicy {
    /// Parses the settings: hosts `a,b`; secret hosts `NAME=host|host,NAME2=host`.
    pub fn parse(
        allow_private_hosts: &str,
        secret_hosts: &str,
        discord_base_url: Option<&str>,
        youtube_base_url: Option<&str>,
    ) -> Result<OutboundPolicy, DomainError> {
        let allow = allow_private_hosts
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let mut tied = BTreeMap::new();
        for pair in secret_hosts
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (name, hosts) = pair.split_once('=').ok_or_else(|| {
                DomainError::InvalidInput("validator secret hosts are NAME=host|host pairs".into())
            })?;
            let hosts: BTreeSet<String> = hosts
                .split('|')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
            tied.insert(name.trim().to_owned(), hosts);
        }
        let mut policy = OutboundPolicy {
            allow_private_hosts: allow,
            secret_hosts: tied,
            ..OutboundPolicy::default()
        };
        for (slot, given) in [
            (&mut policy.discord_base_url, discord_base_url),
            (&mut policy.youtube_base_url, youtube_base_url),
        ] {
            if let Some(url) = given.map(str::trim).filter(|u| !u.is_empty()) {
                if host_of(url).is_none()
                    || !(url.starts_with("https://") || url.starts_with("http://"))
                {
                    return Err(DomainError::InvalidInput(format!(
                        "a provider base URL must be an http(s) URL: {url}"
                    )));
                }
                *slot = url.trim_end_matches('/').to_owned();
            }
        }
        Ok(policy)
    }

    /// May the secret `name` be sent to `url`? The provider presets' own
    /// secrets go only to their configured base URL's host and port; every
    /// other secret only to the hosts the operator listed for it (`host`: any
    /// port; `host:port`: that port).
    pub fn secret_may_go(&self, name: &str, url: &reqwest::Url) -> bool {
        let Some(host) = url_host(url) else {
            return false;
        };
        let port = url.port_or_known_default();
        let authority = |h: &str, p: Option<u16>| match p {
            Some(p) => format!("{h}:{p}"),
            None => h.to_owned(),
        };
        if let Some(hosts) = self.secret_hosts.get(name) {
            return hosts.contains(&host) || hosts.contains(&authority(&host, port));
        }
        let preset = match name {
            DISCORD_TOKEN => reqwest::Url::parse(&self.discord_base_url).ok(),
            YOUTUBE_KEY => reqwest::Url::parse(&self.youtube_base_url).ok(),
            _ => None,
        };
        preset.is_some_and(|base| {
            url_host(&base).as_deref() == Some(host.as_str())
                && base.port_or_known_default() == port
        })
    }

    /// Checks a URL before it is requested: scheme, and an IP-literal host
    /// against the address rules (names are checked by the resolver).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), &'static str> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the validator URL must be http or https");
        }
        let Some(host) = url_host(url) else {
            return Err("the validator URL has no host");
        };
        if self.allow_private_hosts.contains(&host) {
            return Ok(());
        }
        match host.parse::<IpAddr>() {
            Ok(ip) if !is_public(ip) => {
                Err("the validator URL points to a private or local address")
            }
            _ => Ok(()),
        }
    }

    /// The resolver the validators' HTTP client uses.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver {
            allow: Arc::new(self.allow_private_hosts.clone()),
        })
    }
}

/// True for addresses on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            is_public_v6(v6)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT
        || (a == 192 && b == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || (first & 0xffc0) == 0xfec0 // site local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 maps to IPv4 (checked as private)
}

/// Resolves a name and keeps only the addresses the rules allow; the client
/// connects to exactly these.
#[derive(Debug)]
pub struct GuardedResolver {
    allow: Arc<BTreeSet<String>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_ascii_lowercase();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed = allow.contains(&host);
            let addrs: Vec<SocketAddr> = found.filter(|a| allowed || is_public(a.ip())).collect();
            if addrs.is_empty() {
                return Err(Box::new(Blocked) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A name resolved only to addresses the validators may not reach.
#[derive(Debug)]
pub struct Blocked;

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host resolves only to private or local addresses")
    }
}

impl std::error::Error for Blocked {}

/// Resolves a URL's host the way the client will, to tell a blocked host
/// (a person must look) from an unreachable one (retry).
pub async fn blocked_host(policy: &OutboundPolicy, url: &reqwest::Url) -> Option<&'static str> {
    if let Err(why) = policy.check_url(url) {
        return Some(why);
    }
    let host = url_host(url)?;
    if policy.allow_private_hosts.contains(&host) || host.parse::<IpAddr>().is_ok() {
        return None;
    }
    let found: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
        Ok(addrs) => addrs.collect(),
        Err(_) => return None,
    };
    (!found.is_empty() && found.iter().all(|a| !is_public(a.ip())))
        .then_some("the validator URL's host resolves to a private or local address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn urls_to_private_addresses_need_the_allowlist() {
        let strict = OutboundPolicy::default();
        for url in [
            "http://127.0.0.1:9/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/x",
            "http://[::ffff:7f00:1]/x",
            "file:///etc/passwd",
        ] {
            let u = reqwest::Url::parse(url).expect("url");
            assert!(strict.check_url(&u).is_err(), "{url}");
        }
        let allowed = OutboundPolicy::parse("127.0.0.1", "", None, None).expect("policy");
        let u = reqwest::Url::parse("http://127.0.0.1:9/x").expect("url");
        assert!(allowed.check_url(&u).is_ok());
    }

    #[test]
    fn secrets_go_only_to_their_hosts() {
        let p = OutboundPolicy::parse("", "GAME_KEY=api.game.test|127.0.0.1", None, None)
            .expect("policy");
        let u = |s: &str| reqwest::Url::parse(s).expect("url");
        assert!(p.secret_may_go("GAME_KEY", &u("https://api.game.test/x")));
        assert!(p.secret_may_go("GAME_KEY", &u("http://127.0.0.1:8080/x")));
        assert!(!p.secret_may_go("GAME_KEY", &u("https://evil.test/x")));
        assert!(p.secret_may_go(DISCORD_TOKEN, &u("https://discord.com/api/v10/guilds")));
        assert!(!p.secret_may_go(DISCORD_TOKEN, &u("https://discord.com:8443/api")));
        assert!(!p.secret_may_go(DISCORD_TOKEN, &u("https://evil.test/x")));
        assert!(!p.secret_may_go("UNLISTED", &u("https://discord.com/x")));
        let ported = OutboundPolicy::parse("", "K=127.0.0.1:7000", None, None).expect("policy");
        assert!(ported.secret_may_go("K", &u("http://127.0.0.1:7000/x")));
        assert!(!ported.secret_may_go("K", &u("http://127.0.0.1:7001/x")));
        assert!(OutboundPolicy::parse("", "nonsense", None, None).is_err());
    }
}
