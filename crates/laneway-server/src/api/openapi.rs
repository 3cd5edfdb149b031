//! `GET /openapi.json`: the OpenAPI 3.1 description of the API, generated from the handlers'
//! `#[utoipa::path]` annotations and the `ToSchema` types they name, never written by hand.
//!
//! What every operation shares because one extractor or layer enforces it for all of them —
//! the bearer key and its scope (401/403), the rate limit (429), JSON bodies (400/413/415),
//! query parameters (400), ids in the path (404), `Idempotency-Key` on POST (409) and
//! `If-Match` on PATCH/DELETE (412) — is added once here by [`Conventions`], not repeated on
//! each handler. An annotation that lists one of these statuses itself keeps its own wording.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::path::{HttpMethod, Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi};

use crate::error::ApiError;
use crate::state::AppState;

mod refine;

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json))
}

/// The API's description, as the document `GET /openapi.json` serves.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Laneway API",
        version = env!("CARGO_PKG_VERSION"),
        description = "Laneway is a self-hosted CRM and kanban work-management server. \
            JSON in and out. Every success is `{\"success\": true, \"data\": ...}` (lists add \
            `meta`); every error is `{\"success\": false, \"error\", \"code\", \"details\"?}`. \
            Every response carries `X-Request-Id`; single resources carry an `ETag` that \
            PATCH and DELETE accept in `If-Match`.",
    ),
    servers((url = "/api/v1", description = "This server")),
    paths(
        openapi_json,
        super::me::get_me,
        super::me::get_workspace,
        super::me::update_workspace,
        super::members::list_members,
        super::members::create_member,
        super::members::get_member,
        super::members::update_member,
        super::members::delete_member,
        super::keys::list_keys,
        super::keys::create_key,
        super::keys::get_key,
        super::keys::revoke_key,
        super::schema::get_schema,
        super::schema::list_object_types,
        super::schema::create_object_type,
        super::schema::get_object_type,
        super::schema::update_object_type,
        super::schema::delete_object_type,
        super::schema::list_pipelines,
        super::schema::create_pipeline,
        super::schema::get_pipeline,
        super::schema::update_pipeline,
        super::schema::delete_pipeline,
        super::schema::create_stage,
        super::schema::get_stage,
        super::schema::update_stage,
        super::schema::delete_stage,
        super::records::list_records,
        super::records::create_record,
        super::records::get_record,
        super::records::update_record,
        super::records::delete_record,
        super::records::list_record_activity,
        super::tasks::list_tasks,
        super::tasks::create_task,
        super::tasks::get_task,
        super::tasks::update_task,
        super::tasks::delete_task,
        super::notes::list_notes,
        super::notes::create_note,
        super::notes::get_note,
        super::notes::update_note,
        super::notes::delete_note,
        super::comments::list_record_comments,
        super::comments::create_record_comment,
        super::comments::get_record_comment,
        super::comments::list_task_comments,
        super::comments::create_task_comment,
        super::comments::get_task_comment,
        super::contracts::list_contracts,
        super::contracts::create_contract,
        super::contracts::get_contract,
        super::contracts::update_contract,
        super::contracts::delete_contract,
        super::contracts::send_contract,
        super::contracts::public_contract,
        super::contracts::sign_contract,
        super::forms::list_forms,
        super::forms::create_form,
        super::forms::get_form,
        super::forms::update_form,
        super::forms::delete_form,
        super::forms::submit_form,
        super::events::list_events,
        super::events::stream_events,
        super::events::get_event,
        super::webhooks::list_webhooks,
        super::webhooks::create_webhook,
        super::webhooks::delete_webhook_by_query,
        super::webhooks::get_webhook,
        super::webhooks::update_webhook,
        super::webhooks::delete_webhook,
        super::webhooks::rotate_secret,
        super::webhooks::test_webhook,
        super::webhooks::list_deliveries,
        super::webhooks::get_delivery,
        super::webhooks::redeliver,
        super::webhooks::recover,
    ),
    components(schemas(crate::error::ErrorBody, super::listing::CursorMeta)),
    modifiers(&Conventions),
    tags(
        (name = "me", description = "The calling key"),
        (name = "members", description = "The people of a workspace"),
        (name = "keys", description = "API keys (admin scope); the token is shown once"),
        (name = "webhooks", description = "Webhooks (admin scope): registration, delivery history, tests, redelivery"),
        (name = "schema", description = "Object types, pipelines (boards) and their stages (columns)"),
        (name = "records", description = "Leads, jobs, contacts, ... and their place on boards"),
        (name = "tasks", description = "To-dos, standalone or on a record"),
        (name = "notes", description = "Notes on a record, a pipeline (board) or the workspace"),
        (name = "comments", description = "Comments on records and tasks, oldest first; immutable once posted"),
        (name = "contracts", description = "Contracts on records, signed through a one-time public link"),
        (name = "forms", description = "Public forms whose submissions become records"),
        (name = "events", description = "The workspace's stored events, newest first"),
        (name = "meta", description = "This description"),
    ),
)]
pub struct ApiDoc;

