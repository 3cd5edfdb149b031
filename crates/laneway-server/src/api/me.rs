//! `GET /me`: who the calling key is.

use axum::response::Response;
use axum::routing::get;
use axum::Router;
use laneway_core::model::{Member, Scope};
use laneway_store::repo::{members, workspaces};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ok, Envelope};
use crate::auth::Reader;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(get_me))
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
    time_zone: String,
}
