//! Alert rules (metric thresholds, node offline, deploy failed) and the
//! events they raise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{SqlStore, check_name, from_json, to_json};
use crate::db::{now_ms, on_pool};
use crate::error::{DbContext, Error, Result};

/// Direction of a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// Fires when the value is above the threshold.
    Above,
    /// Fires when the value is below the threshold.
    Below,
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertCondition {
    /// A metric crosses a threshold.
    Threshold {
        /// Metric name, e.g. `cpu_usage_percent`.
        metric: String,
        /// Only this node (all nodes when absent).
        node: Option<String>,
        /// Labels the series must carry, e.g. `{"project": "shop"}`.
        #[serde(default)]
        labels: BTreeMap<String, String>,
        /// Above or below.
        comparison: Comparison,
        /// The threshold.
        threshold: f64,
    },
    /// A node stops sending heartbeats.
    NodeOffline {
        /// Only this node (all nodes when absent).
        node: Option<String>,
    },
    /// A deployment fails or is rolled back.
    DeployFailed {
        /// Only this project (all projects when absent).
        project: Option<String>,
    },
}

/// A rule to create or the new content of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlertRule {
    /// Unique name.
    pub name: String,
    /// What to watch.
    pub condition: AlertCondition,
    /// How long the condition must hold before the rule fires, in ms.
    pub for_ms: i64,
    /// Where to POST notifications, if anywhere.
    pub webhook_url: Option<String>,
    /// Whether the rule is evaluated.
    pub enabled: bool,
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    /// Numeric id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// What to watch.
    pub condition: AlertCondition,
    /// How long the condition must hold, in ms.
    pub for_ms: i64,
    /// Notification webhook.
    pub webhook_url: Option<String>,
    /// Whether the rule is evaluated.
    pub enabled: bool,
    /// Unix ms of creation.
    pub created_ms: i64,
    /// Unix ms of the last change.
    pub updated_ms: i64,
}

/// A firing (or resolved) alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct AlertEvent {
    /// Numeric id.
    pub id: i64,
    /// The rule that fired.
    pub rule_id: i64,
    /// What it is about, e.g. a node or project name.
    pub subject: String,
    /// The value that crossed the threshold, for metric rules.
    pub value: Option<f64>,
    /// Human-readable description.
    pub message: String,
    /// Unix ms when it started firing.
    pub started_ms: i64,
    /// Unix ms when it was resolved; `None` while firing.
    pub resolved_ms: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    name: String,
    condition: String,
    for_ms: i64,
    webhook_url: Option<String>,
    enabled: bool,
    created_ms: i64,
    updated_ms: i64,
}

impl RuleRow {
    fn into_rule(self) -> Result<AlertRule> {
        Ok(AlertRule {
            condition: from_json("alert_rules", &self.name, &self.condition)?,
            id: self.id,
            name: self.name,
            for_ms: self.for_ms,
            webhook_url: self.webhook_url,
            enabled: self.enabled,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
        })
    }
}

/// `SELECT` of every rule column followed by the given clause.
macro_rules! select_rule {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, condition, for_ms, webhook_url, enabled, created_ms, updated_ms \
             FROM alert_rules ",
            $tail
        )
    };
}

/// `SELECT` of every event column followed by the given clause.
macro_rules! select_event {
    ($tail:literal) => {
        concat!(
            "SELECT id, rule_id, subject, value, message, started_ms, resolved_ms \
             FROM alert_events ",
            $tail
        )
    };
}

fn check_rule(rule: &NewAlertRule) -> Result<String> {
    check_name("alert rule name", &rule.name)?;
    if rule.for_ms < 0 {
        return Err(Error::invalid(
            "for_ms",
            "it must be 0 or more milliseconds",
        ));
    }
    if let AlertCondition::Threshold { threshold, .. } = &rule.condition
        && !threshold.is_finite()
    {
        return Err(Error::invalid("threshold", "it must be a finite number"));
    }
    to_json("condition", &rule.condition)
}

fn rule_not_found(id: i64) -> Error {
    Error::NotFound {
        kind: "alert rule",
        key: id.to_string(),
    }
}

