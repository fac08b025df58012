//! Deleting a group or a role together with what would block its plain `DeleteGroup` or
//! `DeleteRole`, as AWS's console does when one deletes it: a group's members are removed, and
//! either's inline policies deleted and managed policies detached; then the entity itself.
//!
//! All or nothing. The caller must first be allowed to see what the entity holds (`GetGroup`,
//! `ListGroupPolicies`, `ListAttachedGroupPolicies`, or the role forms): otherwise which later step
//! is refused would tell a caller allowed only the delete whether the entity has members or
//! policies. Then every step is authorized under its own action (`RemoveUserFromGroup`,
//! `DeleteGroupPolicy`, `DetachGroupPolicy` with its `iam:PolicyARN`, and the delete itself)
//! before anything changes; one transaction does them all, and each is audited.

use sqlx::{AnyConnection, Row as _};

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::Caller;
use crate::entities::EntityKind;
use crate::error::IamError;

/// The `s` column of every row `sql` (one `$1`, bound to `id`) returns.
pub(crate) async fn strings(conn: &mut AnyConnection, sql: &str, id: &str) -> Result<Vec<String>, IamError> {
    let rows = sqlx::query(sql).bind(id).fetch_all(conn).await?;
    Ok(rows.iter().map(|r| r.try_get::<String, _>("s")).collect::<Result<Vec<_>, _>>()?)
}

impl Iam {
    /// Deletes group or role `name` (`kind` is not `User`: a user has its own cascade, with its
    /// credentials) and everything that would block its deletion.
    pub(crate) async fn delete_with_dependents(
        &self,
        caller: &Caller,
        kind: EntityKind,
        name: &str,
    ) -> Result<(), IamError> {
        let own_rows: &[&str] = match kind {
            EntityKind::Group => {
                &["DELETE FROM group_members WHERE group_id = $1", "DELETE FROM iam_groups WHERE group_id = $1"]
            }
            // As `DeleteRole`: its tags and its access records go with it.
            EntityKind::Role => &[
                "DELETE FROM tags WHERE entity_id = $1",
                "DELETE FROM service_access WHERE principal_id = $1",
                "DELETE FROM roles WHERE role_id = $1",
            ],
            // A user goes with its credentials: `delete_user_and_dependents`.
            EntityKind::User => return Err(IamError::InvalidInput("Users are not deleted this way.".into())),
        };
        let label = kind.label();
        let name = kind.parse_name(name)?;
        let account_id = caller.account_id().to_owned();
        let tx = self.begin_write(&account_id).await?;
        let name_key = format!("{label}Name");
        let parameters = || serde_json::json!({ name_key.as_str(): name.as_str() });
        let delete = format!("iam:Delete{label}");
        let (mut tx, entity) = self.write_entity(tx, caller, (kind, name.as_str()), &delete, |r| r, parameters).await?;
        for read in
            [format!("iam:Get{label}"), format!("iam:List{label}Policies"), format!("iam:ListAttached{label}Policies")]
        {
            tx = self.authorize_holding(tx, caller, Request::new(&read, &entity.arn, &account_id), parameters).await?;
        }
        let members = if kind == EntityKind::Group {
            strings(
                &mut tx,
                "SELECT u.user_name AS s FROM group_members m JOIN users u ON u.user_id = m.user_id \
                 WHERE m.group_id = $1 ORDER BY u.name_key",
                &entity.id,
            )
            .await?
        } else {
            Vec::new()
        };
        let inline = strings(
            &mut tx,
            "SELECT policy_name AS s FROM inline_policies WHERE entity_id = $1 ORDER BY name_key",
            &entity.id,
        )
        .await?;
        let attached = strings(
            &mut tx,
            "SELECT policy_arn AS s FROM policy_attachments WHERE entity_id = $1 ORDER BY policy_arn",
            &entity.id,
        )
        .await?;

        // Every step is authorized before anything changes; a refusal rolls back everything.
        let detail = |extra: serde_json::Value| audit::with_parameter(parameters(), "Detail", extra);
        let mut steps: Vec<(String, serde_json::Value, Option<&str>)> = Vec::new();
        for user in &members {
            steps.push(("iam:RemoveUserFromGroup".into(), detail(serde_json::json!({ "UserName": user })), None));
        }
        for policy in &inline {
            let params = detail(serde_json::json!({ "PolicyName": policy }));
            steps.push((format!("iam:Delete{label}Policy"), params, None));
        }
        for policy in &attached {
            let params = detail(serde_json::json!({ "PolicyArn": policy }));
            steps.push((format!("iam:Detach{label}Policy"), params, Some(policy.as_str())));
        }
        for (action, params, policy) in &steps {
            let mut request = Request::new(action, &entity.arn, &account_id);
            if let Some(policy) = policy {
                request = request.with("iam:PolicyARN", (*policy).to_owned());
            }
            tx = self.authorize_holding(tx, caller, request, || params.clone()).await?;
        }

        let policy_rows =
            ["DELETE FROM inline_policies WHERE entity_id = $1", "DELETE FROM policy_attachments WHERE entity_id = $1"];
        for sql in policy_rows.iter().chain(own_rows) {
            sqlx::query(sql).bind(&entity.id).execute(&mut *tx).await?;
        }
        let now = self.now();
        for (action, params, _) in &steps {
            let event = Event { action, target: Some(&entity.arn), parameters: params.clone(), outcome: "Success" };
            audit::append(&mut tx, caller, now, &event).await?;
        }
        let event = Event { action: &delete, target: Some(&entity.arn), parameters: parameters(), outcome: "Success" };
        audit::append(&mut tx, caller, now, &event).await?;
        self.commit_permissions(tx, &account_id).await
    }
}
