//! Record rules shared by the handlers and by other resources that change records (member
//! deletion unassigns, stage deletion moves): placement on a board, data checks, and the
//! events of each change.

use laneway_core::events::{self, NewEvent, ALIASED_RECORD_TYPES};
use laneway_core::fields::{validate_data, Reference};
use laneway_core::model::{FieldDef, Pipeline, Record};
use laneway_core::position;
use laneway_core::time::now;
use laneway_store::repo::{events as event_repo, members, records, schema};
use laneway_store::{Session, StoreError};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::api::to_value;
use crate::error::{ApiError, ApiResult};

pub const MAX_TITLE: usize = 1000;

pub fn check_title(title: &str) -> ApiResult<()> {
    if title.chars().count() > MAX_TITLE {
        return Err(ApiError::invalid(
            "title",
            format!("'title' is longer than {MAX_TITLE} characters"),
        ));
    }
    Ok(())
}

/// `data` must be a JSON object; `null` is refused rather than silently emptied.
pub fn check_data_object(v: Option<Value>) -> ApiResult<Map<String, Value>> {
    match v {
        Some(Value::Object(m)) => Ok(m),
        Some(other) => Err(ApiError::invalid(
            "data",
            format!("'data' must be a JSON object, got {}", json_kind(&other)),
        )),
        None => Err(ApiError::invalid(
            "data",
            "'data' must be a JSON object, got null",
        )),
    }
}

pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks data against the object type's declared fields, including that member and record
/// references exist in the workspace.
pub async fn check_data(
    s: &mut Session,
    ws: &str,
    defs: &[FieldDef],
    data: &Map<String, Value>,
) -> ApiResult<()> {
    for r in validate_data(defs, data)? {
        match r {
            Reference::Member { key, id } => {
                if !members::exists(s, ws, id).await? {
                    return Err(ApiError::invalid(
                        &key,
                        format!("'{key}': member '{id}' not found"),
                    ));
                }
            }
            Reference::Record { key, id } => match records::get(s, ws, id).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => {
                    return Err(ApiError::invalid(
                        &key,
                        format!("'{key}': record '{id}' not found"),
                    ))
                }
                Err(e) => return Err(e.into()),
            },
        }
    }
    Ok(())
}

pub async fn check_assignee(s: &mut Session, ws: &str, id: Uuid) -> ApiResult<()> {
    if members::exists(s, ws, id).await? {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "assignee_id",
            format!("'assignee_id': member '{id}' not found in this workspace"),
        ))
    }
}

fn matches_key(id: Uuid, slug: &str, name: &str, key: &str) -> u8 {
    // 3: id, 2: slug, 1: exact name, 0: name ignoring case — lower wins only if nothing higher.
    if laneway_core::ids::parse_uuid(key) == Some(id) {
        3
    } else if slug == key {
        2
    } else if name == key {
        1
    } else if name.to_lowercase() == key.to_lowercase() {
        0
    } else {
        u8::MAX
    }
}

fn best<'a, T>(items: &'a [T], key: &str, f: impl Fn(&T) -> (Uuid, &str, &str)) -> Option<&'a T> {
    items
        .iter()
        .filter_map(|it| {
            let (id, slug, name) = f(it);
            let rank = matches_key(id, slug, name, key.trim());
            (rank != u8::MAX).then_some((rank, it))
        })
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, it)| it)
}

/// A board place: the pipeline and the stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub pipeline_id: Uuid,
    pub stage_id: Uuid,
}

/// Finds a pipeline by name, slug or id (400 when missing: it is a body reference).
pub fn find_pipeline<'a>(pipelines: &'a [Pipeline], key: &str) -> ApiResult<&'a Pipeline> {
    best(pipelines, key, |p| (p.id, p.slug.as_str(), p.name.as_str()))
        .ok_or_else(|| ApiError::invalid("pipeline", format!("Pipeline '{key}' not found")))
}

/// Resolves `pipeline` + optional `stage` (name, slug or id) to a place; pipeline alone means
/// its first stage.
pub fn resolve_named(
    pipelines: &[Pipeline],
    pipeline: &str,
    stage: Option<&str>,
) -> ApiResult<Place> {
    let p = find_pipeline(pipelines, pipeline)?;
    let st = match stage {
        Some(key) => best(&p.stages, key, |s| (s.id, s.slug.as_str(), s.name.as_str()))
            .ok_or_else(|| {
                ApiError::invalid(
                    "stage",
                    format!("Stage '{key}' not found in pipeline '{}'", p.slug),
                )
            })?,
        None => p.stages.first().ok_or_else(|| {
            ApiError::invalid("pipeline", format!("Pipeline '{}' has no stages", p.slug))
        })?,
    };
    Ok(Place {
        pipeline_id: p.id,
        stage_id: st.id,
    })
}

