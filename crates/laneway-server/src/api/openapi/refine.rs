//! What the document must say that utoipa's derives cannot: edits of the generated JSON, each
//! derived from what the shared extractors enforce, so that a request the document calls valid
//! is one the server accepts (schemathesis checks both directions in CI).
//!
//! - **Pagination modes.** `page`/`per_page` (offset) and `page[size]`/`page[cursor]` (cursor)
//!   exclude each other: the four parameters [`super::PageQuery`] declares become one exploded
//!   `form` object parameter that may not mix them, and the list's 200 answer is one of the two
//!   envelopes (`PageEnvelope_*` with `meta.total`, `CursorEnvelope_*` with `links` and cursors).
//! - **Storable JSON.** Request bodies and query strings may not hold U+0000 (PostgreSQL cannot
//!   store it) nor numbers beyond ±1e308 (`extract::parse_json`): every string of a request
//!   gets that pattern and every free-form object (`data`, form submissions) is described by
//!   the recursive `JsonValue`.
//! - **UUIDs** in every spelling the server reads, not only `format: uuid`'s hyphenated one.
//! - **Links** from each create to the get, update and delete of what it created, so the
//!   stateful phase can chain them.

use serde_json::{json, Map, Value};

/// No U+0000 anywhere in the string.
const NO_NUL: &str = "^[^\\u0000]*$";
/// The UUID spellings the server reads (`laneway_core::ids::parse_uuid`, after the `uuid`
/// crate): hyphenated, simple, braced and `urn:uuid:`, in either case.
const UUID_FORMS: &str = "^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-\
    [0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|\\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-\
    [0-9A-Fa-f]{12}\\}|[Uu][Rr][Nn]:[Uu][Uu][Ii][Dd]:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-\
    [0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$";
/// Query parameters the handlers read as UUIDs (`Params::uuid`), empty meaning absent.
const UUID_QUERY: &[&str] = &[
    "record_id",
    "pipeline_id",
    "stage_id",
    "assignee_id",
    "member_id",
    "move_to",
];
/// Largest magnitude of a stored number (`extract::MAX_NUMBER`).
const MAX_NUMBER: f64 = 1e308;

pub(super) fn refine(doc: &mut Value) {
    event_stream(doc);
    paging(doc);
    storable(doc);
    links(doc);
}

fn schemas(doc: &mut Value) -> &mut Map<String, Value> {
    doc.pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .expect("the document has component schemas")
}

fn operations(doc: &mut Value) -> impl Iterator<Item = (String, String, &mut Value)> {
    doc.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .flat_map(|(path, item)| {
            let path = path.clone();
            item.as_object_mut()
                .into_iter()
                .flat_map(|m| m.iter_mut())
                .map(move |(method, op)| (path.clone(), method.clone(), op))
        })
}

const PAGING: [&str; 4] = ["page", "per_page", "page[size]", "page[cursor]"];

