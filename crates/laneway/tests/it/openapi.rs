//! `GET /openapi.json` (spec §2): an OpenAPI 3.1 description of every endpoint.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{Backend, TestApp};

/// Every route the routers register (`crates/laneway-server/src/api/*.rs`, `router()`), with its
/// methods — written out by hand so that a route added without an annotation fails here.
const ROUTES: &[(&str, &[&str])] = &[
    ("/openapi.json", &["get"]),
    ("/me", &["get"]),
    ("/members", &["get", "post"]),
    ("/members/{id}", &["get", "patch", "delete"]),
    ("/keys", &["get", "post"]),
    ("/keys/{id}", &["get", "delete"]),
    ("/schema", &["get"]),
    ("/schema/object-types", &["get", "post"]),
    ("/schema/object-types/{id}", &["get", "patch", "delete"]),
    ("/schema/pipelines", &["get", "post"]),
    ("/schema/pipelines/{id}", &["get", "patch", "delete"]),
    ("/schema/pipelines/{id}/stages", &["post"]),
    ("/notes", &["get", "post"]),
    ("/notes/{id}", &["get", "patch", "delete"]),
    ("/records/{id}/comments", &["get", "post"]),
    ("/records/{id}/comments/{comment_id}", &["get"]),
    ("/records/tasks/{id}/comments", &["get", "post"]),
    ("/records/tasks/{id}/comments/{comment_id}", &["get"]),
    ("/contracts", &["get", "post"]),
    ("/contracts/{id}", &["get", "patch", "delete"]),
    ("/contracts/{id}/send", &["post"]),
    ("/public/contracts/{token}", &["get"]),
    ("/public/contracts/{token}/sign", &["post"]),
    ("/forms", &["get", "post"]),
    ("/forms/{id}", &["get", "patch", "delete"]),
    ("/public/forms/{id}/submit", &["post"]),
    ("/schema/stages/{id}", &["get", "patch", "delete"]),
    ("/workspace", &["get", "patch"]),
    ("/webhooks", &["get", "post", "delete"]),
    ("/webhooks/{id}", &["get", "patch", "delete"]),
    ("/webhooks/{id}/rotate-secret", &["post"]),
    ("/webhooks/{id}/test", &["post"]),
    ("/webhooks/{id}/deliveries", &["get"]),
    ("/webhooks/{id}/deliveries/{delivery_id}", &["get"]),
    (
        "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        &["post"],
    ),
    ("/webhooks/{id}/recover", &["post"]),
    ("/records", &["get", "post"]),
    ("/records/{id}", &["get", "patch", "delete"]),
    ("/records/{id}/activity", &["get"]),
    ("/records/tasks", &["get", "post"]),
    ("/records/tasks/{id}", &["get", "patch", "delete"]),
    ("/events", &["get"]),
    ("/events/stream", &["get"]),
    ("/events/{id}", &["get"]),
];

/// The list endpoints: they take `page` and `per_page`, and answer with `meta`.
const LISTS: &[&str] = &[
    "/members",
    "/keys",
    "/records",
    "/records/{id}/activity",
    "/records/tasks",
    "/events",
    "/webhooks",
    "/webhooks/{id}/deliveries",
];

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Follows a local `$ref` (`#/components/...`) to what it names.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            resolve(
                doc,
                doc.pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling $ref {r}")),
            )
        }
        None => v,
    }
}

/// The JSON schema of an operation's response with this status.
fn response_schema<'a>(doc: &'a Value, op: &'a Value, status: &str) -> &'a Value {
    let resp = resolve(doc, &op["responses"][status]);
    resolve(doc, &resp["content"]["application/json"]["schema"])
}

/// A success schema's envelopes: itself, or each branch of its `oneOf`, resolved.
fn envelopes<'a>(doc: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    match schema["oneOf"].as_array() {
        Some(branches) => branches.iter().map(|b| resolve(doc, b)).collect(),
        None => vec![schema],
    }
}

