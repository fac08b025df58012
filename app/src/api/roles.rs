//! Roles: the list, creation (trusted entity, permissions, boundary, details, tags), a role's
//! summary, trust policy and deletion. Each step is the IAM action AWS's console calls
//! (`ListRoles`, `GetRole`, `CreateRole`, `AttachRolePolicy`, `UpdateRole`,
//! `UpdateAssumeRolePolicy`, `DeleteRole`...), which iam-core authorizes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{TagInput, TagView};
use crate::components::list::ListPage;
use crate::error::ConsoleError;

/// A row of the roles list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRow {
    pub role_name: String,
    pub path: String,
    /// Who may assume it, as the console words it (see [`trusted_entities`]).
    pub trusted: Vec<String>,
    /// When the role was last used, if ever (`GetRole`, as `ListRoles` does not say), or why the
    /// caller cannot see it.
    pub last_activity: Result<Option<String>, ConsoleError>,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleView {
    pub role_name: String,
    pub role_id: String,
    pub path: String,
    pub arn: String,
    pub created: String,
    pub description: String,
    pub max_session_duration: i64,
    pub trust_policy: String,
    pub trusted: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub last_used: Option<String>,
    pub last_used_region: Option<String>,
    pub tags: Vec<TagView>,
}

/// The AWS services the create form offers, each with its service principal, as AWS's console
/// offers them under "AWS service" (name, principal). Hand-written: a service principal is not an
/// action prefix (ECS tasks are `ecs-tasks.amazonaws.com`, CloudWatch is `monitoring`), and no data
/// set we ship lists principals. Any other principal goes in a custom trust policy.
pub const SERVICE_PRINCIPALS: &[(&str, &str)] = &[
    ("Amazon API Gateway", "apigateway.amazonaws.com"),
    ("AWS App Runner (build)", "build.apprunner.amazonaws.com"),
    ("AWS App Runner (tasks)", "tasks.apprunner.amazonaws.com"),
    ("AWS AppSync", "appsync.amazonaws.com"),
    ("AWS Backup", "backup.amazonaws.com"),
    ("AWS Batch", "batch.amazonaws.com"),
    ("Amazon Bedrock", "bedrock.amazonaws.com"),
    ("AWS CloudFormation", "cloudformation.amazonaws.com"),
    ("AWS CloudTrail", "cloudtrail.amazonaws.com"),
    ("AWS CodeBuild", "codebuild.amazonaws.com"),
    ("AWS CodeDeploy", "codedeploy.amazonaws.com"),
    ("AWS CodePipeline", "codepipeline.amazonaws.com"),
    ("Amazon Cognito user pools", "cognito-idp.amazonaws.com"),
    ("AWS Config", "config.amazonaws.com"),
    ("AWS Database Migration Service", "dms.amazonaws.com"),
    ("AWS DataSync", "datasync.amazonaws.com"),
    ("Amazon EC2", "ec2.amazonaws.com"),
    ("Amazon ECS", "ecs.amazonaws.com"),
    ("Amazon ECS tasks", "ecs-tasks.amazonaws.com"),
    ("Amazon EKS", "eks.amazonaws.com"),
    ("Amazon EKS Pod Identity", "pods.eks.amazonaws.com"),
    ("AWS Elastic Beanstalk", "elasticbeanstalk.amazonaws.com"),
    ("Amazon EMR", "elasticmapreduce.amazonaws.com"),
    ("Amazon EventBridge", "events.amazonaws.com"),
    ("Amazon EventBridge Scheduler", "scheduler.amazonaws.com"),
    ("Amazon Data Firehose", "firehose.amazonaws.com"),
    ("AWS Glue", "glue.amazonaws.com"),
    ("AWS IoT", "iot.amazonaws.com"),
    ("AWS Lambda", "lambda.amazonaws.com"),
    ("Lambda@Edge", "edgelambda.amazonaws.com"),
    ("Amazon CloudWatch", "monitoring.amazonaws.com"),
    ("Amazon RDS", "rds.amazonaws.com"),
    ("Amazon Redshift", "redshift.amazonaws.com"),
    ("Amazon S3", "s3.amazonaws.com"),
    ("Amazon SageMaker AI", "sagemaker.amazonaws.com"),
    ("Amazon SNS", "sns.amazonaws.com"),
    ("AWS Step Functions", "states.amazonaws.com"),
    ("AWS Systems Manager", "ssm.amazonaws.com"),
    ("AWS Transfer Family", "transfer.amazonaws.com"),
];

