//! `/contracts`: contracts on records, sent for signature through a one-time public link
//! (spec §7), and the public signing endpoints under `/public/contracts/:token`.
//!
//! Life: `draft` (editable) → `send` issues a signing link and makes it `sent` (sending again
//! issues a new link and kills the old one) → the signer posts their name to the link and it
//! is `signed` (the link dies). A draft or sent contract can be voided; a signed one is final.
//! The link's token is stored only as its SHA-256, and expires after 30 days.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use laneway_core::events::{self, NewEvent};
use laneway_core::ids::new_id;
use laneway_core::model::{Contract, ContractStatus};
use laneway_core::time::{now, serde_ts, Timestamp};
use laneway_store::repo::contracts::{self, ContractQuery, Link};
use laneway_store::repo::{events as event_repo, records};
use laneway_store::{Session, StoreError};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::openapi::PageQuery;
use super::records::not_found_as;
use super::{
    bounded_text, check_if_match, deleted, ok, path_uuid, required_text, to_value, with_etag,
    Deleted, Envelope, PageEnvelope,
};
use crate::auth::{hash_token, Reader, Writer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{nullable, Json, Params, PathId};
use crate::state::AppState;

const MAX_TITLE: usize = 1000;
const MAX_BODY: usize = 200_000;
const MAX_SIGNER: usize = 200;
const TOKEN_PREFIX: &str = "lwsign_";
/// How long a signing link stays valid.
const LINK_DAYS: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contracts", get(list_contracts).post(create_contract))
        .route(
            "/contracts/{id}",
            get(get_contract)
                .patch(update_contract)
                .delete(delete_contract),
        )
        .route("/contracts/{id}/send", post(send_contract))
        .route("/public/contracts/{token}", get(public_contract))
        .route("/public/contracts/{token}/sign", post(sign_contract))
}

/// `POST /contracts`: a draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ContractIn {
    /// The record the contract is with (a live record of the workspace; UUID).
    record_id: Uuid,
    /// 1-1000 characters once surrounding whitespace is trimmed (it is stored trimmed).
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,998}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    title: String,
    /// The contract text, at most 200000 characters; default empty.
    #[serde(default)]
    #[schema(max_length = 200000)]
    body: Option<String>,
}

/// `PATCH /contracts/:id`: `title` and `body` while a draft; `status: "void"` voids a draft or
/// sent contract (its signing link stops working).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ContractPatch {
    /// 1-1000 characters once surrounding whitespace is trimmed; not `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, min_length = 1, pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,998}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    title: Option<Option<String>>,
    /// At most 200000 characters; not `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, max_length = 200000)]
    body: Option<Option<String>>,
    /// Only `void`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, pattern = "^void$")]
    status: Option<Option<String>>,
}

/// `POST /public/contracts/:token/sign`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignIn {
    /// The signer's full name, 1-200 characters once surrounding whitespace is trimmed (it is
    /// stored trimmed).
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,198}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    signer_name: String,
}

/// The answer to `send`: the contract and its new signing link, shown this once.
#[derive(Serialize, ToSchema)]
struct Sent {
    #[serde(flatten)]
    contract: Contract,
    /// Open (GET) to read the contract; POST `{signer_name}` to `<signing_url>/sign` to sign.
    signing_url: String,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    signing_expires_at: Timestamp,
}

/// What the holder of a signing link sees.
#[derive(Serialize, ToSchema)]
struct PublicContract {
    id: Uuid,
    title: String,
    body: String,
    status: ContractStatus,
    signer_name: Option<String>,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    signed_at: Option<Timestamp>,
}

impl From<&Contract> for PublicContract {
    fn from(c: &Contract) -> Self {
        PublicContract {
            id: c.id,
            title: c.title.clone(),
            body: c.body.clone(),
            status: c.status,
            signer_name: c.signer_name.clone(),
            signed_at: c.signed_at,
        }
    }
}

fn conflict(c: &Contract, what: &str) -> ApiError {
    ApiError::conflict(format!(
        "Contract '{}' is {}: {what}",
        c.id,
        c.status.as_str()
    ))
}

/// Where signing links point: `--public-url` when set, else the host the caller used, with
/// the scheme a trusted proxy reports (`auth::client_proto`).
fn base_url(state: &AppState, headers: &HeaderMap, proto: &str) -> String {
    if let Some(u) = &state.config.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    format!("{proto}://{host}")
}

fn new_token() -> String {
    let body: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(43)
        .map(char::from)
        .collect();
    format!("{TOKEN_PREFIX}{body}")
}

