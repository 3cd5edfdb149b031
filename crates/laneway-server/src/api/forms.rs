//! `/forms`: public forms whose submissions become records (spec §7), and the public
//! `POST /public/forms/:id/submit`.
//!
//! A form names an object type (and optionally a board and stage) and the fields it asks. A
//! submission is checked against the form's fields (types, required answers, select options;
//! empty answers count as missing; numbers and booleans may come as the strings an HTML form
//! sends) and against the object type's own declarations, then becomes a record with the
//! answers as its `data`: `record.created` (and its companions) and `form.submitted` commit
//! with it. Submissions are rate-limited per form and client address.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::LazyLock;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use laneway_core::events::{self, NewEvent};
use laneway_core::fields::{check_form_fields as check_fields, validate_data};
use laneway_core::ids::new_id;
use laneway_core::model::{FieldDef, FieldType, Form, ObjectType, Record};
use laneway_core::time::{format_ts, now, serde_ts};
use laneway_core::DomainError;
use laneway_store::repo::{events as event_repo, forms, records, schema};
use laneway_store::{Session, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::openapi::PageQuery;
use super::records::not_found_as;
use super::records::service::{
    check_data, created_events, position_in, resolve_named, resolve_stage_id, Place,
};
use super::{
    check_if_match, created, deleted, path_uuid, required_text, to_value, with_etag, Deleted,
    Envelope, PageEnvelope,
};
use crate::auth::{Admin, Reader};
use crate::error::{ApiError, ApiResult};
use crate::extract::{nullable, Json, JsonOrForm, Params, PathId};
use crate::state::AppState;

const MAX_NAME: usize = 200;
/// Submissions per minute per form and client address (bursts of as many).
const SUBMISSIONS_PER_MINUTE: u32 = 10;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/forms", get(list_forms).post(create_form))
        .route(
            "/forms/{id}",
            get(get_form).patch(update_form).delete(delete_form),
        )
        .route("/public/forms/{id}/submit", post(submit_form))
}

/// `POST /forms` (admin: a form writes records from the public).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FormIn {
    /// 1-200 characters once surrounding whitespace is trimmed (it is stored trimmed).
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,198}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: String,
    /// The object type submissions become: its slug or id (UUID); surrounding whitespace is
    /// ignored.
    #[schema(
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[a-z0-9]+(?:-[a-z0-9]+)*|[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}|[Uu][Rr][Nn]:[Uu][Uu][Ii][Dd]:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    object_type: String,
    /// A board for the new records: name, slug or id.
    #[serde(default)]
    pipeline: Option<String>,
    /// The stage on that board (name, slug or id); default its first.
    #[serde(default)]
    stage: Option<String>,
    /// 1-50 fields: `{key, label, type, required, options}` as object type fields, without
    /// the `member` and `record` types; keys distinct, types and options agreeing with the
    /// object type's declaration of the same key, and every field the object type requires
    /// asked as required.
    #[schema(min_items = 1, max_items = 50)]
    fields: Vec<FieldDef>,
    /// The key of a text, email, phone or url field whose answer becomes the record title.
    #[serde(default)]
    title_field: Option<String>,
}

/// `PATCH /forms/:id`: any of the create fields; `null` clears `pipeline`, `stage` and
/// `title_field`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FormPatch {
    /// 1-200 characters once surrounding whitespace is trimmed; not `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, min_length = 1, pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,198}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    name: Option<Option<String>>,
    /// The object type's slug or id (UUID); not `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[a-z0-9]+(?:-[a-z0-9]+)*|[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}|[Uu][Rr][Nn]:[Uu][Uu][Ii][Dd]:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    object_type: Option<Option<String>>,
    /// A board (name, slug or id); `null` clears it (and the stage).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pipeline: Option<Option<String>>,
    /// The stage on the board (name, slug or id); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    stage: Option<Option<String>>,
    /// 1-50 fields, as in `POST /forms`; not `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Vec<FieldDef>, min_items = 1, max_items = 50)]
    fields: Option<Option<Vec<FieldDef>>>,
    /// The key of a text, email, phone or url field of the form; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    title_field: Option<Option<String>>,
}