/// The trusted entity chosen on the create-role form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustChoice {
    /// `service`, `account` or `custom`.
    #[serde(default)]
    pub entity: String,
    /// The service principal, for `service` (one of [`SERVICE_PRINCIPALS`]).
    #[serde(default)]
    pub service: String,
    /// `this` or `other`, for `account`.
    #[serde(default)]
    pub account: String,
    /// The other account's 12 digits.
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub require_external_id: bool,
    #[serde(default)]
    pub external_id: String,
    #[serde(default)]
    pub require_mfa: bool,
    /// The whole trust policy, for `custom`.
    #[serde(default)]
    pub custom: String,
}

/// The name and details of a role being made (`role[...]` fields of the create form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRole {
    #[serde(default)]
    pub role_name: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub description: String,
    /// Seconds, 3,600 to 43,200; empty for AWS's default of one hour.
    #[serde(default)]
    pub max_session_seconds: String,
}

/// A role's longest session, in hours, as the create and edit forms offer it (AWS's console offers
/// the same): 1 to 12 hours. The forms send seconds.
pub const SESSION_HOURS: [i64; 6] = [1, 2, 4, 6, 8, 12];

/// A session length as people read it: `2 hours`, `1 hour 30 minutes`, `3,601 seconds`.
pub fn session_label(seconds: i64) -> String {
    let (hours, minutes) = (seconds / 3_600, seconds % 3_600 / 60);
    let plural = |n: i64, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
    match (seconds % 60, minutes) {
        (0, 0) => plural(hours, "hour"),
        (0, m) => format!("{} {}", plural(hours, "hour"), plural(m, "minute")),
        _ => format!("{seconds} seconds"),
    }
}

/// The trust policy for `choice`, as AWS's console writes it, in `own_account`; or what is missing.
/// Shared by the form's preview (in the browser) and the server, so the preview is what is made.
pub fn trust_policy(choice: &TrustChoice, own_account: &str) -> Result<String, ConsoleError> {
    let invalid = |m: &str| Err(ConsoleError::new("ValidationError", m));
    let principal = match choice.entity.as_str() {
        "custom" => return Ok(choice.custom.clone()),
        "service" => {
            let service = choice.service.trim();
            if !SERVICE_PRINCIPALS.iter().any(|(_, principal)| *principal == service) {
                return invalid("Choose the AWS service that will use this role.");
            }
            json!({ "Service": service })
        }
        "account" => {
            let typed = choice.account_id.trim();
            let account = if choice.account == "other" { typed } else { own_account };
            if choice.account != "other" && !typed.is_empty() && typed != own_account {
                // Never drop what was typed: the role would trust another account than the one meant.
                return invalid("To trust the account ID you entered, choose Another AWS account; or clear the field.");
            }
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return invalid("Enter the 12-digit ID of the AWS account whose principals may assume this role.");
            }
            if !choice.require_external_id && !choice.external_id.trim().is_empty() {
                // An external ID typed and then silently left out would leave the role open to the
                // confused deputy it was meant to prevent.
                return invalid(
                    "To require the external ID you entered, tick Require external ID; or clear the field.",
                );
            }
            json!({ "AWS": format!("arn:aws:iam::{account}:root") })
        }
        _ => {
            return invalid(
                "Choose who may assume this role: an AWS service, an AWS account, or a custom trust policy.",
            );
        }
    };
    let mut statement = json!({ "Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole" });
    if choice.entity == "account" {
        let mut condition = serde_json::Map::new();
        if choice.require_external_id {
            let id = choice.external_id.trim();
            // AWS's rule for `sts:ExternalId`: 2 to 1,224 characters of `[\w+=,.@:/-]`.
            let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c);
            if !(2..=1224).contains(&id.len()) || !id.chars().all(allowed) {
                return invalid("An external ID is 2 to 1,224 characters: letters, digits and _ + = , . @ : / -");
            }
            condition.insert("StringEquals".into(), json!({ "sts:ExternalId": id }));
        }
        if choice.require_mfa {
            condition.insert("Bool".into(), json!({ "aws:MultiFactorAuthPresent": "true" }));
        }
        if !condition.is_empty()
            && let Some(statement) = statement.as_object_mut()
        {
            statement.insert("Condition".into(), Value::Object(condition));
        }
    }
    let policy = json!({ "Version": "2012-10-17", "Statement": [statement] });
    serde_json::to_string_pretty(&policy).map_err(|e| ConsoleError::new("ValidationError", e.to_string()))
}

