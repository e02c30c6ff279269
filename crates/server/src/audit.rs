//! The audit trail of the API: every write, every denied request, every login and every look at
//! members' records becomes an event in the store's hash-chained log before the answer leaves.
//!
//! Handlers describe what they did with an [`AuditNote`] in the response's extensions; this
//! middleware adds who (from the authentication middleware), from where and the outcome. Events
//! are written in batches by one task, and each response waits for its event to be stored.

use crate::AppState;
use crate::auth::{AuditWho, client_address};
use crate::error::{ApiError, Denied};
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sangathan_store::{AuditEvent, DynStore};
use tokio::sync::{mpsc, oneshot};

/// What a handler did, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    pub action: String,
    pub record: Option<String>,
    pub person_id: Option<i64>,
    /// The post used, when the handler knows which one allowed it.
    pub post: Option<String>,
    /// The actor, when the request authenticated itself (a login).
    pub actor: Option<String>,
    /// The event was stored already, in the same transaction as the write it describes (an
    /// enrolment on SQLite): the layer does not store it again when the answer is a success.
    pub stored: bool,
}

impl AuditNote {
    pub fn new(action: &str, record: impl Into<Option<String>>) -> AuditNote {
        AuditNote {
            action: action.into(),
            record: record.into(),
            ..Default::default()
        }
    }
    pub fn person(mut self, id: i64) -> Self {
        self.person_id = Some(id);
        self
    }
    pub fn post(mut self, post: Option<String>) -> Self {
        self.post = post;
        self
    }
    pub fn actor(mut self, actor: String) -> Self {
        self.actor = Some(actor);
        self
    }
    pub fn stored(mut self, stored: bool) -> Self {
        self.stored = stored;
        self
    }
    /// The event this note becomes: its own actor and post, else the caller's (`who`).
    pub fn event(&self, who: Option<&AuditWho>, address: String, outcome: String) -> AuditEvent {
        AuditEvent {
            actor: self
                .actor
                .clone()
                .or_else(|| who.map(|w| w.actor.clone()))
                .unwrap_or_else(|| "anonymous".into()),
            post: self
                .post
                .clone()
                .or_else(|| who.and_then(|w| w.posts.clone())),
            action: self.action.clone(),
            record: self.record.clone(),
            person_id: self.person_id,
            address: Some(address),
            outcome,
        }
    }
    /// Attach to a response.
    pub fn on(self, res: impl IntoResponse) -> Response {
        let mut r = res.into_response();
        r.extensions_mut().insert(self);
        r
    }
}

type Job = (AuditEvent, oneshot::Sender<bool>);

/// Writes events in batches; each sender learns whether its event was stored.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Job>,
}

impl AuditSink {
    pub fn start(store: DynStore) -> AuditSink {
        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut jobs = vec![first];
                while jobs.len() < 512 {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                let events: Vec<AuditEvent> = jobs.iter().map(|j| j.0.clone()).collect();
                let ok = match store.audit(&events).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(error = %e, events = events.len(), "cannot write audit events");
                        false
                    }
                };
                for (_, done) in jobs {
                    let _ = done.send(ok);
                }
            }
        });
        AuditSink { tx }
    }

    /// Store an event; false if it could not be.
    pub async fn record(&self, e: AuditEvent) -> bool {
        let (done, wait) = oneshot::channel();
        if self.tx.send((e, done)).await.is_err() {
            return false;
        }
        wait.await.unwrap_or(false)
    }
}

/// The outermost layer: sees every answer, 401s included.
pub async fn audit_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let address = client_address(req.extensions());
    let res = next.run(req).await;
    let status = res.status();
    let note = res.extensions().get::<AuditNote>().cloned();
    let who = res.extensions().get::<AuditWho>().cloned();
    let denied =
        res.extensions().get::<Denied>().is_some() || matches!(status.as_u16(), 401 | 403 | 429);
    let write = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if note.is_none() && !denied && !write {
        return res;
    }
    if note.as_ref().is_some_and(|n| n.stored) && status.is_success() && !denied {
        return res;
    }
    let note = note.unwrap_or_else(|| AuditNote::new(&format!("{method} {route}"), None));
    let outcome = if denied {
        "denied".to_string()
    } else if status.is_success() {
        "ok".to_string()
    } else {
        status.as_u16().to_string()
    };
    let event = note.event(who.as_ref(), address, outcome);
    if state.audit.record(event).await {
        res
    } else {
        // Nothing leaves that could not be traced.
        ApiError::Internal.into_response()
    }
}
