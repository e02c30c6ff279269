//! Who the command line acts as: the installation's operator (the built-in state admin), or with
//! `--as MOBILE` a user, narrowed to that user's posts. Every command that reads or writes members
//! goes through the same policy as the API, and is audited.

use anyhow::{anyhow, bail};
use sangathan_core::access::{Action, Scope, Wings};
use sangathan_core::ids::Mobile;
use sangathan_store::{AuditEvent, DynStore, OPERATOR, clock};
use std::sync::Arc;

pub struct Operator {
    pub actor: String,
    /// None: the operator, who may do everything.
    pub scope: Option<Arc<Scope>>,
    store: DynStore,
}

impl Operator {
    /// The installation's operator (the built-in state admin).
    pub fn operator(store: &DynStore) -> Operator {
        Operator {
            actor: OPERATOR.into(),
            scope: None,
            store: store.clone(),
        }
    }

    pub async fn resolve(store: &DynStore, as_mobile: Option<&str>) -> anyhow::Result<Operator> {
        let Some(m) = as_mobile else {
            return Ok(Operator::operator(store));
        };
        let mobile = Mobile::parse(m).map_err(|e| anyhow!("--as: {} | {}", e.en, e.hi))?;
        let user = store
            .user_by_mobile(mobile.e164())
            .await?
            .filter(|u| !u.disabled)
            .ok_or_else(|| anyhow!("--as: no enabled user logs in with this mobile"))?;
        let scope = store.scope(user.person_id, clock::today()).await?;
        Ok(Operator {
            actor: format!("person:{}", user.person_id),
            scope: Some(Arc::new(scope)),
            store: store.clone(),
        })
    }

    /// The wings this command may touch at `unit`; an unknown unit and one outside the scope
    /// get the same answer.
    pub async fn wings(&self, action: Action, unit: &str) -> anyhow::Result<Wings> {
        let place = self.store.place(unit).await?;
        let w = match (&self.scope, &place) {
            (_, None) => Wings::none(),
            (None, Some(_)) => Wings::All,
            (Some(s), Some(p)) => s.wings(action, p),
        };
        if w.is_none() {
            bail!("unknown unit: {unit}");
        }
        Ok(w)
    }

    /// The wings at `unit`, narrowed to `wing` if one is named: its code or its display name in
    /// English or Hindi, as an import's wing column names it.
    pub async fn wings_named(
        &self,
        action: Action,
        unit: &str,
        wing: Option<&str>,
    ) -> anyhow::Result<Wings> {
        let w = self.wings(action, unit).await?;
        let Some(code) = wing else { return Ok(w) };
        let wings = self.store.wings().await?;
        let named = code.trim();
        // A code first, so that a wing whose display name is another wing's code cannot shadow it.
        let id = wings
            .iter()
            .find(|x| x.code.eq_ignore_ascii_case(named))
            .or_else(|| wings.iter().find(|x| x.name.to_lowercase() == named.to_lowercase() || x.name_hi == named))
            .map(|x| x.id)
            .ok_or_else(|| anyhow!("unknown wing: {code}"))?;
        Ok(w.narrow(Some(id)))
    }

    /// Refuse an action the user's posts allow nowhere.
    pub fn must_be_able(&self, action: Action) -> anyhow::Result<()> {
        match &self.scope {
            Some(s) if !s.may_somewhere(action) => {
                bail!("your posts do not allow this ({})", action.code())
            }
            _ => Ok(()),
        }
    }

    pub fn post(&self) -> Option<String> {
        match &self.scope {
            None => Some("state-admin (operator)".into()),
            Some(s) => s.labels(),
        }
    }

    /// An audit event of this command, done.
    pub fn event(
        &self,
        action: &str,
        record: Option<String>,
        person_id: Option<i64>,
    ) -> AuditEvent {
        AuditEvent {
            actor: self.actor.clone(),
            post: self.post(),
            action: action.into(),
            record,
            person_id,
            address: Some("cli".into()),
            outcome: "ok".into(),
        }
    }

    /// Record what the command did.
    pub async fn audit(
        &self,
        action: &str,
        record: Option<String>,
        person_id: Option<i64>,
    ) -> anyhow::Result<()> {
        self.store
            .audit(&[self.event(action, record, person_id)])
            .await?;
        Ok(())
    }
}