/// Who a trust policy lets assume the role, as AWS's roles list words it: `AWS service: ec2`,
/// `Account: 123456789012`, `Identity provider: ...`, the ARN of a user or role, or `Anyone`
/// (`Principal: "*"`). Only `Allow` statements count; a policy that does not parse gives nothing.
pub fn trusted_entities(document: &str) -> Vec<String> {
    let Ok(policy) = serde_json::from_str::<Value>(document) else { return Vec::new() };
    let statements = match policy.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let field = |v: &Value, key: &str| v.get(key).cloned().unwrap_or(Value::Null);
    let mut found: Vec<String> = Vec::new();
    let values = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(list) => list.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        }
    };
    for statement in statements.iter().filter(|s| field(s, "Effect") == "Allow") {
        let principal = field(statement, "Principal");
        if principal == "*" {
            found.push("Anyone".to_owned());
            continue;
        }
        for service in values(&field(&principal, "Service")) {
            let short = service.strip_suffix(".amazonaws.com").unwrap_or(&service).to_owned();
            found.push(format!("AWS service: {short}"));
        }
        for aws in values(&field(&principal, "AWS")) {
            let account = aws
                .strip_prefix("arn:aws:iam::")
                .and_then(|rest| rest.strip_suffix(":root"))
                .or(Some(aws.as_str()).filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())));
            found.push(match account {
                Some(id) => format!("Account: {id}"),
                None if aws == "*" => "Anyone".to_owned(),
                None => aws.clone(),
            });
        }
        for provider in values(&field(&principal, "Federated")) {
            found.push(format!("Identity provider: {provider}"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|f| seen.insert(f.clone()));
    found
}

/// Every role of the caller's account (AWS allows 1,000), page by page through `ListRoles`.
#[cfg(feature = "ssr")]
async fn all_roles(iam: &iam_core::Iam, caller: &iam_core::Caller) -> Result<Vec<iam_core::roles::Role>, ConsoleError> {
    let mut roles = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam.list_roles(caller, None, marker.as_deref(), Some(1000)).await?;
        roles.extend(page.items);
        match page.marker {
            Some(next) if page.is_truncated => marker = Some(next),
            _ => return Ok(roles),
        }
    }
}

/// A role offered in a picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChoice {
    pub role_name: String,
    pub created: String,
}

/// Roles whose name contains `filter`, at most [`super::CHOICES`], for pickers (`ListRoles`).
#[server(prefix = "/api", endpoint = "role_choices")]
pub async fn role_choices(#[server(default)] filter: String) -> Result<Vec<RoleChoice>, ConsoleError> {
    use crate::components::list::ListState;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let state = ListState { filter, ..ListState::default() };
    Ok(all_roles(&scope.state.iam, &caller)
        .await?
        .into_iter()
        .filter(|r| state.matches(&r.role_name))
        .take(super::CHOICES)
        .map(|r| RoleChoice { role_name: r.role_name, created: r.create_date.to_iso8601() })
        .collect())
}