/// The document, serialised once.
static DOCUMENT: LazyLock<Option<Bytes>> = LazyLock::new(|| {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).ok()?;
    refine::refine(&mut doc);
    serde_json::to_vec(&doc).ok().map(Bytes::from)
});

/// The document as JSON (what `GET /openapi.json` serves), for tests and tools.
pub fn document() -> Option<serde_json::Value> {
    DOCUMENT
        .as_ref()
        .and_then(|b| serde_json::from_slice(b).ok())
}

/// This document
///
/// The OpenAPI 3.1 description of every endpoint. Public: it needs no API key.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
async fn openapi_json() -> Response {
    match DOCUMENT.as_ref() {
        Some(doc) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            doc.clone(),
        )
            .into_response(),
        None => ApiError::internal().into_response(),
    }
}

/// What every list endpoint takes: `filter`, `sort` and either pagination mode (docs/filters.md).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documentation only: handlers read these through `api::listing`.
pub(crate) struct PageQuery {
    /// Which rows: a readable expression (`title contains "Acme" and stage.slug eq "won"`) or
    /// its JSON form. ANDs with the endpoint's own parameters.
    filter: Option<String>,
    /// Order: comma-separated fields, `-` for descending (`-created_at,title`); the id is the
    /// final tie-breaker.
    sort: Option<String>,
    /// Offset mode: page number, from 1 (default 1).
    #[param(minimum = 1)]
    page: Option<u64>,
    /// Offset mode: items per page, default 50, at most 100 (larger values are clamped).
    #[param(minimum = 1)]
    per_page: Option<u64>,
    /// Cursor mode: items per page, default 30, at most 100. The answer then carries `links`
    /// and `meta.next_cursor`/`prev_cursor` instead of `meta.total`.
    #[param(rename = "page[size]", minimum = 1)]
    page_size: Option<u64>,
    /// Cursor mode: `next_cursor` or `prev_cursor` of a previous page.
    #[param(rename = "page[cursor]")]
    page_cursor: Option<String>,
}

/// The security scheme the operations name.
const BEARER: &str = "bearer";

/// Adds what the shared extractors and layers do for every operation (see the module doc).
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("lw_live_...")
                    .description(Some(
                        "`Authorization: Bearer lw_live_...`. A key belongs to one workspace and \
                         one member and has one scope: `read` (GET only), `write` (read + create, \
                         update and delete of content) or `admin` (write + schema, members and \
                         keys). Each operation lists the scope it needs in its security \
                         requirement and description. Missing, malformed, unknown or revoked \
                         key: 401; valid key without the scope: 403.",
                    ))
                    .build(),
            ),
        );
        for (name, description) in ERRORS {
            let mut response = ResponseBuilder::new().description(*description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Error")))
                    .build(),
            );
            if *name == "TooManyRequests" {
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                        .description(Some("Seconds to wait before retrying"))
                        .build(),
                );
            }
            components
                .responses
                .insert((*name).to_string(), response.build().into());
        }

        for (path, item) in doc.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            for (method, op) in [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Patch, &mut item.patch),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Delete, &mut item.delete),
            ] {
                if let Some(op) = op.as_mut() {
                    apply(op, method, has_id);
                }
            }
        }
    }
}

