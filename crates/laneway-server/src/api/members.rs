//! `/members`: the people of a workspace (spec §3).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use laneway_core::fields::is_email;
use laneway_core::ids::new_id;
use laneway_core::model::{Member, Role};
use laneway_core::time::now;
use laneway_store::repo::{keys, members, records, tasks};
use laneway_store::{Session, StoreError, WorkspaceLock};
use serde::Deserialize;
use utoipa::ToSchema;

use super::openapi::PageQuery;
use super::records::not_found_as;
use super::{check_if_match, deleted, path_uuid, with_etag, Deleted, Envelope, PageEnvelope};
use crate::auth::{Admin, Reader};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Params, PathId};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/members", get(list_members).post(create_member))
        .route(
            "/members/{id}",
            get(get_member).patch(update_member).delete(delete_member),
        )
}

/// `POST /members`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MemberIn {
    /// 1-200 characters once surrounding whitespace is trimmed (it is stored trimmed).
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,198}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: String,
    /// Unique in the workspace, stored trimmed and lowercased: one `@` with something before
    /// it, a domain holding a dot but not starting or ending with one, no whitespace inside,
    /// and at most 254 bytes (UTF-8).
    #[schema(
        max_length = 254,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000@\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+@[^\u0000@.\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000@\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\.[^\u0000@\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000@.\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    email: String,
    /// Default: `member`.
    #[serde(default)]
    role: Option<Role>,
}

/// `PATCH /members/{id}`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MemberPatch {
    /// 1-200 characters once surrounding whitespace is trimmed.
    #[serde(default)]
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,198}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: Option<String>,
    /// As in `POST /members`.
    #[serde(default)]
    #[schema(
        max_length = 254,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000@\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+@[^\u0000@.\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000@\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\.[^\u0000@\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000@.\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    email: Option<String>,
    #[serde(default)]
    role: Option<Role>,
}

/// A member's name: trimmed, 1–200 characters.
pub fn check_name(name: &str) -> ApiResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 {
        return Err(ApiError::invalid("name", "'name' must be 1-200 characters"));
    }
    Ok(n.to_string())
}

/// Emails are compared and stored lowercased, so `Ann@x.io` and `ann@x.io` are one member.
pub fn check_email(email: &str) -> ApiResult<String> {
    let e = email.trim().to_lowercase();
    if !is_email(&e) {
        return Err(ApiError::invalid(
            "email",
            format!("'email' is not a valid email address: '{email}'"),
        ));
    }
    Ok(e)
}

fn email_taken(e: StoreError, email: &str) -> ApiError {
    match e {
        StoreError::Conflict(_) => {
            ApiError::conflict(format!("A member with email '{email}' already exists"))
        }
        other => other.into(),
    }
}

/// List members
#[utoipa::path(
    get,
    path = "/members",
    tag = "members",
    security(("bearer" = ["read"])),
    params(PageQuery),
    responses((status = 200, description = "The workspace's members", body = PageEnvelope<Member>))
)]
async fn list_members(
    State(state): State<AppState>,
    auth: Reader,
    q: Params,
) -> ApiResult<Response> {
    let reg = members::registry();
    let ctx = super::listing::ctx(&state, &auth);
    let req = super::listing::ListRequest::parse(
        &q,
        "/api/v1/members",
        &reg,
        &ctx,
        "created_at",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    let page = members::list(&mut s, auth.ws(), &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}

/// Get a member
#[utoipa::path(
    get,
    path = "/members/{id}",
    tag = "members",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Member id (UUID)")),
    responses((status = 200, description = "The member", body = Envelope<Member>))
)]
async fn get_member(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Member")?;
    let mut s = state.db.read().await?;
    let m = members::get(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Member", id))?;
    Ok(with_etag(&m, StatusCode::OK))
}

/// Create a member
#[utoipa::path(
    post,
    path = "/members",
    tag = "members",
    security(("bearer" = ["admin"])),
    request_body = MemberIn,
    responses(
        (status = 201, description = "The new member", body = Envelope<Member>),
        (status = 409, description = "A member with this email already exists", body = crate::error::ErrorBody),
    )
)]
async fn create_member(
    State(state): State<AppState>,
    auth: Admin,
    Json(body): Json<MemberIn>,
) -> ApiResult<Response> {
    let name = check_name(&body.name)?;
    let email = check_email(&body.email)?;
    let at = now();
    let m = Member {
        id: new_id(),
        name,
        email: email.clone(),
        role: body.role.unwrap_or(Role::Member),
        created_at: at,
        updated_at: at,
    };
    let mut s = state.db.write().await?;
    members::insert(&mut s, auth.ws(), &m, None)
        .await
        .map_err(|e| email_taken(e, &email))?;
    s.commit().await?;
    Ok(with_etag(&m, StatusCode::CREATED))
}