#[server(prefix = "/api", endpoint = "list_roles")]
pub async fn list_roles(
    #[server(default)] filter: String,
    #[server(default)] sort: String,
    #[server(default)] desc: bool,
    #[server(default)] page: usize,
    #[server(default)] size: usize,
) -> Result<ListPage<RoleRow>, ConsoleError> {
    use crate::components::list::ListState;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let state = ListState { filter, sort, desc, page, size, ..ListState::default() };
    let mut roles: Vec<_> =
        all_roles(&scope.state.iam, &caller).await?.into_iter().filter(|r| state.matches(&r.role_name)).collect();
    crate::components::list::sort_rows(&mut roles, &state, |r, column| match column {
        "created" => (r.create_date.as_millis(), r.role_name.to_lowercase()),
        // Never used sorts first, as the oldest.
        "activity" => (r.last_used_date.map_or(i64::MIN, |t| t.as_millis()), r.role_name.to_lowercase()),
        _ => (0, r.role_name.to_lowercase()),
    });
    let page = ListPage::of(roles, &state);
    let mut rows = Vec::with_capacity(page.items.len());
    // Last activity of the rows shown only, one `GetRole` each, as AWS's console reads it.
    for r in page.items {
        let last_activity = scope.state.iam.get_role(&caller, &r.role_name).await;
        rows.push(RoleRow {
            trusted: trusted_entities(&r.assume_role_policy_document),
            last_activity: last_activity.map(|got| got.last_used_date.map(|t| t.to_iso8601())).map_err(Into::into),
            created: r.create_date.to_iso8601(),
            role_name: r.role_name,
            path: r.path,
        });
    }
    Ok(ListPage { items: rows, total: page.total, page: page.page, pages: page.pages })
}

#[server(prefix = "/api", endpoint = "role_details")]
pub async fn role_details(role_name: String) -> Result<RoleView, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let role = scope.state.iam.get_role(&caller, &role_name).await?;
    Ok(RoleView {
        trusted: trusted_entities(&role.assume_role_policy_document),
        role_name: role.role_name,
        role_id: role.role_id,
        path: role.path,
        arn: role.arn,
        created: role.create_date.to_iso8601(),
        description: role.description,
        max_session_duration: role.max_session_duration,
        trust_policy: role.assume_role_policy_document,
        permissions_boundary: role.permissions_boundary_arn,
        last_used: role.last_used_date.map(|t| t.to_iso8601()),
        last_used_region: role.last_used_region,
        tags: role.tags.into_iter().map(|t| TagView { key: t.key, value: t.value }).collect(),
    })
}

/// The longest session from the form's seconds (iam-core checks the range with AWS's message).
#[cfg(feature = "ssr")]
fn session_seconds(seconds: &str) -> Result<Option<i64>, ConsoleError> {
    let seconds = seconds.trim();
    if seconds.is_empty() {
        return Ok(None);
    }
    seconds
        .parse::<i64>()
        .map(Some)
        .map_err(|_| ConsoleError::new("ValidationError", "The maximum session duration is 3,600 to 43,200 seconds."))
}