async fn find_object_type(s: &mut Session, ws: &str, key: &str) -> ApiResult<ObjectType> {
    let key = key.trim();
    let found = match laneway_core::ids::parse_uuid(key) {
        Some(id) => match schema::get_object_type(s, ws, id).await {
            Ok(t) => Some(t),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => schema::find_object_type_by_slug(s, ws, key).await?,
    };
    found.ok_or_else(|| ApiError::invalid("object_type", format!("Object type '{key}' not found")))
}

/// Resolves `pipeline` (+ `stage`) to the ids a form keeps; `None` when no board.
async fn resolve_board(
    s: &mut Session,
    ws: &str,
    pipeline: Option<&str>,
    stage: Option<&str>,
) -> ApiResult<(Option<Uuid>, Option<Uuid>)> {
    match (pipeline, stage) {
        (None, Some(_)) => Err(ApiError::invalid("stage", "'stage' needs 'pipeline'")),
        (None, None) => Ok((None, None)),
        (Some(p), st) => {
            let pipelines = schema::list_pipelines(s, ws).await?;
            let place = resolve_named(&pipelines, p, st)?;
            Ok((Some(place.pipeline_id), st.map(|_| place.stage_id)))
        }
    }
}

/// List forms
#[utoipa::path(
    get,
    path = "/forms",
    tag = "forms",
    security(("bearer" = ["read"])),
    params(PageQuery),
    responses((status = 200, description = "The forms, newest first", body = PageEnvelope<Form>))
)]
async fn list_forms(State(state): State<AppState>, auth: Reader, q: Params) -> ApiResult<Response> {
    let reg = forms::registry();
    let ctx = super::listing::ctx(&state, &auth);
    let req = super::listing::ListRequest::parse(
        &q,
        "/api/v1/forms",
        &reg,
        &ctx,
        "-created_at",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    let page = forms::list(&mut s, auth.ws(), &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}

/// Get a form
#[utoipa::path(
    get,
    path = "/forms/{id}",
    tag = "forms",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Form id (UUID)")),
    responses((status = 200, description = "The form", body = Envelope<Form>))
)]
async fn get_form(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Form")?;
    let mut s = state.db.read().await?;
    let f = forms::get(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Form", id))?;
    Ok(with_etag(&f, StatusCode::OK))
}

/// Create a form
///
/// Admin scope: a form lets anyone with its address create records.
#[utoipa::path(
    post,
    path = "/forms",
    tag = "forms",
    security(("bearer" = ["admin"])),
    request_body = FormIn,
    responses((status = 201, description = "The new form", body = Envelope<Form>))
)]
async fn create_form(
    State(state): State<AppState>,
    auth: Admin,
    Json(body): Json<FormIn>,
) -> ApiResult<Response> {
    let ws = auth.ws().to_string();
    let name = required_text("name", &body.name, MAX_NAME)?;
    let mut s = state.db.write().await?;
    let ot = find_object_type(&mut s, &ws, &body.object_type).await?;
    check_fields(&body.fields, &ot, body.title_field.as_deref())?;
    let (pipeline_id, stage_id) =
        resolve_board(&mut s, &ws, body.pipeline.as_deref(), body.stage.as_deref()).await?;
    let at = now();
    let id = new_id();
    let f = Form {
        id,
        name,
        object_type: ot.slug.clone(),
        object_type_id: ot.id,
        pipeline_id,
        stage_id,
        fields: body.fields,
        title_field: body.title_field,
        submit_path: forms::submit_path(id),
        created_at: at,
        updated_at: at,
        deleted_at: None,
    };
    forms::insert(&mut s, &ws, &f).await?;
    s.commit().await?;
    Ok(with_etag(&f, StatusCode::CREATED))
}

/// Update a form
#[utoipa::path(
    patch,
    path = "/forms/{id}",
    tag = "forms",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Form id (UUID)")),
    request_body = FormPatch,
    responses((status = 200, description = "The form after the change", body = Envelope<Form>))
)]
async fn update_form(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<FormPatch>,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Form")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    let old = forms::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Form", id))?;
    check_if_match(&headers, &old)?;
    let mut new = old.clone();
    match body.name {
        Some(Some(n)) => new.name = required_text("name", &n, MAX_NAME)?,
        Some(None) => return Err(ApiError::invalid("name", "'name' cannot be null")),
        None => {}
    }
    let ot = match body.object_type {
        Some(Some(k)) => find_object_type(&mut s, &ws, &k).await?,
        Some(None) => {
            return Err(ApiError::invalid(
                "object_type",
                "'object_type' cannot be null",
            ))
        }
        None => match schema::get_object_type(&mut s, &ws, old.object_type_id).await {
            Ok(t) => t,
            Err(StoreError::NotFound) => {
                return Err(ApiError::invalid(
                    "object_type",
                    "This form's object type was deleted: set 'object_type'",
                ))
            }
            Err(e) => return Err(e.into()),
        },
    };
    new.object_type_id = ot.id;
    new.object_type = ot.slug.clone();
    match body.fields {
        Some(Some(f)) => new.fields = f,
        Some(None) => return Err(ApiError::invalid("fields", "'fields' cannot be null")),
        None => {}
    }
    if let Some(t) = body.title_field {
        new.title_field = t;
    }
    check_fields(&new.fields, &ot, new.title_field.as_deref())?;
    if body.pipeline.is_some() || body.stage.is_some() {
        let pipeline = match &body.pipeline {
            Some(p) => p.clone(),
            None => old.pipeline_id.map(|p| p.to_string()),
        };
        let stage = body.stage.clone().flatten();
        let (p, st) = resolve_board(&mut s, &ws, pipeline.as_deref(), stage.as_deref()).await?;
        new.pipeline_id = p;
        new.stage_id = st;
    }
    if to_value(&new) != to_value(&old) {
        new.updated_at = now();
        forms::update(&mut s, &ws, &new).await?;
        s.commit().await?;
    }
    Ok(with_etag(&new, StatusCode::OK))
}