/// Resolves a stage id of this workspace to its place.
pub async fn resolve_stage_id(s: &mut Session, ws: &str, id: Uuid) -> ApiResult<Place> {
    match schema::get_stage(s, ws, id).await {
        Ok(st) => Ok(Place {
            pipeline_id: st.pipeline_id.unwrap_or_default(),
            stage_id: st.id,
        }),
        Err(StoreError::NotFound) => Err(ApiError::invalid(
            "stage_id",
            format!("Stage '{id}' not found"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The position for a card entering `stage`: the caller's (checked) or after the last card.
pub async fn position_in(
    s: &mut Session,
    ws: &str,
    stage: Uuid,
    wanted: Option<String>,
) -> ApiResult<String> {
    // Hold the stage until commit: a concurrent stage delete waits for this card (and then
    // sees it), and concurrent appends to the column see each other's positions.
    if !schema::lock_stage(s, ws, stage).await? {
        return Err(ApiError::invalid(
            "stage_id",
            format!("Stage '{stage}' not found"),
        ));
    }
    match wanted {
        Some(p) => {
            position::validate_position(&p)?;
            Ok(p)
        }
        None => {
            let last = records::last_position(s, ws, stage).await?;
            Ok(position::after(last.as_deref()))
        }
    }
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
    base
}

fn record_event(name: &str, data: Value, r: &Record) -> Vec<NewEvent> {
    let mut out = vec![NewEvent::new(
        name,
        "record",
        r.id.to_string(),
        data.clone(),
    )];
    let slug = r.object_types.slug.as_str();
    if ALIASED_RECORD_TYPES.contains(&slug) {
        let action = name.rsplit('.').next().unwrap_or("updated");
        out.push(NewEvent::new(
            format!("{slug}.{action}"),
            "record",
            r.id.to_string(),
            data,
        ));
    }
    out
}

/// `record.created` (+ `contact.created`/`company.created`), and `pipeline.stage_changed`
/// when the record starts on a board.
pub fn created_events(r: &Record) -> Vec<NewEvent> {
    let data = to_value(r);
    let mut out = record_event(events::RECORD_CREATED, data.clone(), r);
    if let Some(stage) = r.stage_id {
        out.push(NewEvent::new(
            events::STAGE_CHANGED,
            "record",
            r.id.to_string(),
            with(
                data,
                json!({"from_stage_id": null, "to_stage_id": stage, "pipeline_id": r.pipeline_id}),
            ),
        ));
    }
    out
}

/// `record.updated` with `changes`, plus `pipeline.stage_changed` and `record.moved` when the
/// card changed stage or position. Empty when nothing changed.
pub fn updated_events(old: &Record, new: &Record) -> Vec<NewEvent> {
    let old_v = to_value(old);
    let new_v = to_value(new);
    let changes = laneway_core::diff::changes(&old_v, &new_v);
    if changes.is_empty() {
        return vec![];
    }
    let mut out = record_event(
        events::RECORD_UPDATED,
        with(new_v.clone(), json!({"changes": changes})),
        new,
    );
    if old.stage_id != new.stage_id {
        out.push(NewEvent::new(
            events::STAGE_CHANGED,
            "record",
            new.id.to_string(),
            with(
                new_v.clone(),
                json!({"from_stage_id": old.stage_id, "to_stage_id": new.stage_id, "pipeline_id": new.pipeline_id.or(old.pipeline_id)}),
            ),
        ));
    }
    if old.stage_id != new.stage_id || old.position != new.position {
        out.push(NewEvent::new(
            events::RECORD_MOVED,
            "record",
            new.id.to_string(),
            with(
                new_v,
                json!({"from_stage_id": old.stage_id, "to_stage_id": new.stage_id, "position": new.position}),
            ),
        ));
    }
    out
}

pub fn deleted_events(r: &Record) -> Vec<NewEvent> {
    record_event(events::RECORD_DELETED, to_value(r), r)
}

/// Writes a changed record and its events in the caller's transaction. A no-op change writes
/// nothing and keeps `updated_at`.
pub async fn write_update(
    s: &mut Session,
    ws: &str,
    old: &Record,
    mut new: Record,
) -> ApiResult<Record> {
    new.updated_at = old.updated_at;
    let evs = updated_events(old, &new);
    if evs.is_empty() {
        return Ok(new);
    }
    new.updated_at = now();
    // Recompute so event payloads carry the new updated_at.
    let evs = updated_events(old, &new);
    records::update(s, ws, &new).await?;
    event_repo::insert(s, ws, evs, new.updated_at).await?;
    Ok(new)
}
