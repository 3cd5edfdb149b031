//! `GET /me`: who the calling key is; `GET|PATCH /workspace`: its workspace (name, time zone).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use laneway_core::model::{Member, Scope};
use laneway_core::time::{now, Zone};
use laneway_store::repo::{members, workspaces};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::etag::{check_if_match, with_etag};
use super::{ok, Envelope};
use crate::auth::{Admin, Reader};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(get_me))
        .route("/workspace", get(get_workspace).patch(update_workspace))
}

/// The calling key
///
/// The member the key acts as, its workspace (id, name, time zone) and the key's scope.
#[utoipa::path(
    get,
    path = "/me",
    tag = "me",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "Who the caller is", body = Envelope<Me>))
)]
async fn get_me(state: axum::extract::State<AppState>, auth: Reader) -> ApiResult<Response> {
    let mut s = state.db.read().await?;
    let member = members::get(&mut s, auth.ws(), auth.member_id).await?;
    let ws = workspaces::get(&mut s, auth.ws()).await?;
    Ok(ok(Me {
        member,
        workspace: WorkspaceOut {
            id: ws.id,
            name: ws.name,
            time_zone: ws.time_zone,
        },
        scope: auth.scope,
        key_id: auth.key_id.clone(),
    }))
}

/// `GET /me`: the calling key's member, its workspace and the key's scope.
#[derive(Serialize, ToSchema)]
struct Me {
    member: Member,
    workspace: WorkspaceOut,
    scope: Scope,
    key_id: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Workspace)]
struct WorkspaceOut {
    id: String,
    name: String,
    /// IANA time zone (default `UTC`): `today`, `sow` and `som` in filters are its days.
    time_zone: String,
}

/// The calling key's workspace
#[utoipa::path(
    get,
    path = "/workspace",
    tag = "me",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The workspace", body = Envelope<WorkspaceOut>))
)]
async fn get_workspace(state: axum::extract::State<AppState>, auth: Reader) -> ApiResult<Response> {
    let mut s = state.db.read().await?;
    let ws = workspaces::get(&mut s, auth.ws()).await?;
    Ok(with_etag(
        &WorkspaceOut {
            id: ws.id,
            name: ws.name,
            time_zone: ws.time_zone,
        },
        StatusCode::OK,
    ))
}

/// `PATCH /workspace`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WorkspacePatch {
    /// 1–100 characters once surrounding whitespace is trimmed (it is stored trimmed).
    #[serde(default)]
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,98}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: Option<String>,
    /// An IANA time zone name such as `America/New_York` or `Europe/Berlin`, or `UTC`: a name
    /// of the time zone database (compared case-insensitively; surrounding whitespace is
    /// ignored), so at most 64 letters, digits and `/_+-`.
    #[serde(default)]
    #[schema(
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[A-Za-z0-9/_+-]{1,64}[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    time_zone: Option<String>,
}

/// Rename the workspace or set its time zone
///
/// The time zone decides what `today`, `today±Nd`, `sow`/`eow` and `som`/`eom` mean in
/// filters (of lists and of webhooks): days start at its local midnight.
#[utoipa::path(
    patch,
    path = "/workspace",
    tag = "me",
    security(("bearer" = ["admin"])),
    request_body = WorkspacePatch,
    responses((status = 200, description = "The workspace as it now is", body = Envelope<WorkspaceOut>))
)]
async fn update_workspace(
    state: axum::extract::State<AppState>,
    auth: Admin,
    headers: HeaderMap,
    Json(body): Json<WorkspacePatch>,
) -> ApiResult<Response> {
    let mut s = state.db.write().await?;
    let ws = workspaces::get(&mut s, auth.ws()).await?;
    let current = WorkspaceOut {
        id: ws.id.clone(),
        name: ws.name.clone(),
        time_zone: ws.time_zone.clone(),
    };
    check_if_match(&headers, &current)?;
    let name = match body.name {
        Some(n) => {
            let n = n.trim().to_string();
            let c = n.chars().count();
            if c == 0 || c > 100 {
                return Err(ApiError::invalid(
                    "name",
                    "'name' must be 1 to 100 characters",
                ));
            }
            n
        }
        None => ws.name,
    };
    let time_zone = match body.time_zone {
        Some(tz) => Zone::named(tz.trim())
            .ok_or_else(|| {
                ApiError::invalid(
                    "time_zone",
                    format!(
                        "'time_zone': unknown time zone '{}'; use an IANA name such as America/New_York, Europe/Berlin or UTC",
                        tz.chars().take(64).collect::<String>()
                    ),
                )
            })?
            .name()
            .to_string(),
        None => ws.time_zone,
    };
    workspaces::update(&mut s, auth.ws(), &name, &time_zone, now()).await?;
    s.commit().await?;
    Ok(with_etag(
        &WorkspaceOut {
            id: ws.id,
            name,
            time_zone,
        },
        StatusCode::OK,
    ))
}
