//! `GET /me`: who the calling key is.

use axum::response::Response;
use axum::routing::get;
use axum::Router;
use laneway_store::repo::{members, workspaces};
use serde_json::json;

use super::ok;
use crate::auth::Reader;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(get_me))
}

async fn get_me(state: axum::extract::State<AppState>, auth: Reader) -> ApiResult<Response> {
    let mut s = state.db.read().await?;
    let member = members::get(&mut s, auth.ws(), auth.member_id).await?;
    let ws = workspaces::get(&mut s, auth.ws()).await?;
    Ok(ok(json!({
        "member": member,
        "workspace": {"id": ws.id, "name": ws.name, "time_zone": ws.time_zone},
        "scope": auth.scope,
        "key_id": auth.key_id,
    })))
}
