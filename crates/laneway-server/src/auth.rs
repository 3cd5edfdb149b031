//! API keys: generation, hashing, and the extractors that authenticate a request and enforce
//! its scope.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use laneway_core::model::Scope;
use laneway_core::time::{now, Timestamp};
use laneway_store::repo::keys::{self, KeyAuth};
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

pub const TOKEN_PREFIX: &str = "lw_live_";
/// Characters of the token kept (in clear) to let people recognise a key in a list.
const SHOWN_PREFIX_LEN: usize = TOKEN_PREFIX.len() + 4;

/// A new random token: `lw_live_` + 40 alphanumerics (~238 bits).
pub fn generate_token() -> String {
    let body: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("{TOKEN_PREFIX}{body}")
}

/// Hex SHA-256 of a token: what the database stores and looks keys up by.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn shown_prefix(token: &str) -> String {
    token.chars().take(SHOWN_PREFIX_LEN).collect()
}

/// The authenticated caller: its key, workspace, member and scope.
#[derive(Debug, Clone)]
pub struct Auth {
    pub key_id: String,
    pub workspace_id: String,
    pub member_id: Uuid,
    pub scope: Scope,
    /// The workspace's time zone: what `today`, `sow` and `som` mean in filters.
    pub zone: laneway_core::time::Zone,
}

impl Auth {
    pub fn ws(&self) -> &str {
        &self.workspace_id
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("Missing API key: send 'Authorization: Bearer lw_live_...'")
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("Malformed Authorization header"))?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(|| {
        ApiError::unauthorized("Malformed Authorization header: expected 'Bearer <key>'")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized(
            "Malformed Authorization header: expected 'Bearer <key>'",
        ));
    }
    let token = token.trim();
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
        return Err(ApiError::unauthorized("Invalid API key"));
    }
    Ok(token)
}

/// Looks a token up by its hash and checks it in constant time.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Auth, ApiError> {
    let hash = hash_token(token);
    let mut s = state.db.read().await?;
    let found: Option<KeyAuth> = keys::find_by_hash(&mut s, &hash).await?;
    drop(s);
    let key = found
        .filter(|k| bool::from(k.token_hash.as_bytes().ct_eq(hash.as_bytes())))
        .ok_or_else(|| ApiError::unauthorized("Invalid or revoked API key"))?;
    touch_last_used(state, &key, now());
    Ok(Auth {
        key_id: key.key_id,
        workspace_id: key.workspace_id,
        member_id: key.member_id,
        scope: key.scope,
        zone: laneway_core::time::Zone::named(&key.time_zone)
            .unwrap_or_else(laneway_core::time::Zone::utc),
    })
}

/// Records `last_used_at` at most once a minute per key, off the request path.
fn touch_last_used(state: &AppState, key: &KeyAuth, at: Timestamp) {
    let stale = key
        .last_used_at
        .is_none_or(|t| (at - t) > time::Duration::minutes(1));
    if !stale {
        return;
    }
    let db = state.db.clone();
    let id = key.key_id.clone();
    tokio::spawn(async move {
        let result = async {
            let mut s = db.write().await?;
            keys::touch(&mut s, &id, at).await?;
            s.commit().await
        }
        .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "could not record key use");
        }
    });
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let token = bearer(parts)?;
        let auth = authenticate(state, token).await?;
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// A scope a route requires, as a type.
pub trait RequiredScope: Send + Sync {
    const SCOPE: Scope;
}

pub struct ReadScope;
pub struct WriteScope;
pub struct AdminScope;

impl RequiredScope for ReadScope {
    const SCOPE: Scope = Scope::Read;
}
impl RequiredScope for WriteScope {
    const SCOPE: Scope = Scope::Write;
}
impl RequiredScope for AdminScope {
    const SCOPE: Scope = Scope::Admin;
}

/// An authenticated caller whose key has at least scope `S` (403 otherwise).
pub struct Scoped<S: RequiredScope>(pub Auth, PhantomData<S>);

pub type Reader = Scoped<ReadScope>;
pub type Writer = Scoped<WriteScope>;
pub type Admin = Scoped<AdminScope>;

impl<S: RequiredScope> std::ops::Deref for Scoped<S> {
    type Target = Auth;
    fn deref(&self) -> &Auth {
        &self.0
    }
}

