//! The audit trail: who did what, when, from where. Events never carry a password, PIN or
//! token; details are small JSON objects chosen by the caller.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;

use super::error::IdentityError;
use super::model::AuditEventView;
use super::policy::{OrgScope, Principal};
use crate::entity::audit_event;

/// Where a request came from, as far as the server can tell.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientMeta {
    /// The key rate limits count by: the client's address, or `unknown`.
    pub fn ip_or_unknown(&self) -> &str {
        self.ip.as_deref().unwrap_or("unknown")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// Who acted.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: &'static str,
    pub user_id: Option<i64>,
    pub api_key_id: Option<i64>,
    pub label: Option<String>,
}

impl Actor {
    pub fn anonymous(label: Option<String>) -> Actor {
        Actor { kind: "anonymous", user_id: None, api_key_id: None, label }
    }

    pub fn system(label: &str) -> Actor {
        Actor { kind: "system", user_id: None, api_key_id: None, label: Some(label.to_owned()) }
    }

    pub fn user(id: i64, email: &str) -> Actor {
        Actor { kind: "user", user_id: Some(id), api_key_id: None, label: Some(email.to_owned()) }
    }

    pub fn of(p: &Principal) -> Actor {
        match p {
            Principal::Anonymous => Actor::anonymous(None),
            Principal::Tenant(t) => Actor::user(t.user_id, &t.email),
            Principal::Staff(s) => Actor::user(s.user_id, &s.email),
            Principal::ApiKey(k) => {
                Actor { kind: "api_key", user_id: None, api_key_id: Some(k.key_id), label: Some(k.name.clone()) }
            }
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: &'static str,
    pub outcome: Outcome,
    pub actor: Actor,
    pub organisation_id: Option<i64>,
    pub object_type: Option<&'static str>,
    pub object_id: Option<String>,
    pub details: Value,
}

impl Event {
    pub fn new(action: &'static str, outcome: Outcome, actor: Actor) -> Event {
        Event {
            action,
            outcome,
            actor,
            organisation_id: None,
            object_type: None,
            object_id: None,
            details: Value::Object(Default::default()),
        }
    }

    pub fn org(mut self, org: Option<i64>) -> Event {
        self.organisation_id = org;
        self
    }

    pub fn object(mut self, kind: &'static str, id: impl ToString) -> Event {
        self.object_type = Some(kind);
        self.object_id = Some(id.to_string());
        self
    }

    pub fn details(mut self, details: Value) -> Event {
        self.details = details;
        self
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Records `event` on `conn` (inside the caller's transaction when it has one).
pub async fn record(conn: &impl ConnectionTrait, event: Event, meta: &ClientMeta) -> Result<(), sea_orm::DbErr> {
    audit_event::ActiveModel {
        at: Set(Utc::now()),
        actor_kind: Set(event.actor.kind.to_owned()),
        actor_user_id: Set(event.actor.user_id),
        actor_api_key_id: Set(event.actor.api_key_id),
        actor_label: Set(event.actor.label.map(|l| truncate(&l, 254))),
        organisation_id: Set(event.organisation_id),
        action: Set(event.action.to_owned()),
        object_type: Set(event.object_type.map(str::to_owned)),
        object_id: Set(event.object_id),
        outcome: Set(event.outcome.as_str().to_owned()),
        ip: Set(meta.ip.as_deref().map(|s| truncate(s, 64))),
        user_agent: Set(meta.user_agent.as_deref().map(|s| truncate(s, 255))),
        details: Set(event.details.to_string()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Records `event`, logging instead of failing the request if the database refuses.
/// For events outside a transaction whose own work already happened (a failed sign-in).
pub async fn record_best_effort(conn: &impl ConnectionTrait, event: Event, meta: &ClientMeta) {
    let action = event.action;
    if let Err(e) = record(conn, event, meta).await {
        tracing::error!(error = %e, action, "cannot write an audit event");
    }
}

/// Filters for reading the trail.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub actor_user_id: Option<i64>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Events in `scope`, newest first, `limit` at most, older than id `before`.
pub async fn list(
    conn: &impl ConnectionTrait,
    scope: &OrgScope,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<(Vec<AuditEventView>, bool), IdentityError> {
    let mut q = audit_event::Entity::find().order_by_desc(audit_event::Column::Id).limit(limit + 1);
    let mut org_cond = sea_orm::Condition::any().add(audit_event::Column::OrganisationId.is_in(scope.org_ids.clone()));
    if scope.include_unassigned {
        org_cond = org_cond.add(audit_event::Column::OrganisationId.is_null());
    }
    q = q.filter(org_cond);
    if let Some(b) = before {
        q = q.filter(audit_event::Column::Id.lt(b));
    }
    if let Some(a) = &filter.action {
        q = q.filter(audit_event::Column::Action.eq(a.clone()));
    }
    if let Some(o) = &filter.outcome {
        q = q.filter(audit_event::Column::Outcome.eq(o.clone()));
    }
    if let Some(u) = filter.actor_user_id {
        q = q.filter(audit_event::Column::ActorUserId.eq(u));
    }
    if let Some(from) = filter.from.and_then(|d| d.and_hms_opt(0, 0, 0)) {
        q = q.filter(audit_event::Column::At.gte(from.and_utc()));
    }
    if let Some(to) = filter.to.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0)) {
        q = q.filter(audit_event::Column::At.lt(to.and_utc()));
    }
    let rows = q.all(conn).await?;
    let more = rows.len() as u64 > limit;
    let items = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| AuditEventView {
            id: r.id,
            at: r.at,
            actor_kind: r.actor_kind,
            actor: r.actor_label,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            outcome: r.outcome,
            ip: r.ip,
            user_agent: r.user_agent,
            details: serde_json::from_str(&r.details).unwrap_or(Value::Null),
        })
        .collect();
    Ok((items, more))
}