/// Creates a role as AWS's console does: `CreateRole` (trust policy, description, longest session,
/// boundary, tags in one call), then `AttachRolePolicy` for each chosen policy. What could not be
/// attached is reported with the role made.
#[server(prefix = "/api", endpoint = "create_role")]
pub async fn create_role(
    role: NewRole,
    #[server(default)] trust: TrustChoice,
    #[server(default)] policies: Vec<String>,
    #[server(default)] boundary: String,
    #[server(default)] tags: Vec<TagInput>,
) -> Result<(), ConsoleError> {
    use iam_core::entities::EntityKind;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let document = trust_policy(&trust, caller.account_id())?;
    // Checked before the role exists, so that a refused choice leaves nothing half-made: at most
    // AWS's 10 managed policies a role, each a policy ARN.
    let policies = if policies.iter().all(String::is_empty) { Vec::new() } else { super::batch(policies, "")? };
    let quota = iam_core::entities::EntityKind::ATTACHED_QUOTA;
    if i64::try_from(policies.len()).unwrap_or(i64::MAX) > quota {
        return Err(ConsoleError::new("LimitExceeded", format!("Cannot exceed quota for PoliciesPerRole: {quota}")));
    }
    if let Some(bad) = policies.iter().find(|arn| !(arn.starts_with("arn:aws:iam::") && arn.contains(":policy/"))) {
        return Err(ConsoleError::new("InvalidInput", format!("ARN {bad} is not valid.")));
    }
    let input = iam_core::roles::CreateRole {
        role_name: role.role_name.trim().to_owned(),
        path: Some(role.path.trim().to_owned()).filter(|p| !p.is_empty()),
        assume_role_policy_document: document,
        description: Some(role.description.trim().to_owned()).filter(|d| !d.is_empty()),
        max_session_duration: session_seconds(&role.max_session_seconds)?,
        permissions_boundary: Some(boundary.trim().to_owned()).filter(|b| !b.is_empty()),
        tags: tags
            .into_iter()
            .filter(|t| !(t.key.is_empty() && t.value.is_empty()))
            .map(|t| (t.key, t.value))
            .collect(),
    };
    let role = iam.create_role(&caller, input).await?;
    let mut failed = Vec::new();
    for arn in &policies {
        if let Err(e) = iam.attach_policy(&caller, EntityKind::Role, &role.role_name, arn).await {
            failed.push((arn.clone(), ConsoleError::from(e)));
        }
    }
    if !failed.is_empty() {
        let done = format!("Role {} was created, but not every policy was attached: ", role.role_name);
        return Err(super::batch_error(&done, &failed));
    }
    scope.redirect_done(&crate::paths::role_href(&role.role_name), "role-created");
    Ok(())
}

/// `UpdateRole`: the description and the longest session.
#[server(prefix = "/api", endpoint = "update_role")]
pub async fn update_role(
    role_name: String,
    #[server(default)] description: String,
    max_session_seconds: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let seconds = session_seconds(&max_session_seconds)?;
    scope.state.iam.update_role(&caller, &role_name, Some(description.trim()), seconds).await?;
    scope.redirect_done(&crate::paths::role_href(&role_name), "role-updated");
    Ok(())
}

/// `UpdateAssumeRolePolicy`: replaces who may assume the role.
#[server(prefix = "/api", endpoint = "update_trust_policy")]
pub async fn update_trust_policy(role_name: String, document: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    scope.state.iam.update_assume_role_policy(&caller, &role_name, &document).await?;
    scope.redirect_done(&crate::paths::role_href(&role_name), "trust-saved");
    Ok(())
}

/// Deletes the selected roles, each with its policies (all or nothing per role, iam-core's
/// `delete_role_and_dependents`), after the word `delete` is typed.
#[server(prefix = "/api", endpoint = "delete_roles")]
pub async fn delete_roles(#[server(default)] names: Vec<String>, confirmation: String) -> Result<(), ConsoleError> {
    super::delete_selected(super::Listed::Roles, names, confirmation).await
}