impl<S: RequiredScope> FromRequestParts<AppState> for Scoped<S> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_request_parts(parts, state).await?;
        if auth.scope < S::SCOPE {
            return Err(ApiError::forbidden(format!(
                "This API key has scope '{}'; this operation needs '{}'",
                auth.scope.as_str(),
                S::SCOPE.as_str()
            )));
        }
        Ok(Scoped(auth, PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hash_stably() {
        let a = generate_token();
        let b = generate_token();
        assert!(a.starts_with("lw_live_") && a.len() == 48);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_eq!(hash_token(&a).len(), 64);
        assert_eq!(shown_prefix(&a).len(), 12);
    }
}

/// The TCP peer of a request, when the server was started with connect info.
pub fn peer_ip(parts: &axum::http::request::Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The scheme the client used: `https` when a trusted proxy (`--trusted-proxies`) says so in
/// `X-Forwarded-Proto`, else `http`. From any other peer the header is not believed.
pub fn client_proto(
    config: &crate::config::ServerConfig,
    peer: Option<std::net::IpAddr>,
    headers: &axum::http::HeaderMap,
) -> &'static str {
    let trusted = peer.is_some_and(|p| config.is_trusted_proxy(p));
    let said = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .map(|p| p.split(',').next().unwrap_or("").trim());
    match said {
        Some(p) if trusted && p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    }
}

/// What a request says about where it came from, read through [`peer_ip`], [`client_ip`]
/// and [`client_proto`].
pub struct Origin {
    pub ip: Option<std::net::IpAddr>,
    pub proto: &'static str,
}

impl axum::extract::FromRequestParts<crate::state::AppState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = peer_ip(parts);
        Ok(Origin {
            ip: client_ip(&state.config, peer, &parts.headers),
            proto: client_proto(&state.config, peer, &parts.headers),
        })
    }
}

/// The client's address for per-address limits: the peer, unless the peer is one of
/// `--trusted-proxies`; then the nearest `X-Forwarded-For` hop that is not itself a trusted
/// proxy, read from the right (the left part of the header is whatever the client sent). A
/// header that is missing or does not parse leaves the peer.
pub fn client_ip(
    config: &crate::config::ServerConfig,
    peer: Option<std::net::IpAddr>,
    headers: &axum::http::HeaderMap,
) -> Option<std::net::IpAddr> {
    let peer_ip = peer?;
    if !config.is_trusted_proxy(peer_ip) {
        return Some(peer_ip);
    }
    let mut hops: Vec<std::net::IpAddr> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(v) = v.to_str() else {
            return Some(peer_ip);
        };
        for hop in v.split(',') {
            match hop.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => hops.push(ip),
                Err(_) => return Some(peer_ip),
            }
        }
    }
    let mut client = peer_ip;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !config.is_trusted_proxy(hop) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod client_ip_tests {
    use super::client_ip;
    use axum::http::HeaderMap;

    fn cfg(proxies: &str) -> crate::config::ServerConfig {
        let mut c = crate::config::ServerConfig::new("sqlite://x");
        c.trusted_proxies = crate::config::parse_trusted_proxies(proxies).unwrap();
        c
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let ip = |s: &str| Some(s.parse().unwrap());
        // By default no peer is trusted, not even a loopback or private one.
        assert_eq!(
            client_ip(&cfg(""), ip("127.0.0.1"), &xff("203.0.113.7")),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_ip(&cfg(""), ip("10.1.2.3"), &xff("203.0.113.7")),
            ip("10.1.2.3")
        );
        let c = cfg("10.0.0.0/8, 127.0.0.1");
        assert_eq!(
            client_ip(&c, ip("10.1.2.3"), &xff("203.0.113.7")),
            ip("203.0.113.7")
        );
        // A client that sends its own header cannot pick its address: the nearest untrusted
        // hop from the right wins.
        assert_eq!(
            client_ip(&c, ip("127.0.0.1"), &xff("1.1.1.1, 198.51.100.9, 10.0.0.5")),
            ip("198.51.100.9")
        );
        // Not trusted: the header is ignored.
        assert_eq!(
            client_ip(&c, ip("192.168.1.1"), &xff("203.0.113.7")),
            ip("192.168.1.1")
        );
        // Garbage or no header: the peer.
        assert_eq!(
            client_ip(&c, ip("10.1.2.3"), &xff("not an ip")),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_ip(&c, ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
        // IPv4-mapped IPv6 peers match IPv4 networks.
        assert_eq!(
            client_ip(&c, ip("::ffff:127.0.0.1"), &xff("203.0.113.7")),
            ip("203.0.113.7")
        );
        assert!(crate::config::parse_trusted_proxies("10.0.0.0/33").is_err());
        assert!(crate::config::parse_trusted_proxies("nope").is_err());
    }
}
