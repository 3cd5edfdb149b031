//! `/keys`: API keys of the workspace (admin scope). The token is shown once, at creation.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use laneway_core::ids::new_key_id;
use laneway_core::model::{ApiKey, Scope};
use laneway_core::time::now;
use laneway_store::repo::keys::{self, NewKey};
use laneway_store::repo::members;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::openapi::PageQuery;
use super::records::not_found_as;
use super::{check_if_match, created, deleted, with_etag, Deleted, Envelope, PageEnvelope};
use crate::auth::{generate_token, hash_token, shown_prefix, Admin};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Params, PathId};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/{id}", get(get_key).delete(revoke_key))
}

/// `POST /keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct KeyIn {
    /// At most 100 characters once surrounding whitespace is trimmed (it is stored trimmed);
    /// blank or absent: `<scope> key`.
    #[serde(default)]
    #[schema(
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,98}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*)?$"
    )]
    name: Option<String>,
    scope: Scope,
    /// The member the key acts as (a member of the workspace; UUID); default: the caller's.
    #[serde(default)]
    member_id: Option<Uuid>,
}

/// List API keys
///
/// Keys as listed never show their token or its hash.
#[utoipa::path(
    get,
    path = "/keys",
    tag = "keys",
    security(("bearer" = ["admin"])),
    params(PageQuery),
    responses((status = 200, description = "The workspace's keys", body = PageEnvelope<ApiKey>))
)]
async fn list_keys(State(state): State<AppState>, auth: Admin, q: Params) -> ApiResult<Response> {
    let reg = keys::registry();
    let ctx = super::listing::ctx(&state, &auth);
    let req = super::listing::ListRequest::parse(
        &q,
        "/api/v1/keys",
        &reg,
        &ctx,
        "-created_at",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    let page = keys::list(&mut s, auth.ws(), &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}

/// Get an API key
#[utoipa::path(
    get,
    path = "/keys/{id}",
    tag = "keys",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Key id (`key_...`)")),
    responses((status = 200, description = "The key", body = Envelope<ApiKey>))
)]
async fn get_key(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let mut s = state.db.read().await?;
    let k = keys::get(&mut s, auth.ws(), &id)
        .await
        .map_err(|e| not_found_as(e, "API key", &id))?;
    Ok(with_etag(&k, StatusCode::OK))
}

/// Creates a key for a member of this workspace.
pub async fn issue_key(
    s: &mut laneway_store::Session,
    ws: &str,
    member_id: Uuid,
    name: String,
    scope: Scope,
) -> Result<(ApiKey, String), laneway_store::StoreError> {
    let token = generate_token();
    let key = ApiKey {
        id: new_key_id(),
        name,
        scope,
        member_id,
        prefix: shown_prefix(&token),
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    keys::insert(
        s,
        NewKey {
            key: &key,
            workspace_id: ws,
            token_hash: &hash_token(&token),
        },
    )
    .await?;
    Ok((key, token))
}

/// Create an API key
///
/// The answer carries the token (`lw_live_...`): the only time it is ever shown.
#[utoipa::path(
    post,
    path = "/keys",
    tag = "keys",
    security(("bearer" = ["admin"])),
    request_body = KeyIn,
    responses((status = 201, description = "The new key and its token", body = Envelope<CreatedKey>))
)]
async fn create_key(
    State(state): State<AppState>,
    auth: Admin,
    Json(body): Json<KeyIn>,
) -> ApiResult<Response> {
    let name = body.name.map(|n| n.trim().to_string()).unwrap_or_default();
    let name = if name.is_empty() {
        format!("{} key", body.scope.as_str())
    } else {
        name
    };
    if name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "'name' must be at most 100 characters",
        ));
    }
    let member_id = body.member_id.unwrap_or(auth.member_id);
    let mut s = state.db.write().await?;
    if !members::exists(&mut s, auth.ws(), member_id).await? {
        return Err(ApiError::invalid(
            "member_id",
            format!("'member_id': member '{member_id}' not found"),
        ));
    }
    let (key, token) = issue_key(&mut s, auth.ws(), member_id, name, body.scope).await?;
    s.commit().await?;
    Ok(created(CreatedKey { key, token }))
}

/// The key as listed, plus its token — the only time the token is ever shown.
#[derive(serde::Serialize, ToSchema)]
struct CreatedKey {
    #[serde(flatten)]
    key: ApiKey,
    /// The secret bearer token, `lw_live_...`.
    token: String,
}

/// Revoke an API key
///
/// The key stops working at once.
#[utoipa::path(
    delete,
    path = "/keys/{id}",
    tag = "keys",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Key id (`key_...`)")),
    responses((status = 200, description = "Revoked", body = Envelope<Deleted<String>>))
)]
async fn revoke_key(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut s = state.db.write().await?;
    let current = keys::get(&mut s, auth.ws(), &id)
        .await
        .map_err(|e| not_found_as(e, "API key", &id))?;
    check_if_match(&headers, &current)?;
    if !keys::revoke(&mut s, Some(auth.ws()), &id, now()).await? {
        return Err(ApiError::not_found(format!("API key '{id}' not found")));
    }
    s.commit().await?;
    Ok(deleted(id))
}