/// Deletes one role from its page, after its name is typed, as AWS's console asks.
#[server(prefix = "/api", endpoint = "delete_role")]
pub async fn delete_role(role_name: String, confirmation: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    if confirmation.trim() != role_name {
        return Err(ConsoleError::new("ValidationError", format!("To confirm, enter the role name `{role_name}`.")));
    }
    let caller = scope.caller().await?;
    scope.state.iam.delete_role_and_dependents(&caller, &role_name).await?;
    let query = format!("/roles?deleted={}", crate::components::list::urlencode(&role_name));
    scope.redirect_done(&query, "roles-deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(entity: &str) -> TrustChoice {
        TrustChoice { entity: entity.into(), service: "ec2.amazonaws.com".into(), ..Default::default() }
    }

    #[test]
    fn the_trust_policy_is_aws_s_for_each_choice() {
        let service = trust_policy(&choice("service"), "111122223333").unwrap();
        assert_eq!(trusted_entities(&service), ["AWS service: ec2"]);
        assert!(service.contains(r#""Action": "sts:AssumeRole""#), "{service}");
        let own = trust_policy(&choice("account"), "111122223333").unwrap();
        assert_eq!(trusted_entities(&own), ["Account: 111122223333"]);
        assert!(!own.contains("Condition"));
        let other = TrustChoice {
            account: "other".into(),
            account_id: " 444455556666 ".into(),
            require_external_id: true,
            external_id: "partner-7".into(),
            require_mfa: true,
            ..choice("account")
        };
        let other = trust_policy(&other, "111122223333").unwrap();
        let parsed: Value = serde_json::from_str(&other).unwrap();
        assert_eq!(parsed["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::444455556666:root");
        assert_eq!(parsed["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"], "partner-7");
        assert_eq!(parsed["Statement"][0]["Condition"]["Bool"]["aws:MultiFactorAuthPresent"], "true");
        iam_policy::parse_and_validate(&other, iam_policy::PolicyKind::Trust).unwrap();
        let custom = TrustChoice { custom: "{ written by hand }".into(), ..choice("custom") };
        assert_eq!(trust_policy(&custom, "111122223333").unwrap(), "{ written by hand }");
    }

    #[test]
    fn a_trust_choice_with_something_missing_says_what() {
        for bad in [
            TrustChoice::default(),
            TrustChoice { service: String::new(), ..choice("service") },
            TrustChoice { service: "ec2.amazonaws.com\"}".into(), ..choice("service") },
            TrustChoice { service: "iam.amazonaws.com".into(), ..choice("service") },
            TrustChoice { account_id: "444455556666".into(), ..choice("account") },
            TrustChoice { external_id: "typed-but-not-required".into(), ..choice("account") },
            TrustChoice { account: "other".into(), account_id: "12345".into(), ..choice("account") },
            TrustChoice { require_external_id: true, external_id: "x".into(), ..choice("account") },
            TrustChoice { require_external_id: true, external_id: "has space".into(), ..choice("account") },
        ] {
            assert_eq!(trust_policy(&bad, "111122223333").unwrap_err().code, "ValidationError", "{bad:?}");
        }
    }

    #[test]
    fn trusted_entities_read_every_kind_of_principal() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ecs-tasks.amazonaws.com"]},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::210987654321:user/ci"]},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"},
            {"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]}"#;
        assert_eq!(
            trusted_entities(doc),
            [
                "AWS service: lambda",
                "AWS service: ecs-tasks",
                "Account: 123456789012",
                "arn:aws:iam::210987654321:user/ci",
                "Identity provider: cognito-identity.amazonaws.com",
            ]
        );
        assert_eq!(
            trusted_entities(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}"#),
            ["Anyone"]
        );
        assert!(trusted_entities("not json").is_empty());
    }

    #[test]
    fn session_lengths_read_as_people_say_them() {
        assert_eq!(session_label(3_600), "1 hour");
        assert_eq!(session_label(43_200), "12 hours");
        assert_eq!(session_label(5_400), "1 hour 30 minutes");
        assert_eq!(session_label(3_601), "3601 seconds");
    }

    #[test]
    fn every_offered_service_is_a_principal_aws_accepts() {
        for (name, principal) in SERVICE_PRINCIPALS {
            let policy = trust_policy(&TrustChoice { service: (*principal).into(), ..choice("service") }, "1").unwrap();
            iam_policy::parse_and_validate(&policy, iam_policy::PolicyKind::Trust).unwrap();
            assert!(principal.ends_with(".amazonaws.com"), "{name}: {principal}");
        }
    }
}