async fn ensure_other_owner(s: &mut Session, ws: &str, what: &str) -> ApiResult<()> {
    // Two owners demoted (or deleted) at once must not both see the other one still there.
    // SQLite's write transactions are already serial; on PostgreSQL, take the workspace's
    // member lock first, so the count below (a new statement, a new snapshot under READ
    // COMMITTED) sees any concurrent change that committed meanwhile.
    s.lock_workspace(ws, WorkspaceLock::Members).await?;
    if members::count_role(s, ws, Role::Owner).await? <= 1 {
        return Err(ApiError::conflict(format!(
            "Cannot {what} the last owner of the workspace; make another member owner first"
        )));
    }
    Ok(())
}

/// Update a member
///
/// Demoting the last owner is refused (409).
#[utoipa::path(
    patch,
    path = "/members/{id}",
    tag = "members",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Member id (UUID)")),
    request_body = MemberPatch,
    responses(
        (status = 200, description = "The member after the change", body = Envelope<Member>),
        (status = 409, description = "The email is taken, or this would demote the last owner", body = crate::error::ErrorBody),
    )
)]
async fn update_member(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<MemberPatch>,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Member")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    let old = members::get(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Member", id))?;
    check_if_match(&headers, &old)?;
    let mut m = old.clone();
    if let Some(n) = body.name {
        m.name = check_name(&n)?;
    }
    if let Some(e) = body.email {
        m.email = check_email(&e)?;
    }
    if let Some(r) = body.role {
        if old.role == Role::Owner && r != Role::Owner {
            ensure_other_owner(&mut s, &ws, "demote").await?;
        }
        m.role = r;
    }
    if m.name != old.name || m.email != old.email || m.role != old.role {
        m.updated_at = now();
        members::update(&mut s, &ws, &m)
            .await
            .map_err(|e| email_taken(e, &m.email))?;
        s.commit().await?;
    }
    Ok(with_etag(&m, StatusCode::OK))
}

/// Delete a member
///
/// Deletes a member: unassigns their records and tasks (with the usual update events),
/// revokes their keys, and hides them from lists. Their past events and comments keep the id.
#[utoipa::path(
    delete,
    path = "/members/{id}",
    tag = "members",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Member id (UUID)")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Deleted<String>>),
        (status = 409, description = "The member is the last owner", body = crate::error::ErrorBody),
    )
)]
async fn delete_member(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Member")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    let old = members::get(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Member", id))?;
    check_if_match(&headers, &old)?;
    if old.role == Role::Owner {
        ensure_other_owner(&mut s, &ws, "delete").await?;
    }
    for r in records::list_assigned(&mut s, &ws, id).await? {
        let mut new = r.clone();
        new.assignee_id = None;
        super::records::service::write_update(&mut s, &ws, &r, new).await?;
    }
    for t in tasks::list_assigned(&mut s, &ws, id).await? {
        let mut new = t.clone();
        new.assignee_id = None;
        super::tasks::write_update(&mut s, &ws, &t, new).await?;
    }
    let at = now();
    keys::revoke_for_member(&mut s, &ws, id, at).await?;
    members::soft_delete(&mut s, &ws, id, at).await?;
    s.commit().await?;
    Ok(deleted(id))
}