/// List contracts
#[utoipa::path(
    get,
    path = "/contracts",
    tag = "contracts",
    security(("bearer" = ["read"])),
    params(
        PageQuery,
        ("record_id" = Option<String>, Query, description = "Only contracts on this record (UUID)"),
        ("status" = Option<ContractStatus>, Query, description = "draft, sent, signed or void"),
    ),
    responses((status = 200, description = "The contracts, newest first", body = PageEnvelope<Contract>))
)]
async fn list_contracts(
    State(state): State<AppState>,
    auth: Reader,
    q: Params,
) -> ApiResult<Response> {
    let status = match q.string("status") {
        None => None,
        Some(s) => Some(ContractStatus::parse(&s).ok_or_else(|| {
            ApiError::invalid(
                "status",
                format!("'status' must be one of draft, sent, signed, void; got '{s}'"),
            )
        })?),
    };
    let f = ContractQuery {
        record_id: q.uuid("record_id")?,
        status,
    };
    let reg = contracts::registry();
    let ctx = super::listing::ctx(&state, &auth);
    let req = super::listing::ListRequest::parse(
        &q,
        "/api/v1/contracts",
        &reg,
        &ctx,
        "-created_at",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    let page = contracts::list(&mut s, auth.ws(), &f, &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}

/// Get a contract
#[utoipa::path(
    get,
    path = "/contracts/{id}",
    tag = "contracts",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Contract id (UUID)")),
    responses((status = 200, description = "The contract", body = Envelope<Contract>))
)]
async fn get_contract(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Contract")?;
    let mut s = state.db.read().await?;
    let c = contracts::get(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Contract", id))?;
    Ok(with_etag(&c, StatusCode::OK))
}

/// Create a contract
///
/// A draft on a record. Fires `contract.created`.
#[utoipa::path(
    post,
    path = "/contracts",
    tag = "contracts",
    security(("bearer" = ["write"])),
    request_body = ContractIn,
    responses((status = 201, description = "The new draft", body = Envelope<Contract>))
)]
async fn create_contract(
    State(state): State<AppState>,
    auth: Writer,
    Json(body): Json<ContractIn>,
) -> ApiResult<Response> {
    let ws = auth.ws().to_string();
    let title = required_text("title", &body.title, MAX_TITLE)?;
    let text = bounded_text("body", body.body.unwrap_or_default(), MAX_BODY)?;
    let mut s = state.db.write().await?;
    match records::get_for_update(&mut s, &ws, body.record_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            return Err(ApiError::invalid(
                "record_id",
                format!("'record_id': record '{}' not found", body.record_id),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let at = now();
    let c = Contract {
        id: new_id(),
        record_id: body.record_id,
        title,
        body: text,
        status: ContractStatus::Draft,
        signer_name: None,
        signed_at: None,
        sent_at: None,
        created_at: at,
        updated_at: at,
        deleted_at: None,
    };
    contracts::insert(&mut s, &ws, &c).await?;
    let ev = NewEvent::new(
        events::CONTRACT_CREATED,
        "contract",
        c.id.to_string(),
        to_value(&c),
    );
    event_repo::insert(&mut s, &ws, vec![ev], at).await?;
    s.commit().await?;
    Ok(with_etag(&c, StatusCode::CREATED))
}

/// Update a contract
///
/// `title` and `body` change only while it is a draft; `status: "void"` voids a draft or sent
/// contract. Either is `409` otherwise.
#[utoipa::path(
    patch,
    path = "/contracts/{id}",
    tag = "contracts",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Contract id (UUID)")),
    request_body = ContractPatch,
    responses((status = 200, description = "The contract after the change", body = Envelope<Contract>))
)]
async fn update_contract(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<ContractPatch>,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Contract")?;
    let ws = auth.ws().to_string();
    let void = match body.status {
        None => false,
        Some(Some(s)) if s == "void" => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "status",
                format!(
                    "'status' can only be set to 'void' (send with POST /contracts/:id/send; the signer signs); got {}",
                    other.map_or("null".to_string(), |s| format!("'{s}'"))
                ),
            ))
        }
    };
    let title = match body.title {
        Some(Some(t)) => Some(required_text("title", &t, MAX_TITLE)?),
        Some(None) => return Err(ApiError::invalid("title", "'title' cannot be null")),
        None => None,
    };
    let text = match body.body {
        Some(Some(b)) => Some(bounded_text("body", b, MAX_BODY)?),
        Some(None) => return Err(ApiError::invalid("body", "'body' cannot be null")),
        None => None,
    };
    let mut s = state.db.write().await?;
    let old = contracts::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Contract", id))?;
    check_if_match(&headers, &old)?;
    let mut new = old.clone();
    if title.is_some() || text.is_some() {
        if old.status != ContractStatus::Draft {
            return Err(conflict(&old, "only a draft can be edited"));
        }
        new.title = title.unwrap_or(new.title);
        new.body = text.unwrap_or(new.body);
    }
    let mut link = Link::Keep;
    if void && old.status != ContractStatus::Void {
        if old.status == ContractStatus::Signed {
            return Err(conflict(&old, "a signed contract cannot be voided"));
        }
        new.status = ContractStatus::Void;
        link = Link::Clear;
    }
    if new.title != old.title || new.body != old.body || new.status != old.status {
        new.updated_at = now();
        contracts::update(&mut s, &ws, &new, link).await?;
        s.commit().await?;
    }
    Ok(with_etag(&new, StatusCode::OK))
}