/// Delete a form
///
/// Its address stops taking submissions; the records it created stay.
#[utoipa::path(
    delete,
    path = "/forms/{id}",
    tag = "forms",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Form id (UUID)")),
    responses((status = 200, description = "Deleted", body = Envelope<Deleted<String>>))
)]
async fn delete_form(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Form")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    let old = forms::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Form", id))?;
    check_if_match(&headers, &old)?;
    let mut gone = old;
    gone.deleted_at = Some(now());
    gone.updated_at = gone.deleted_at.unwrap_or(gone.updated_at);
    forms::update(&mut s, &ws, &gone).await?;
    s.commit().await?;
    Ok(deleted(id))
}

/// The client's address (see [`crate::auth::client_ip`]).
struct ClientIp(Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(crate::auth::client_ip(
            &state.config,
            crate::auth::peer_ip(parts),
            &parts.headers,
        )))
    }
}

static SUBMISSIONS: LazyLock<DefaultKeyedRateLimiter<String>> = LazyLock::new(|| {
    let n = NonZeroU32::new(SUBMISSIONS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_minute(n).allow_burst(n))
});

/// Forgets the allowances of (form, address) pairs that are whole again, so addresses that
/// come and go cannot grow the table without bound. Called by the server's housekeeping.
pub fn shrink_submission_limits() {
    SUBMISSIONS.retain_recent();
    SUBMISSIONS.shrink_to_fit();
}

fn limited(form: Uuid, ip: Option<IpAddr>) -> Option<Response> {
    let key = format!("{form}/{}", ip.map_or("-".to_string(), |i| i.to_string()));
    let not_until = SUBMISSIONS.check_key(&key).err()?;
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("Too many submissions to this form from your address; try again in {secs} s"),
    );
    e.retry_after = Some(secs);
    let mut resp = e.into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(resp)
}

/// The answer to a submission.
#[derive(Serialize, ToSchema)]
struct Submitted {
    /// The submission (the `id` in `form.submitted`).
    id: Uuid,
    form_id: Uuid,
    /// The record it became.
    record_id: Uuid,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    submitted_at: laneway_core::time::Timestamp,
}

/// Turns the answers of a submission into record data, checking them against the form.
fn read_answers(form: &Form, body: Value) -> ApiResult<Map<String, Value>> {
    let Value::Object(raw) = body else {
        return Err(ApiError::bad_request(
            "invalid_body",
            "A submission is a JSON object of the form's field keys and answers",
        ));
    };
    let mut out = Map::new();
    for (k, v) in raw {
        let Some(f) = form.fields.iter().find(|f| f.key == k) else {
            let keys: Vec<&str> = form.fields.iter().map(|f| f.key.as_str()).collect();
            return Err(ApiError::invalid(
                &k,
                format!(
                    "'{k}' is not a field of this form (fields: {})",
                    keys.join(", ")
                ),
            ));
        };
        let v = match v {
            Value::String(s) if s.trim().is_empty() => continue,
            Value::Null => continue,
            Value::String(s) => match f.kind {
                FieldType::Number => match s.trim().parse::<f64>() {
                    Ok(n) if n.is_finite() => json!(n),
                    _ => Value::String(s),
                },
                FieldType::Boolean => match s.trim() {
                    "true" | "on" | "yes" | "1" => Value::Bool(true),
                    "false" | "off" | "no" | "0" => Value::Bool(false),
                    _ => Value::String(s),
                },
                FieldType::MultiSelect => Value::Array(vec![Value::String(s)]),
                _ => Value::String(s.trim().to_string()),
            },
            other => other,
        };
        out.insert(k, v);
    }
    // The form's own words: `email`, not the record's `data.email`.
    validate_data(&form.fields, &out).map_err(|e| match e {
        DomainError::Validation {
            message,
            field: Some(f),
        } => {
            let key = f.strip_prefix("data.").unwrap_or(&f).to_string();
            ApiError::invalid(
                &key,
                message.replace(&format!("'{f}'"), &format!("'{key}'")),
            )
        }
        other => other.into(),
    })?;
    Ok(out)
}

