//! The credential report (`GenerateCredentialReport`, `GetCredentialReport`), exactly as AWS writes
//! it: 22 columns in AWS's order, the `<root_account>` row first, AWS's `N/A`, `no_information` and
//! `not_supported`, times in ISO 8601 with offset. Audit tools (Prowler, ScoutSuite, Steampipe)
//! read it literally.
//!
//! A report is generated at once from a few whole-account queries and kept in the store; a new one
//! is made only when the last is more than four hours old, as AWS does.

use std::collections::HashMap;
use std::fmt::Write as _;

use sqlx::{AnyConnection, Row as _};

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::Caller;
use crate::clock::Timestamp;
use crate::error::IamError;
use crate::password_policy::load_policy;

/// The header, as AWS writes it.
pub const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,\
password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,\
access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,\
access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,\
cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// A report stays current for four hours; within them `GenerateCredentialReport` makes no new one.
pub const REPORT_LIFETIME_MS: i64 = 4 * 60 * 60 * 1000;
/// A generation that has not finished after this long is taken to have failed.
const STALE_GENERATION_MS: i64 = 5 * 60 * 1000;

/// `GenerateCredentialReport`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReportState {
    Started,
    InProgress,
    Complete,
}

impl ReportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::Started => "STARTED",
            ReportState::InProgress => "INPROGRESS",
            ReportState::Complete => "COMPLETE",
        }
    }

    /// AWS's `Description` beside the state.
    pub fn description(self) -> &'static str {
        match self {
            ReportState::Started => "No report exists. Starting a new report generation task",
            ReportState::InProgress => "Report generation task is in progress",
            ReportState::Complete => "Report is ready",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CredentialReport {
    /// The CSV text (the API base64-encodes it as `Content`).
    pub content: String,
    pub report_format: String,
    pub generated_time: Timestamp,
}

/// A credential report time: ISO 8601 with an explicit offset, `2019-04-01T23:51:37+00:00`.
fn report_time(t: Timestamp) -> String {
    let text = t.to_iso8601();
    match text.strip_suffix('Z') {
        Some(head) => format!("{head}+00:00"),
        None => text,
    }
}

fn time_or(t: Option<i64>, otherwise: &str) -> String {
    t.map_or_else(|| otherwise.to_owned(), |ms| report_time(Timestamp::from_millis(ms)))
}

/// A CSV field, quoted when it holds a comma or a quote (RFC 4180). Names may contain commas
/// (`[\w+=,.@-]`); nothing else in the report does. Written by hand: one rule, no crate needed.
fn field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

struct Key {
    active: bool,
    created_at: i64,
    last_used_at: Option<i64>,
    region: Option<String>,
    service: Option<String>,
}

fn key_columns(key: Option<&Key>) -> [String; 5] {
    let na = || "N/A".to_owned();
    match key {
        None => ["false".to_owned(), na(), na(), na(), na()],
        Some(k) => [
            k.active.to_string(),
            report_time(Timestamp::from_millis(k.created_at)),
            time_or(k.last_used_at, "N/A"),
            k.region.clone().unwrap_or_else(na),
            k.service.clone().unwrap_or_else(na),
        ],
    }
}

fn row(out: &mut String, columns: &[String]) {
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, c);
    }
    out.push('\n');
}