/// Delete a contract
///
/// Drafts and void contracts only: void a sent one first; a signed one is kept.
#[utoipa::path(
    delete,
    path = "/contracts/{id}",
    tag = "contracts",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Contract id (UUID)")),
    responses((status = 200, description = "Deleted", body = Envelope<Deleted<String>>))
)]
async fn delete_contract(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Contract")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    let old = contracts::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Contract", id))?;
    check_if_match(&headers, &old)?;
    match old.status {
        ContractStatus::Sent => return Err(conflict(&old, "void it before deleting it")),
        ContractStatus::Signed => return Err(conflict(&old, "a signed contract is kept")),
        ContractStatus::Draft | ContractStatus::Void => {}
    }
    let at = now();
    let mut gone = old;
    gone.deleted_at = Some(at);
    gone.updated_at = at;
    contracts::update(&mut s, &ws, &gone, Link::Clear).await?;
    s.commit().await?;
    Ok(deleted(id))
}

/// Send a contract for signature
///
/// Issues a one-time signing link (valid 30 days) and returns it this once; the contract
/// becomes `sent`. Sending again issues a new link and the old one stops working.
#[utoipa::path(
    post,
    path = "/contracts/{id}/send",
    tag = "contracts",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Contract id (UUID)")),
    responses((status = 200, description = "The contract with its signing link", body = Envelope<Sent>))
)]
async fn send_contract(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    origin: crate::auth::Origin,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Contract")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    let old = contracts::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Contract", id))?;
    check_if_match(&headers, &old)?;
    if matches!(old.status, ContractStatus::Signed | ContractStatus::Void) {
        return Err(conflict(&old, "only a draft or sent contract can be sent"));
    }
    let at = now();
    let token = new_token();
    let expires_at = at + time::Duration::days(LINK_DAYS);
    let mut new = old;
    new.status = ContractStatus::Sent;
    new.sent_at = Some(at);
    new.updated_at = at;
    let link = Link::Set {
        hash: hash_token(&token),
        expires_at,
    };
    contracts::update(&mut s, &ws, &new, link).await?;
    s.commit().await?;
    let signing_url = format!(
        "{}/api/v1/public/contracts/{token}",
        base_url(&state, &headers, origin.proto)
    );
    Ok(ok(Sent {
        contract: new,
        signing_url,
        signing_expires_at: expires_at,
    }))
}

/// The contract behind a live signing link, or 404.
async fn by_link(s: &mut Session, token: &str, lock: bool) -> ApiResult<contracts::Signable> {
    let gone = || ApiError::not_found("This signing link does not exist, was used, or expired");
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
        return Err(gone());
    }
    let found = contracts::by_token(s, &hash_token(token), lock)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => gone(),
            e => e.into(),
        })?;
    if found.contract.status != ContractStatus::Sent || found.expires_at.is_none_or(|t| t <= now())
    {
        return Err(gone());
    }
    Ok(found)
}

/// Read a contract to sign
///
/// Public (no API key): the holder of a signing link reads the contract.
#[utoipa::path(
    get,
    path = "/public/contracts/{token}",
    tag = "contracts",
    params(("token" = String, Path, description = "The token of the signing link")),
    responses((status = 200, description = "The contract", body = Envelope<PublicContract>))
)]
async fn public_contract(
    State(state): State<AppState>,
    PathId(token): PathId,
) -> ApiResult<Response> {
    let mut s = state.db.read().await?;
    let found = by_link(&mut s, &token, false).await?;
    Ok(ok(PublicContract::from(&found.contract)))
}

/// Sign a contract
///
/// Public (no API key): the holder of a signing link signs with their name. The link then
/// stops working. Fires `contract.signed`.
#[utoipa::path(
    post,
    path = "/public/contracts/{token}/sign",
    tag = "contracts",
    params(("token" = String, Path, description = "The token of the signing link")),
    request_body = SignIn,
    responses((status = 200, description = "The signed contract", body = Envelope<PublicContract>))
)]
async fn sign_contract(
    State(state): State<AppState>,
    PathId(token): PathId,
    Json(body): Json<SignIn>,
) -> ApiResult<Response> {
    let name = body.signer_name.trim().to_string();
    if name.is_empty() {
        return Err(ApiError::invalid(
            "signer_name",
            "'signer_name' must not be empty",
        ));
    }
    if name.chars().count() > MAX_SIGNER {
        return Err(ApiError::invalid(
            "signer_name",
            format!("'signer_name' is longer than {MAX_SIGNER} characters"),
        ));
    }
    let mut s = state.db.write().await?;
    let found = by_link(&mut s, &token, true).await?;
    let ws = found.workspace_id;
    let at = now();
    let mut c = found.contract;
    c.status = ContractStatus::Signed;
    c.signer_name = Some(name);
    c.signed_at = Some(at);
    c.updated_at = at;
    contracts::update(&mut s, &ws, &c, Link::Clear).await?;
    let ev = NewEvent::new(
        events::CONTRACT_SIGNED,
        "contract",
        c.id.to_string(),
        to_value(&c),
    );
    event_repo::insert(&mut s, &ws, vec![ev], at).await?;
    s.commit().await?;
    Ok(ok(PublicContract::from(&c)))
}