fn paging(doc: &mut Value) {
    let mut envelopes: Vec<String> = Vec::new();
    for (_, _, op) in operations(doc) {
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        if !params.iter().any(|p| p["name"] == "page[size]") {
            continue;
        }
        let at = params
            .iter()
            .position(|p| PAGING.contains(&p["name"].as_str().unwrap_or("")))
            .unwrap_or(params.len());
        let mut properties = Map::new();
        params.retain(|p| {
            let name = p["name"].as_str().unwrap_or("");
            if !PAGING.contains(&name) {
                return true;
            }
            let mut schema = p["schema"].clone();
            if let (Some(s), Some(d)) = (schema.as_object_mut(), p.get("description")) {
                s.insert("description".into(), d.clone());
            }
            properties.insert(name.to_string(), schema);
            false
        });
        let mixed: Vec<Value> = ["page", "per_page"]
            .iter()
            .flat_map(|o| {
                ["page[size]", "page[cursor]"]
                    .iter()
                    .map(move |c| json!({ "required": [o, c] }))
            })
            .collect();
        params.insert(
            at,
            json!({
                "name": "paging",
                "in": "query",
                "required": false,
                "style": "form",
                "explode": true,
                "description": "Pagination, in one of two modes that cannot be mixed \
                    (docs/filters.md). Offset mode: `page` and `per_page`; the answer's `meta` \
                    has `total`, `page` and `per_page`. Cursor mode, chosen by `page[size]` or \
                    `page[cursor]`: the answer has `links` and `meta.next_cursor`/`prev_cursor`. \
                    These are plain query parameters (`?page=2&per_page=20`, \
                    `?page[size]=20`); `paging` itself is never sent. Mixing the modes is a 400.",
                "schema": {
                    "type": "object",
                    "properties": properties,
                    "not": { "anyOf": mixed },
                    // Other parameters are the list's own or ignored (`Params`), but no query
                    // value may hold U+0000.
                    "propertyNames": { "pattern": NO_NUL },
                    "additionalProperties": { "type": "string", "pattern": NO_NUL },
                },
            }),
        );
        let Some(ok) = op.pointer_mut("/responses/200/content/application~1json/schema") else {
            continue;
        };
        let Some(name) = ok["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .map(str::to_string)
        else {
            continue;
        };
        let Some(item) = name.strip_prefix("PageEnvelope_") else {
            continue;
        };
        *ok = json!({ "oneOf": [
            { "$ref": format!("#/components/schemas/{name}") },
            { "$ref": format!("#/components/schemas/CursorEnvelope_{item}") },
        ]});
        envelopes.push(item.to_string());
    }
    let schemas = schemas(doc);
    for item in envelopes {
        let Some(page) = schemas.get(&format!("PageEnvelope_{item}")) else {
            continue;
        };
        let data = page["properties"]["data"].clone();
        schemas.insert(
            format!("CursorEnvelope_{item}"),
            json!({
                "type": "object",
                "description": "A cursor-paginated list (`page[size]` or `page[cursor]` given).",
                "required": ["success", "data", "links", "meta"],
                "properties": {
                    "success": { "type": "boolean", "description": "Always `true`." },
                    "data": data,
                    "links": {
                        "type": "array",
                        "items": { "type": "string" },
                        "description": "The next and previous page URLs, those that exist, in that order.",
                    },
                    "meta": { "$ref": "#/components/schemas/CursorMeta" },
                },
            }),
        );
    }
}

/// A `text/event-stream` answer is a sequence of events, each with `id`, `event` and `data`
/// (the event as JSON text): the schema describes one event, as SSE tools read it.
fn event_stream(doc: &mut Value) {
    for (_, _, op) in operations(doc) {
        if let Some(s) = op.pointer_mut("/responses/200/content/text~1event-stream/schema") {
            *s = json!({
                "type": "object",
                "description": "One server-sent event.",
                "required": ["id", "event", "data"],
                "properties": {
                    "id": { "type": "string", "description": "The position to resume after (`Last-Event-ID`)." },
                    "event": { "type": "string", "description": "The event name, e.g. `record.created`." },
                    "data": { "type": "string", "description": "The event, as JSON text." },
                },
            });
        }
    }
}

fn types(node: &Value) -> Vec<&str> {
    match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Makes one schema node (and the inline schemas inside it) say what can be stored.
fn restrict(node: &mut Value, refs: &mut Vec<String>) {
    let Some(obj) = node.as_object_mut() else {
        return;
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        if let Some(name) = r.strip_prefix("#/components/schemas/") {
            refs.push(name.to_string());
        }
        return;
    }
    let v = Value::Object(obj.clone());
    let ts = types(&v);
    // `format: uuid` is the hyphenated form only; the server reads every spelling of one.
    if ts.contains(&"string") && obj.get("format").is_some_and(|f| f == "uuid") {
        obj.remove("format");
        obj.insert("pattern".into(), UUID_FORMS.into());
    }
    // A string with a pattern of its own keeps it: every such pattern of ours already leaves
    // U+0000 out (a second pattern in `allOf` would make generators miss most values).
    if ts.contains(&"string") && !obj.contains_key("enum") && !obj.contains_key("pattern") {
        obj.insert("pattern".into(), NO_NUL.into());
    }
    if ts.contains(&"number") {
        obj.entry("minimum").or_insert(json!(-MAX_NUMBER));
        obj.entry("maximum").or_insert(json!(MAX_NUMBER));
    }
    let free_form = ts.contains(&"object")
        && !obj.contains_key("properties")
        && !obj.contains_key("additionalProperties");
    if free_form {
        obj.insert(
            "additionalProperties".into(),
            json!({ "$ref": "#/components/schemas/JsonValue" }),
        );
        obj.insert("propertyNames".into(), json!({ "pattern": NO_NUL }));
        refs.push("JsonValue".into());
    }
    for key in ["properties"] {
        if let Some(props) = obj.get_mut(key).and_then(Value::as_object_mut) {
            for p in props.values_mut() {
                restrict(p, refs);
            }
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(inner) = obj.get_mut(key) {
            restrict(inner, refs);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = obj.get_mut(key).and_then(Value::as_array_mut) {
            for s in list {
                restrict(s, refs);
            }
        }
    }
}

fn storable(doc: &mut Value) {
    schemas(doc).insert(
        "JsonValue".into(),
        json!({
            "description": "Any JSON value Laneway can store: strings and keys without U+0000, \
                numbers within ±1e308.",
            "type": ["null", "boolean", "number", "string", "array", "object"],
            "pattern": NO_NUL,
            "minimum": -MAX_NUMBER,
            "maximum": MAX_NUMBER,
            "items": { "$ref": "#/components/schemas/JsonValue" },
            "propertyNames": { "pattern": NO_NUL },
            "additionalProperties": { "$ref": "#/components/schemas/JsonValue" },
        }),
    );
    let mut refs: Vec<String> = Vec::new();
    for (path, _, op) in operations(doc) {
        if let Some(s) = op.pointer_mut("/requestBody/content/application~1json/schema") {
            restrict(s, &mut refs);
        }
        // The public routes have no key, but a per-address limit (`api::forms`, contracts).
        if path.starts_with("/public/") {
            if let Some(r) = op.get_mut("responses").and_then(Value::as_object_mut) {
                r.entry("429")
                    .or_insert_with(|| json!({ "$ref": "#/components/responses/TooManyRequests" }));
            }
        }
        for p in op
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            // A header has a value or is absent: never JSON `null` (utoipa's `Option`).
            if p["in"] == "header" {
                if let Some(ts) = p["schema"].get_mut("type").and_then(Value::as_array_mut) {
                    ts.retain(|t| t != "null");
                }
            }
            let uuid = p["in"] == "query"
                && UUID_QUERY.contains(&p["name"].as_str().unwrap_or(""))
                && p["schema"].get("pattern").is_none();
            if let Some(s) = p.get_mut("schema") {
                if uuid {
                    s["pattern"] = format!("^$|{UUID_FORMS}").into();
                }
                restrict(s, &mut refs);
            }
        }
    }
    // Every component a request can reach, once.
    let mut done: Vec<String> = vec!["JsonValue".into()];
    while let Some(name) = refs.pop() {
        if done.contains(&name) {
            continue;
        }
        done.push(name.clone());
        if let Some(s) = schemas(doc).get_mut(&name) {
            restrict(s, &mut refs);
        }
    }
}

/// Where the id of what an operation created leads, besides `<its path>/{id}`.
const ALSO_CREATES: &[(&str, &str)] = &[("create_stage", "/schema/stages/{id}")];

fn links(doc: &mut Value) {
    let paths: Vec<String> = doc["paths"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    // (creating operation's path, its success status, the item path it leads to)
    let mut plan: Vec<(String, String, String)> = Vec::new();
    for (path, method, op) in operations(doc) {
        if method != "post" {
            continue;
        }
        let Some(status) = ["201", "200"]
            .into_iter()
            .find(|s| op["responses"].get(*s).is_some())
        else {
            continue;
        };
        let id = op["operationId"].as_str().unwrap_or("");
        let prefix = format!("{path}/{{");
        for item in &paths {
            let direct = item.starts_with(&prefix)
                && item.ends_with('}')
                && !item[prefix.len()..].contains('/');
            let also = ALSO_CREATES.iter().any(|(o, p)| *o == id && p == item);
            if (status == "201" && direct) || also {
                plan.push((path.clone(), status.to_string(), item.clone()));
            }
        }
    }
    for (path, status, item) in plan {
        let last = item
            .rsplit('{')
            .next()
            .unwrap_or("")
            .trim_end_matches('}')
            .to_string();
        let targets: Vec<(String, Vec<String>)> = doc["paths"][&item]
            .as_object()
            .map(|ops| {
                ops.values()
                    .filter_map(|op| {
                        let id = op["operationId"].as_str()?.to_string();
                        let names = op["parameters"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter(|p| p["in"] == "path")
                            .filter_map(|p| p["name"].as_str().map(str::to_string))
                            .collect();
                        Some((id, names))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let Some(post) = doc.pointer_mut(&format!(
            "/paths/{}/post/responses/{status}",
            path.replace('~', "~0").replace('/', "~1")
        )) else {
            continue;
        };
        let Some(response) = post.as_object_mut() else {
            continue;
        };
        let links = response
            .entry("links")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("links is an object");
        for (target, names) in targets {
            let parameters: Map<String, Value> = names
                .iter()
                .map(|n| {
                    let from = if *n == last {
                        "$response.body#/data/id".to_string()
                    } else {
                        format!("$request.path.{n}")
                    };
                    (n.clone(), Value::String(from))
                })
                .collect();
            links.insert(
                target.clone(),
                json!({ "operationId": target, "parameters": parameters }),
            );
        }
    }
}