/// Builds the report of an account from the store.
pub(crate) async fn build(conn: &mut AnyConnection, account_id: &str) -> Result<String, IamError> {
    let policy = load_policy(conn, account_id).await?;
    let max_age_ms = policy.and_then(|p| p.max_password_age).map(|days| days * 24 * 60 * 60 * 1000);

    let mut keys: HashMap<String, Vec<Key>> = HashMap::new();
    let key_rows = sqlx::query(
        "SELECT owner_id, active, created_at, last_used_at, last_used_region, last_used_service FROM access_keys \
         WHERE account_id = $1 ORDER BY owner_id, created_at, access_key_id",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    for r in &key_rows {
        keys.entry(r.try_get("owner_id")?).or_default().push(Key {
            active: r.try_get::<i64, _>("active")? == 1,
            created_at: r.try_get("created_at")?,
            last_used_at: r.try_get("last_used_at")?,
            region: r.try_get("last_used_region")?,
            service: r.try_get("last_used_service")?,
        });
    }
    let mfa_rows = sqlx::query(
        "SELECT DISTINCT owner_id FROM mfa_devices WHERE account_id = $1 AND owner_id IS NOT NULL AND enabled_at IS NOT NULL",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let mfa: std::collections::HashSet<String> =
        mfa_rows.iter().map(|r| r.try_get("owner_id")).collect::<Result<_, sqlx::Error>>()?;

    let mut out = String::with_capacity(256 * (key_rows.len() + 64));
    out.push_str(HEADER);
    out.push('\n');
    let account = sqlx::query("SELECT created_at, root_password_last_used FROM accounts WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await?;
    let not_supported = || "not_supported".to_owned();
    let root_keys = keys.get(account_id);
    let mut root_row = vec![
        crate::entities::ROOT_ACCOUNT_NAME.to_owned(),
        format!("arn:aws:iam::{account_id}:root"),
        report_time(Timestamp::from_millis(account.try_get("created_at")?)),
        not_supported(),
        time_or(account.try_get("root_password_last_used")?, "no_information"),
        not_supported(),
        not_supported(),
        mfa.contains(account_id).to_string(),
    ];
    root_row.extend(key_columns(root_keys.and_then(|k| k.first())));
    root_row.extend(key_columns(root_keys.and_then(|k| k.get(1))));
    root_row.extend(["false", "N/A", "false", "N/A"].map(str::to_owned));
    row(&mut out, &root_row);

    let users = sqlx::query(
        "SELECT u.user_id, u.user_name, u.path, u.created_at, p.user_id AS profile, p.password_last_used, \
         p.password_changed_at FROM users u LEFT JOIN login_profiles p ON p.user_id = u.user_id \
         WHERE u.account_id = $1 ORDER BY u.name_key",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut columns = Vec::with_capacity(22);
    for u in &users {
        let user_id: String = u.try_get("user_id")?;
        let (name, path): (String, String) = (u.try_get("user_name")?, u.try_get("path")?);
        let has_password = u.try_get::<Option<String>, _>("profile")?.is_some();
        let changed: Option<i64> = u.try_get("password_changed_at")?;
        columns.clear();
        columns.push(name.clone());
        let mut arn = format!("arn:aws:iam::{account_id}:user{path}");
        let _ = write!(arn, "{name}");
        columns.push(arn);
        columns.push(report_time(Timestamp::from_millis(u.try_get("created_at")?)));
        columns.push(has_password.to_string());
        columns.push(if has_password {
            time_or(u.try_get("password_last_used")?, "no_information")
        } else {
            "N/A".to_owned()
        });
        columns.push(time_or(changed, "N/A"));
        columns.push(match (changed, max_age_ms) {
            (Some(c), Some(age)) => report_time(Timestamp::from_millis(c + age)),
            _ => "N/A".to_owned(),
        });
        columns.push(mfa.contains(&user_id).to_string());
        let user_keys = keys.get(&user_id);
        columns.extend(key_columns(user_keys.and_then(|k| k.first())));
        columns.extend(key_columns(user_keys.and_then(|k| k.get(1))));
        columns.extend(["false", "N/A", "false", "N/A"].map(str::to_owned));
        row(&mut out, &columns);
    }
    Ok(out)
}

impl Iam {
    /// `iam:GenerateCredentialReport`: `STARTED` when a new report is made (it is ready when this
    /// returns), `COMPLETE` when the last one is under four hours old, `INPROGRESS` while another
    /// request is making one.
    pub async fn generate_credential_report(&self, caller: &Caller) -> Result<ReportState, IamError> {
        self.record_failures(caller, async move {
            let account_id = caller.account_id().to_owned();
            self.authorize_or_record(caller, Request::new("iam:GenerateCredentialReport", "*", &account_id), || {
                serde_json::json!({})
            })
            .await?;
            let now = self.now();
            // Claim the generation, unless a current report exists or another generation is running.
            let mut tx = self.begin_write(&account_id).await?;
            let existing = sqlx::query("SELECT started_at, generated_at FROM credential_reports WHERE account_id = $1")
                .bind(&account_id)
                .fetch_optional(&mut *tx)
                .await?;
            let record = |state: &str| Event {
                action: "iam:GenerateCredentialReport",
                target: None,
                parameters: serde_json::json!({ "State": state }),
                outcome: "Success",
            };
            if let Some(r) = &existing {
                let started: i64 = r.try_get("started_at")?;
                let state = match r.try_get::<Option<i64>, _>("generated_at")? {
                    Some(generated) if now.as_millis() - generated < REPORT_LIFETIME_MS => Some(ReportState::Complete),
                    None if now.as_millis() - started < STALE_GENERATION_MS => Some(ReportState::InProgress),
                    _ => None,
                };
                // A call answered from the report there is (or the one being made) is audited too.
                if let Some(state) = state {
                    let text = if state == ReportState::Complete { "COMPLETE" } else { "INPROGRESS" };
                    audit::append(&mut tx, caller, now, &record(text)).await?;
                    tx.commit().await?;
                    return Ok(state);
                }
            }
            sqlx::query("DELETE FROM credential_reports WHERE account_id = $1")
                .bind(&account_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO credential_reports (account_id, started_at) VALUES ($1, $2)")
                .bind(&account_id)
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?;
            audit::append(&mut tx, caller, now, &record("STARTED")).await?;
            tx.commit().await?;

            let content = {
                let mut conn = self.store().pool().acquire().await?;
                build(&mut conn, &account_id).await?
            };
            sqlx::query(
            "UPDATE credential_reports SET generated_at = $2, content = $3 WHERE account_id = $1 AND started_at = $4",
        )
        .bind(&account_id)
        .bind(self.now().as_millis())
        .bind(&content)
        .bind(now.as_millis())
        .execute(self.store().pool())
        .await?;
            Ok(ReportState::Started)
        })
        .await
    }

    /// `iam:GetCredentialReport`: the latest report, or AWS's `ReportNotPresent`,
    /// `ReportInProgress` or `ReportExpired`.
    pub async fn get_credential_report(&self, caller: &Caller) -> Result<CredentialReport, IamError> {
        let account_id = caller.account_id();
        self.authorize_or_record(caller, Request::new("iam:GetCredentialReport", "*", account_id), || {
            serde_json::json!({})
        })
        .await?;
        let row = sqlx::query("SELECT generated_at, content FROM credential_reports WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(self.store().pool())
            .await?
            .ok_or_else(|| {
                IamError::ReportNotPresent(
                    "Credential report not present. Use GenerateCredentialReport to generate a report.".to_owned(),
                )
            })?;
        let (Some(generated), Some(content)) =
            (row.try_get::<Option<i64>, _>("generated_at")?, row.try_get::<Option<String>, _>("content")?)
        else {
            return Err(IamError::ReportInProgress("Credential report is being generated.".to_owned()));
        };
        if self.now().as_millis() - generated >= REPORT_LIFETIME_MS {
            return Err(IamError::ReportExpired(
                "Credential report has expired. Use GenerateCredentialReport to generate a new report.".to_owned(),
            ));
        }
        Ok(CredentialReport {
            content,
            report_format: "text/csv".to_owned(),
            generated_time: Timestamp::from_millis(generated),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_has_aws_22_columns_in_order() {
        let columns: Vec<&str> = HEADER.split(',').collect();
        assert_eq!(columns.len(), 22);
        assert_eq!(columns.first(), Some(&"user"));
        assert_eq!(columns.get(7), Some(&"mfa_active"));
        assert_eq!(columns.last(), Some(&"cert_2_last_rotated"));
    }

    #[test]
    fn times_carry_an_offset_and_fields_are_quoted_only_when_needed() {
        assert_eq!(report_time(Timestamp::from_millis(1_554_162_697_000)), "2019-04-01T23:51:37+00:00");
        let mut out = String::new();
        field(&mut out, "a,b");
        field(&mut out, "plain");
        assert_eq!(out, "\"a,b\"plain");
        assert_eq!(key_columns(None), ["false", "N/A", "N/A", "N/A", "N/A"]);
    }
}