/// Reusable error responses (`#/components/responses/...`): name and description.
const ERRORS: &[(&str, &str)] = &[
    (
        "BadRequest",
        "Bad parameters or body: malformed JSON, a wrong type, an unknown or missing field, an \
         invalid value (the message names it; `details.field` or `details.parameter` too)",
    ),
    (
        "Unauthorized",
        "Missing, malformed, unknown or revoked API key",
    ),
    (
        "Forbidden",
        "The API key lacks the scope this operation needs",
    ),
    ("NotFound", "No such resource in the caller's workspace"),
    (
        "Conflict",
        "Conflict with the current state, e.g. a duplicate unique value, or an \
         `Idempotency-Key` reused with another body or still in flight",
    ),
    (
        "PreconditionFailed",
        "`If-Match` names none of the resource's current `ETag`; fetch it again",
    ),
    (
        "PayloadTooLarge",
        "The body is over the size limit (1 MiB by default)",
    ),
    (
        "UnsupportedMediaType",
        "The body is not declared as JSON (`Content-Type: application/json`)",
    ),
    (
        "TooManyRequests",
        "Rate limited; retry after `Retry-After` seconds",
    ),
];

/// The scope an operation's security requirement names, if any.
fn required_scope(op: &Operation) -> Option<String> {
    let first = op.security.as_ref()?.first()?;
    // `SecurityRequirement` keeps its map private; its JSON form is `{"bearer": ["write"]}`.
    let value = serde_json::to_value(first).ok()?;
    value.get(BEARER)?.get(0)?.as_str().map(str::to_string)
}

fn add_response(op: &mut Operation, status: &str, component: &str) {
    // `or_insert_with`: a status the annotation lists itself keeps its own description.
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(component)));
}

fn header_param(name: &str, description: &str, schema: ObjectBuilder) -> RefOr<Parameter> {
    RefOr::T(
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(schema.schema_type(Type::String)))
            .build(),
    )
}

/// `*` or a comma-separated list of entity tags (RFC 9110 §8.8.3, §13.1.1).
/// Empty is allowed and sets no precondition.
pub(crate) const IF_MATCH_PATTERN: &str = r#"^(|\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$"#;

fn apply(op: &mut Operation, method: HttpMethod, has_id: bool) {
    if let Some(scope) = required_scope(op) {
        let also = match scope.as_str() {
            "read" => " (every key has it)",
            "write" => " (an `admin` key also has it)",
            _ => "",
        };
        let note = format!("Requires an API key with scope `{scope}`{also}.");
        op.description = Some(match op.description.take() {
            Some(d) if !d.is_empty() => format!("{d}\n\n{note}"),
            _ => note,
        });
        add_response(op, "401", "Unauthorized");
        if scope != "read" {
            add_response(op, "403", "Forbidden");
        }
        add_response(op, "429", "TooManyRequests");
    }
    let has_query = op.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => p.parameter_in == ParameterIn::Query,
        RefOr::Ref(_) => false,
    });
    if has_query {
        add_response(op, "400", "BadRequest");
    }
    if op.request_body.is_some() {
        add_response(op, "400", "BadRequest");
        add_response(op, "413", "PayloadTooLarge");
        add_response(op, "415", "UnsupportedMediaType");
    }
    if has_id {
        add_response(op, "404", "NotFound");
    }
    let keyed = op.security.is_some();
    match method {
        // The public routes (forms, contract signing) take no key and keep no replays.
        HttpMethod::Post if keyed => {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(header_param(
                    "Idempotency-Key",
                    "Makes the POST safe to retry: the same key with the same body within 24 h \
                 returns the first response (with `Idempotent-Replayed: true`); with another \
                 body it is a 409. 1-255 visible ASCII characters (a UUID is a good choice).",
                    ObjectBuilder::new()
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some("^[!-~]([ -~]*[!-~])?$")),
                ));
            add_response(op, "400", "BadRequest");
            match op.responses.responses.get_mut("409") {
                Some(RefOr::T(own)) => own
                    .description
                    .push_str(", or an `Idempotency-Key` reused with another body"),
                _ => add_response(op, "409", "Conflict"),
            }
        }
        HttpMethod::Patch | HttpMethod::Delete => {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(header_param(
                    "If-Match",
                    "An `ETag` from an earlier response: the change applies only if the resource \
                 is still at that version (412 otherwise). `*` matches any version; several \
                 tags may be listed, comma-separated. Anything else is a 400.",
                    ObjectBuilder::new().pattern(Some(IF_MATCH_PATTERN)),
                ));
            add_response(op, "400", "BadRequest");
            add_response(op, "412", "PreconditionFailed");
        }
        _ => {}
    }
}