fn param_names(op: &Value, location: &str) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == location)
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_describes_every_route() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    // Public: no API key needed.
    let r = app
        .send(app.client.request(Method::GET, app.url("/openapi.json")))
        .await;
    assert_eq!(r.status.as_u16(), 200, "body: {}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "not JSON: {:?}",
        r.header("content-type")
    );
    let doc = &r.body;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1."), "not OpenAPI 3.1: {version}");
    assert_eq!(doc["info"]["title"], "Laneway API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["servers"][0]["url"], "/api/v1");

    // Exactly the routers' routes and methods: nothing missing, nothing invented.
    let expected: BTreeMap<String, BTreeSet<String>> = ROUTES
        .iter()
        .map(|(p, ms)| (p.to_string(), ms.iter().map(|m| m.to_string()).collect()))
        .collect();
    let paths = doc["paths"].as_object().expect("paths");
    let documented: BTreeMap<String, BTreeSet<String>> = paths
        .iter()
        .map(|(p, item)| {
            let methods = item
                .as_object()
                .expect("path item")
                .keys()
                .filter(|k| HTTP_METHODS.contains(&k.as_str()))
                .cloned()
                .collect();
            (p.clone(), methods)
        })
        .collect();
    assert_eq!(documented, expected);

    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");

    for (path, methods) in &expected {
        for method in methods {
            let op = &doc["paths"][path][method];
            let what = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().expect("responses");

            // A success answer in the real envelope.
            let (status, _) = responses
                .iter()
                .find(|(s, _)| s.starts_with('2'))
                .unwrap_or_else(|| panic!("{what}: no 2xx response"));
            let expected_status = match (method.as_str(), path.as_str()) {
                // The webhook delete of the spec answers 204 No Content.
                ("delete", "/webhooks/{id}") => "204",
                // Actions on a webhook (rotate, test, redeliver, recover) create nothing.
                ("post", p) if p.starts_with("/webhooks/") => "200",
                // Sending and signing a contract change it; they create nothing.
                ("post", "/contracts/{id}/send" | "/public/contracts/{token}/sign") => "200",
                ("post", _) => "201",
                _ => "200",
            };
            assert_eq!(status, expected_status, "{what}");
            if status == "204" {
                assert!(
                    resolve(doc, &op["responses"][status])
                        .get("content")
                        .is_none(),
                    "{what}: 204 has no body"
                );
            } else if path == "/events/stream" {
                // Server-Sent Events, not a JSON envelope.
                let content = &resolve(doc, &op["responses"][status])["content"];
                assert!(
                    content["text/event-stream"].is_object(),
                    "{what}: {content}"
                );
            } else if path != "/openapi.json" {
                // Lists answer one of two envelopes (offset or cursor mode): each is checked.
                for ok in envelopes(doc, response_schema(doc, op, status)) {
                    assert_eq!(ok["properties"]["success"]["type"], "boolean", "{what}");
                    assert!(ok["properties"]["data"].is_object(), "{what}: no data");
                }
                let ok = envelopes(doc, response_schema(doc, op, status))[0];
                if method == "delete" {
                    let data = resolve(doc, &ok["properties"]["data"]);
                    assert!(data["properties"]["deleted"].is_object(), "{what}");
                    assert!(data["properties"]["id"].is_object(), "{what}");
                }
            }

            // Path parameters are declared.
            if path.contains("{id}") {
                assert!(
                    param_names(op, "path").contains("id"),
                    "{what}: no id param"
                );
                assert!(responses.contains_key("404"), "{what}: no 404");
            }

            // Every error answer is the error envelope.
            for (status, resp) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                let schema = resolve(
                    doc,
                    &resolve(doc, resp)["content"]["application/json"]["schema"],
                );
                assert_eq!(
                    schema["properties"]["success"]["type"], "boolean",
                    "{what} {status}: not the error envelope"
                );
                assert!(
                    schema["properties"]["code"].is_object(),
                    "{what} {status}: not the error envelope"
                );
            }

            // Auth and scope, said per operation.
            if path == "/openapi.json" || path.starts_with("/public/") {
                assert!(op.get("security").is_none(), "{what} must be public");
                continue;
            }
            let scope = op["security"][0]["bearer"][0]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no bearer scope"));
            assert!(
                ["read", "write", "admin"].contains(&scope),
                "{what}: {scope}"
            );
            if method == "get" {
                let needed = if path.starts_with("/keys") || path.starts_with("/webhooks") {
                    "admin"
                } else {
                    "read"
                };
                assert_eq!(scope, needed, "{what}");
            } else {
                assert_ne!(scope, "read", "{what}: writes need write or admin");
                assert!(responses.contains_key("403"), "{what}: no 403");
            }
            let description = op["description"].as_str().unwrap_or_default();
            assert!(
                description.contains(&format!("scope `{scope}`")),
                "{what}: description does not name the scope: {description}"
            );
            for status in ["401", "429"] {
                assert!(responses.contains_key(status), "{what}: no {status}");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(responses.contains_key(status), "{what}: no {status}");
                }
            }
            if method == "post" {
                assert!(responses.contains_key("409"), "{what}: no 409");
                assert!(
                    param_names(op, "header").contains("Idempotency-Key"),
                    "{what}: no Idempotency-Key"
                );
            }
            if method == "patch" || method == "delete" {
                assert!(responses.contains_key("412"), "{what}: no 412");
                assert!(param_names(op, "header").contains("If-Match"), "{what}");
            }
        }
    }

    // Lists take either pagination mode, never both (one exploded `paging` object that may
    // not mix them), and answer the envelope of the mode chosen.
    for path in LISTS {
        let op = &doc["paths"][path]["get"];
        let paging = op["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "paging"))
            .unwrap_or_else(|| panic!("GET {path}: no paging parameter"));
        assert_eq!(paging["in"], "query");
        assert_eq!(paging["style"], "form");
        assert_eq!(paging["explode"], true);
        let props = &paging["schema"]["properties"];
        for k in ["page", "per_page", "page[size]", "page[cursor]"] {
            assert!(props[k].is_object(), "GET {path}: paging.{k}");
        }
        let mixed = paging["schema"]["not"]["anyOf"]
            .as_array()
            .expect("not anyOf");
        assert!(
            mixed.contains(&json!({"required": ["page", "page[size]"]})),
            "GET {path}: {mixed:?}"
        );
        let query = param_names(op, "query");
        assert!(!query.contains("page"), "GET {path}: page outside paging");
        let both = envelopes(doc, response_schema(doc, op, "200"));
        assert_eq!(both.len(), 2, "GET {path}: one envelope per mode");
        let meta = resolve(doc, &both[0]["properties"]["meta"]);
        for k in ["total", "page", "per_page"] {
            assert!(meta["properties"][k].is_object(), "GET {path}: meta.{k}");
        }
        let cursor = resolve(doc, &both[1]["properties"]["meta"]);
        for k in ["path", "per_page", "next_cursor", "prev_cursor"] {
            assert!(
                cursor["properties"][k].is_object(),
                "GET {path}: cursor meta.{k}"
            );
        }
        assert!(
            both[1]["required"]
                .as_array()
                .unwrap()
                .contains(&json!("links")),
            "GET {path}: cursor envelope without links"
        );
    }
    // Creates link to what they created, for clients and the stateful fuzzer.
    let links = &doc["paths"]["/records"]["post"]["responses"]["201"]["links"];
    for target in ["get_record", "update_record", "delete_record"] {
        assert_eq!(
            links[target]["parameters"]["id"], "$response.body#/data/id",
            "POST /records link {target}: {links}"
        );
    }
    let records_query = param_names(&doc["paths"]["/records"]["get"], "query");
    for p in ["type", "search", "assignee_id", "stage_id", "pipeline_id"] {
        assert!(records_query.contains(p), "GET /records: no '{p}'");
    }
    let tasks_query = param_names(&doc["paths"]["/records/tasks"]["get"], "query");
    for p in ["record_id", "assignee_id", "completed"] {
        assert!(tasks_query.contains(p), "GET /records/tasks: no '{p}'");
    }
    assert!(param_names(&doc["paths"]["/events"]["get"], "query").contains("event"));
    let stream = &doc["paths"]["/events/stream"]["get"];
    assert!(param_names(stream, "query").contains("events"));
    assert!(param_names(stream, "header").contains("Last-Event-ID"));
    assert!(
        param_names(&doc["paths"]["/schema/stages/{id}"]["delete"], "query").contains("move_to")
    );

    // Schemas: the resource types and the error envelope, from the code.
    let schemas = &doc["components"]["schemas"];
    let record = &schemas["Record"];
    assert!(record["properties"]["object_types"].is_object(), "{record}");
    assert!(record["properties"]["data"].is_object(), "{record}");
    let error = &schemas["Error"];
    assert_eq!(error["properties"]["code"]["type"], "string", "{error}");
    let required: BTreeSet<&str> = error["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, BTreeSet::from(["success", "error", "code"]));
    assert!(error["properties"]["details"].is_object());
    // Request bodies are the DTOs, with their doc comments and unknown fields refused.
    let record_in = resolve(
        doc,
        &doc["paths"]["/records"]["post"]["requestBody"]["content"]["application/json"]["schema"],
    );
    assert_eq!(record_in["additionalProperties"], false);
    assert_eq!(record_in["required"], serde_json::json!(["type"]));
    assert!(record_in["properties"]["type"]["description"].is_string());
    // PATCH fields where `null` means "clear" say so.
    let patch = resolve(
        doc,
        &doc["paths"]["/records/{id}"]["patch"]["requestBody"]["content"]["application/json"]
            ["schema"],
    );
    let assignee_types = &patch["properties"]["assignee_id"]["type"];
    assert!(
        assignee_types
            .as_array()
            .is_some_and(|t| t.contains(&Value::from("null"))),
        "assignee_id is not nullable: {patch}"
    );

    // And the documented paths are real routes: an undocumented method on each is a 405
    // (an unknown path would be a 404), without touching any data.
    for path in expected.keys() {
        let concrete = path.replace("{id}", "0190b5a4-0000-7000-8000-000000000000");
        let r = app.send(app.req(Method::PUT, &concrete)).await;
        assert_eq!(r.status.as_u16(), 405, "PUT {concrete}: {}", r.text);
    }

    app.stop().await;
}