fn title_of(form: &Form, answers: &Map<String, Value>) -> String {
    let pick = |k: &str| {
        answers
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let t = match &form.title_field {
        Some(k) => pick(k),
        None => pick("name").or_else(|| pick("title")),
    }
    .unwrap_or_else(|| format!("{} submission", form.name));
    t.chars().take(1000).collect()
}

/// Submit a form
///
/// Public (no API key). The body is a JSON object of the form's field keys and answers, or
/// an HTML form post (`application/x-www-form-urlencoded`). The answers become a record; `record.created` and `form.submitted` fire. At most 10
/// submissions per minute per form and client address (429 with `Retry-After` beyond).
#[utoipa::path(
    post,
    path = "/public/forms/{id}/submit",
    tag = "forms",
    params(("id" = String, Path, description = "Form id (UUID)")),
    request_body = Object,
    responses(
        (status = 201, description = "Received", body = Envelope<Submitted>),
        (status = 409, description = "The form cannot take submissions now: its object type was deleted, or changed so that the form no longer fits it (`form_out_of_date`, naming what changed)", body = crate::error::ErrorBody),
    )
)]
async fn submit_form(
    State(state): State<AppState>,
    PathId(id): PathId,
    ClientIp(ip): ClientIp,
    JsonOrForm(body): JsonOrForm,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Form")?;
    let mut s = state.db.write().await?;
    let (ws, form) = forms::public(&mut s, id)
        .await
        .map_err(|e| not_found_as(e, "Form", id))?;
    if let Some(resp) = limited(id, ip) {
        return Ok(resp);
    }
    let answers = read_answers(&form, body)?;
    let ot = match schema::get_object_type(&mut s, &ws, form.object_type_id).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => {
            return Err(ApiError::conflict(
                "This form cannot take submissions: its object type was deleted",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    // The object type may have changed since the form was saved (a new required field, a
    // field's type or options): the form no longer fits it. That is for the form's owner to
    // fix, not the visitor, so it is a 409 that names what changed, before the answers are
    // judged against a type the form does not ask for.
    if let Err(e) = check_fields(&form.fields, &ot, form.title_field.as_deref()) {
        let field = match &e {
            DomainError::Validation { field, .. } => field.clone(),
            _ => None,
        };
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "form_out_of_date",
            format!(
                "This form no longer fits object type '{}': {e} (an admin must update the form)",
                ot.slug
            ),
        )
        .with_details(json!({
            "form_id": form.id,
            "object_type": ot.slug,
            "field": field,
        })));
    }
    check_data(&mut s, &ws, &ot.fields, &answers).await?;
    let place: Option<Place> = match (form.stage_id, form.pipeline_id) {
        (Some(st), _) => match resolve_stage_id(&mut s, &ws, st).await {
            Ok(p) => Some(p),
            Err(_) => first_stage(&mut s, &ws, form.pipeline_id).await?,
        },
        (None, p) => first_stage(&mut s, &ws, p).await?,
    };
    let position = match place {
        Some(pl) => Some(position_in(&mut s, &ws, pl.stage_id, None).await?),
        None => None,
    };
    let at = now();
    let r = Record {
        id: new_id(),
        title: title_of(&form, &answers),
        object_type_id: ot.id,
        pipeline_id: place.map(|p| p.pipeline_id),
        stage_id: place.map(|p| p.stage_id),
        assignee_id: None,
        position,
        data: Value::Object(answers.clone()),
        created_at: at,
        updated_at: at,
        deleted_at: None,
        object_types: laneway_core::model::ObjectTypeRef {
            name: ot.name,
            slug: ot.slug,
            icon: ot.icon,
        },
    };
    records::insert(&mut s, &ws, &r).await?;
    let submission_id = new_id();
    let submission = json!({
        "id": submission_id,
        "form_id": form.id,
        "form_name": form.name,
        "record_id": r.id,
        "data": answers,
        "submitted_at": format_ts(at),
    });
    let mut evs = created_events(&r);
    evs.push(NewEvent::new(
        events::FORM_SUBMITTED,
        "form",
        form.id.to_string(),
        submission.clone(),
    ));
    event_repo::insert(&mut s, &ws, evs, at).await?;
    s.commit().await?;
    Ok(created(Submitted {
        id: submission_id,
        form_id: form.id,
        record_id: r.id,
        submitted_at: at,
    }))
}

/// The first stage of a pipeline that still exists, else no board.
async fn first_stage(s: &mut Session, ws: &str, p: Option<Uuid>) -> ApiResult<Option<Place>> {
    let Some(p) = p else { return Ok(None) };
    let pipelines = schema::list_pipelines(s, ws).await?;
    Ok(resolve_named(&pipelines, &p.to_string(), None).ok())
}