impl SqlStore {
    async fn alert_rule(&self, id: i64) -> Result<AlertRule> {
        let row =
            on_pool!(self.db, pool => sqlx::query_as::<_, RuleRow>(select_rule!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await)
            .db("read alert rule")?;
        row.ok_or_else(|| rule_not_found(id))?.into_rule()
    }

    async fn open_event(&self, rule_id: i64, subject: &str) -> Result<Option<AlertEvent>> {
        let sql = select_event!("WHERE rule_id = $1 AND subject = $2 AND resolved_ms IS NULL");
        on_pool!(self.db, pool => sqlx::query_as::<_, AlertEvent>(sql)
            .bind(rule_id)
            .bind(subject)
            .fetch_optional(pool)
            .await)
        .db("read open alert")
    }
}

/// Alert rules and events.
impl SqlStore {
    /// Creates a rule.
    pub async fn create_alert_rule(&self, rule: NewAlertRule) -> Result<AlertRule> {
        let condition = check_rule(&rule)?;
        let now = now_ms();
        let (id,): (i64,) = on_pool!(self.db, pool => sqlx::query_as(
            "INSERT INTO alert_rules \
             (name, condition, for_ms, webhook_url, enabled, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(&rule.name)
        .bind(&condition)
        .bind(rule.for_ms)
        .bind(&rule.webhook_url)
        .bind(rule.enabled)
        .bind(now)
        .fetch_one(pool)
        .await)
        .db_unique("insert alert rule", "alert rule", &rule.name)?;
        Ok(AlertRule {
            id,
            name: rule.name,
            condition: rule.condition,
            for_ms: rule.for_ms,
            webhook_url: rule.webhook_url,
            enabled: rule.enabled,
            created_ms: now,
            updated_ms: now,
        })
    }

    /// Replaces the content of a rule.
    pub async fn update_alert_rule(&self, id: i64, rule: NewAlertRule) -> Result<AlertRule> {
        let condition = check_rule(&rule)?;
        let done = on_pool!(self.db, pool => sqlx::query(
            "UPDATE alert_rules SET name = $1, condition = $2, for_ms = $3, webhook_url = $4, \
             enabled = $5, updated_ms = $6 WHERE id = $7",
        )
        .bind(&rule.name)
        .bind(&condition)
        .bind(rule.for_ms)
        .bind(&rule.webhook_url)
        .bind(rule.enabled)
        .bind(now_ms())
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .db_unique("update alert rule", "alert rule", &rule.name)?;
        if done == 0 {
            return Err(rule_not_found(id));
        }
        self.alert_rule(id).await
    }

    /// Every rule, by id.
    pub async fn alert_rules(&self) -> Result<Vec<AlertRule>> {
        let rows =
            on_pool!(self.db, pool => sqlx::query_as::<_, RuleRow>(select_rule!("ORDER BY id"))
            .fetch_all(pool)
            .await)
            .db("list alert rules")?;
        rows.into_iter().map(RuleRow::into_rule).collect()
    }

    /// Deletes a rule and its events.
    pub async fn delete_alert_rule(&self, id: i64) -> Result<()> {
        let done = on_pool!(self.db, pool => sqlx::query("DELETE FROM alert_rules WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .db("delete alert rule")?;
        if done == 0 {
            return Err(rule_not_found(id));
        }
        Ok(())
    }

    /// Opens an event for (rule, subject); returns the already open one if any.
    pub async fn open_alert(
        &self,
        rule_id: i64,
        subject: &str,
        value: Option<f64>,
        message: &str,
        at_ms: i64,
    ) -> Result<AlertEvent> {
        if let Some(open) = self.open_event(rule_id, subject).await? {
            return Ok(open);
        }
        let (id,): (i64,) = on_pool!(self.db, pool => sqlx::query_as(
            "INSERT INTO alert_events (rule_id, subject, value, message, started_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(rule_id)
        .bind(subject)
        .bind(value)
        .bind(message)
        .bind(at_ms)
        .fetch_one(pool)
        .await)
        .map_err(|source| match &source {
            sqlx::Error::Database(e) if e.is_foreign_key_violation() => rule_not_found(rule_id),
            _ => Error::Database {
                action: "open alert",
                cause: source,
            },
        })?;
        Ok(AlertEvent {
            id,
            rule_id,
            subject: subject.to_string(),
            value,
            message: message.to_string(),
            started_ms: at_ms,
            resolved_ms: None,
        })
    }

    /// Resolves the open event of (rule, subject), if any, and returns it.
    pub async fn resolve_alert(
        &self,
        rule_id: i64,
        subject: &str,
        at_ms: i64,
    ) -> Result<Option<AlertEvent>> {
        let Some(mut event) = self.open_event(rule_id, subject).await? else {
            return Ok(None);
        };
        on_pool!(self.db, pool => sqlx::query("UPDATE alert_events SET resolved_ms = $1 WHERE id = $2")
            .bind(at_ms)
            .bind(event.id)
            .execute(pool)
            .await
            .map(|_| ()))
        .db("resolve alert")?;
        event.resolved_ms = Some(at_ms);
        Ok(Some(event))
    }

    /// The latest `limit` events, newest first; only firing ones when `open_only`.
    pub async fn alert_events(&self, open_only: bool, limit: u32) -> Result<Vec<AlertEvent>> {
        let sql =
            select_event!("WHERE ($1 = FALSE OR resolved_ms IS NULL) ORDER BY id DESC LIMIT $2");
        on_pool!(self.db, pool => sqlx::query_as::<_, AlertEvent>(sql)
            .bind(open_only)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)
        .db("list alert events")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Database;

    async fn rules_and_events(db: &Database) {
        let store = SqlStore::new(db.clone());
        let rule = NewAlertRule {
            name: "cpu-high".into(),
            condition: AlertCondition::Threshold {
                metric: "cpu_usage_percent".into(),
                node: None,
                labels: BTreeMap::from([("cpu".to_string(), "total".to_string())]),
                comparison: Comparison::Above,
                threshold: 90.0,
            },
            for_ms: 60_000,
            webhook_url: Some("https://hooks.example/alert".into()),
            enabled: true,
        };
        let created = store.create_alert_rule(rule.clone()).await.unwrap();
        let offline = store
            .create_alert_rule(NewAlertRule {
                name: "offline".into(),
                condition: AlertCondition::NodeOffline { node: None },
                for_ms: 0,
                webhook_url: None,
                enabled: false,
            })
            .await
            .unwrap();
        assert!(store.create_alert_rule(rule.clone()).await.is_err());
        let bad = NewAlertRule {
            condition: AlertCondition::DeployFailed { project: None },
            for_ms: -1,
            ..rule.clone()
        };
        assert!(store.create_alert_rule(bad).await.is_err());
        let updated = store
            .update_alert_rule(
                created.id,
                NewAlertRule {
                    enabled: false,
                    ..rule
                },
            )
            .await
            .unwrap();
        assert!(!updated.enabled);
        assert_eq!(
            store.alert_rules().await.unwrap(),
            [updated.clone(), offline.clone()]
        );

        let e1 = store
            .open_alert(created.id, "n1", Some(95.0), "cpu 95% on n1", 1_000)
            .await
            .unwrap();
        let again = store
            .open_alert(created.id, "n1", Some(97.0), "cpu 97% on n1", 2_000)
            .await
            .unwrap();
        assert_eq!(e1, again, "an open event is not duplicated");
        store
            .open_alert(offline.id, "n2", None, "n2 is offline", 1_500)
            .await
            .unwrap();
        assert_eq!(store.alert_events(true, 10).await.unwrap().len(), 2);
        let resolved = store
            .resolve_alert(created.id, "n1", 3_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resolved.resolved_ms, Some(3_000));
        assert!(
            store
                .resolve_alert(created.id, "n1", 4_000)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.alert_events(true, 10).await.unwrap().len(), 1);
        assert_eq!(store.alert_events(false, 10).await.unwrap().len(), 2);
        assert!(store.open_alert(999, "n1", None, "x", 1).await.is_err());
        store.delete_alert_rule(offline.id).await.unwrap();
        assert_eq!(store.alert_events(false, 10).await.unwrap().len(), 1);
    }

    crate::on_both_backends!(rules_and_events);
}
