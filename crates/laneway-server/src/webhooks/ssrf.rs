//! Which addresses a webhook may reach (spec webhooks.md: no SSRF through webhook URLs).
//!
//! Checked twice: when a webhook is registered or changed (the URL, and what its host resolves
//! to now), and at every delivery against the addresses the connection will actually use —
//! the resolver below hands the HTTP client only allowed addresses, so a name that resolves to
//! a public address at registration and to `127.0.0.1` later (DNS rebinding) is refused, and
//! the client never resolves again behind our back. Redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why an address may not be a webhook target, or `None` if it may.
pub fn forbidden_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let seg = v6.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address.
            if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
                let v4 = Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                );
                return forbidden_v4(v4);
            }
            forbidden_v6(v6)
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if o == [169, 254, 169, 254] || o == [100, 100, 100, 200] {
        Some("a cloud metadata address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_private() {
        Some("a private address")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("an unspecified address")
    } else if ip.is_broadcast() || ip.is_multicast() || o[0] >= 240 {
        Some("a broadcast, multicast or reserved address")
    } else if ip.is_documentation() || (o[0] == 198 && (o[1] & 0xfe) == 18) || o[..3] == [192, 0, 0]
    {
        Some("a reserved address")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s0 = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] {
        Some("a cloud metadata address")
    } else if (s0 & 0xfe00) == 0xfc00 {
        Some("a private (unique local) address")
    } else if (s0 & 0xffc0) == 0xfe80 || (s0 & 0xffc0) == 0xfec0 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if s0 == 0x2001 && ip.segments()[1] == 0xdb8 {
        Some("a reserved address")
    } else if ip.segments()[..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated) addresses.
        Some("a reserved address")
    } else {
        None
    }
}

/// Host names refused before any lookup.
fn forbidden_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h == "metadata.google.internal"
        || h.ends_with(".internal") && h.starts_with("metadata")
}

/// A webhook URL that failed the rules, with the message for the 400.
#[derive(Debug)]
pub struct UrlProblem(pub String);

/// Checks a URL as registered: absolute, `https` (or `http` with private targets allowed), at
/// most 2048 characters, no credentials, and a host that neither is nor resolves to a
/// forbidden address (skipped with private targets allowed).
pub async fn check_url(raw: &str, allow_private: bool) -> Result<reqwest::Url, UrlProblem> {
    if raw.chars().count() > 2048 {
        return Err(UrlProblem("'url' must be at most 2048 characters".into()));
    }
    let url = reqwest::Url::parse(raw)
        .map_err(|e| UrlProblem(format!("'url' is not an absolute URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            return Err(UrlProblem(
                "'url' must use https:// (plain http:// is allowed only when the server runs with --allow-private-webhook-targets)".into(),
            ))
        }
        other => {
            return Err(UrlProblem(format!(
                "'url' must be an https:// URL, not {other}:"
            )))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem(
            "'url' must not carry credentials (user:password@); put a token in the path or query instead".into(),
        ));
    }
    let Some(host) = url.host() else {
        return Err(UrlProblem("'url' has no host".into()));
    };
    if allow_private {
        return Ok(url);
    }
    match host {
        url::Host::Ipv4(ip) => refuse_ip(IpAddr::V4(ip))?,
        url::Host::Ipv6(ip) => refuse_ip(IpAddr::V6(ip))?,
        url::Host::Domain(name) => {
            if forbidden_name(name) {
                return Err(UrlProblem(format!(
                    "'url' host '{name}' is a local name; webhooks must target public addresses"
                )));
            }
            let port = url.port_or_known_default().unwrap_or(443);
            let lookup = tokio::time::timeout(
                Duration::from_secs(5),
                tokio::net::lookup_host((name.to_string(), port)),
            )
            .await;
            let addrs: Vec<SocketAddr> = match lookup {
                Ok(Ok(a)) => a.collect(),
                Ok(Err(e)) => {
                    return Err(UrlProblem(format!(
                        "'url' host '{name}' does not resolve: {e}"
                    )))
                }
                Err(_) => {
                    return Err(UrlProblem(format!(
                        "'url' host '{name}' did not resolve within 5 s"
                    )))
                }
            };
            for a in &addrs {
                if let Some(why) = forbidden_ip(a.ip()) {
                    return Err(UrlProblem(format!(
                        "'url' host '{name}' resolves to {} ({why}); webhooks must target public addresses",
                        a.ip()
                    )));
                }
            }
        }
    }
    Ok(url)
}

fn refuse_ip(ip: IpAddr) -> Result<(), UrlProblem> {
    match forbidden_ip(ip) {
        Some(why) => Err(UrlProblem(format!(
            "'url' points at {ip}, {why}; webhooks must target public addresses (or run the server with --allow-private-webhook-targets)"
        ))),
        None => Ok(()),
    }
}

/// The HTTP client's resolver: resolves with the system resolver and keeps only allowed
/// addresses, failing when none is left. The client connects to exactly these addresses.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            if !allow && forbidden_name(&host) {
                return Err(refused(format!("host '{host}' is a local name")));
            }
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.clone(), 0)).await?.collect();
            let total = addrs.len();
            let ok: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| allow || forbidden_ip(a.ip()).is_none())
                .collect();
            if ok.is_empty() {
                return Err(refused(if total == 0 {
                    format!("host '{host}' has no address")
                } else {
                    format!("host '{host}' resolves only to private or reserved addresses")
                }));
            }
            Ok(Box::new(ok.into_iter()) as Addrs)
        })
    }
}

fn refused(msg: String) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        msg,
    ))
}

/// The resolver as the client builder takes it.
pub fn resolver(allow_private: bool) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { allow_private })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(forbidden_ip(ip).is_some(), "{bad} must be refused");
        }
        for good in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "8.8.8.8"] {
            let ip: IpAddr = good.parse().unwrap();
            assert_eq!(forbidden_ip(ip), None, "{good} must be allowed");
        }
    }

    #[tokio::test]
    async fn urls() {
        for (url, needle) in [
            ("http://93.184.216.34/x", "https"),
            ("https://127.0.0.1/x", "loopback"),
            ("https://[::1]/x", "loopback"),
            ("https://169.254.169.254/latest", "metadata"),
            ("https://10.0.0.5/", "private"),
            ("https://localhost/", "local name"),
            ("https://a.localhost/", "local name"),
            ("ftp://example.com/", "https"),
            ("not a url", "absolute"),
            ("https://u:p@93.184.216.34/", "credentials"),
        ] {
            let e = check_url(url, false).await.unwrap_err();
            assert!(e.0.contains(needle), "{url}: {}", e.0);
        }
        assert!(check_url("https://93.184.216.34/hook", false).await.is_ok());
        assert!(check_url("http://127.0.0.1:9/x", true).await.is_ok());
        let long = format!("https://93.184.216.34/{}", "a".repeat(2048));
        assert!(check_url(&long, false).await.is_err());
    }

    #[tokio::test]
    async fn resolver_refuses_private_answers() {
        let r = GuardedResolver {
            allow_private: false,
        };
        let name: Name = "localhost".parse().unwrap();
        assert!(r.resolve(name).await.is_err());
        let r = GuardedResolver {
            allow_private: true,
        };
        let name: Name = "localhost".parse().unwrap();
        let addrs: Vec<SocketAddr> = r.resolve(name).await.unwrap().collect();
        assert!(!addrs.is_empty());
    }
}
