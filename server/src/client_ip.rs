//! Which address a request comes from. Behind a reverse proxy (Cloudflare, a
//! load balancer) the peer is the proxy; its forwarding headers are believed
//! only when the peer is one of `PAYQUEST_TRUSTED_PROXIES`, so a client can't
//! choose its own address by sending `X-Forwarded-For`. The result is put on
//! the request as `ClientIp`, which the throttles and the audit log read.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use payquest_app::server::ClientIp;

#[derive(Debug, Clone)]
pub struct ProxyRules {
    trusted: Vec<IpNet>,
    header: Option<String>,
}

impl ProxyRules {
    /// `ip,cidr,…` and an optional header naming the client (e.g. `cf-connecting-ip`).
    pub fn parse(trusted: &str, header: Option<&str>) -> Result<ProxyRules, String> {
        let trusted = trusted
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<IpNet>()
                    .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("PAYQUEST_TRUSTED_PROXIES: {t} is not an address or CIDR"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProxyRules {
            trusted,
            header: header
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty()),
        })
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer` with these headers.
    pub fn client(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        if let Some(name) = &self.header {
            if let Some(ip) = headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
            {
                return ip;
            }
        }
        // Nearest hop first: the first address no trusted proxy added.
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|h| h.trim().parse::<IpAddr>().ok())
            .collect();
        hops.into_iter()
            .rev()
            .find(|ip| !self.is_trusted(*ip))
            .unwrap_or(peer)
    }
}

pub async fn resolve(
    State(rules): State<Arc<ProxyRules>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip());
    if let Some(peer) = peer {
        let ip = rules.client(peer, req.headers());
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("value"));
        }
        h
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let rules = ProxyRules::parse("10.0.0.0/8, 127.0.0.1", None).expect("rules");
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4")]);
        let stranger: IpAddr = "203.0.113.5".parse().expect("ip");
        assert_eq!(rules.client(stranger, &spoofed), stranger);
        let proxy: IpAddr = "10.1.1.1".parse().expect("ip");
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.9, 10.2.2.2")]);
        assert_eq!(
            rules.client(proxy, &chain),
            "198.51.100.9".parse::<IpAddr>().expect("ip"),
            "the nearest untrusted hop, not the leftmost (client-chosen) one"
        );
        let cf = ProxyRules::parse("127.0.0.1", Some("CF-Connecting-IP")).expect("rules");
        let h = headers(&[("cf-connecting-ip", "192.0.2.77")]);
        assert_eq!(
            cf.client("127.0.0.1".parse().expect("ip"), &h),
            "192.0.2.77".parse::<IpAddr>().expect("ip")
        );
        assert!(ProxyRules::parse("not-an-ip", None).is_err());
    }
}
