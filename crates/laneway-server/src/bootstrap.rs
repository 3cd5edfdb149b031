//! First start and new workspaces: the "Default" workspace, its owner, the demo schema of
//! spec §4.1, and one admin key.

use laneway_core::ids::{new_id, new_workspace_id};
use laneway_core::model::{Member, ObjectType, Pipeline, Role, Scope, Stage, Workspace};
use laneway_core::time::now;
use laneway_store::repo::{members, schema, workspaces};
use laneway_store::{Db, Session, StoreResult};

pub const OWNER_EMAIL: &str = "owner@laneway.local";

/// Creates a workspace with the demo schema, in the caller's transaction.
pub async fn create_workspace(s: &mut Session, name: &str) -> StoreResult<Workspace> {
    let at = now();
    let ws = Workspace {
        id: new_workspace_id(),
        name: name.to_string(),
        time_zone: "UTC".to_string(),
        created_at: at,
    };
    workspaces::insert(s, &ws).await?;
    let types = [
        ("Lead", "lead", Some("👤")),
        ("Job", "job", Some("🔧")),
        ("Estimate", "estimate", Some("📋")),
        ("Client", "client", Some("🏠")),
        ("Contact", "contact", Some("📇")),
        ("Company", "company", Some("🏢")),
    ];
    for (name, slug, icon) in types {
        let t = ObjectType {
            id: new_id(),
            name: name.into(),
            slug: slug.into(),
            icon: icon.map(String::from),
            fields: vec![],
        };
        schema::insert_object_type(s, &ws.id, &t, at).await?;
    }
    let pid = new_id();
    let stages = [("New", "new"), ("Contacted", "contacted"), ("Won", "won")]
        .iter()
        .enumerate()
        .map(|(i, (name, slug))| Stage {
            id: new_id(),
            name: (*name).into(),
            slug: (*slug).into(),
            position: i as i64,
            pipeline_id: Some(pid),
        })
        .collect();
    let p = Pipeline {
        id: pid,
        name: "Main Sales".into(),
        slug: "main-sales".into(),
        stages,
    };
    schema::insert_pipeline(s, &ws.id, &p, at).await?;
    Ok(ws)
}

/// Creates a member in the caller's transaction.
pub async fn create_member(
    s: &mut Session,
    ws: &str,
    name: &str,
    email: &str,
    role: Role,
    password_hash: Option<&str>,
) -> StoreResult<Member> {
    let at = now();
    let m = Member {
        id: new_id(),
        name: name.to_string(),
        email: email.trim().to_lowercase(),
        role,
        created_at: at,
        updated_at: at,
    };
    members::insert(s, ws, &m, password_hash).await?;
    Ok(m)
}

/// On an empty database: creates workspace "Default", its owner, the demo schema and an admin
/// key, and returns the key's token (to print once). Otherwise changes nothing and returns
/// `None`. Serialised across processes, so two servers starting at once bootstrap once.
pub async fn first_start(db: &Db) -> StoreResult<Option<String>> {
    let mut s = db.write().await?;
    s.lock_bootstrap().await?;
    if workspaces::count(&mut s).await? > 0 {
        return Ok(None);
    }
    let ws = create_workspace(&mut s, "Default").await?;
    let owner = create_member(&mut s, &ws.id, "Owner", OWNER_EMAIL, Role::Owner, None).await?;
    let (_, token) = crate::api::issue_key(
        &mut s,
        &ws.id,
        owner.id,
        "Bootstrap admin key".into(),
        Scope::Admin,
    )
    .await?;
    s.commit().await?;
    tracing::info!(workspace = %ws.id, "first start: created workspace 'Default' with an admin key");
    Ok(Some(token))
}
