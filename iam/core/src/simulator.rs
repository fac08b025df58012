//! The Policy Simulator: AWS's `SimulatePrincipalPolicy` and `SimulateCustomPolicy`. Each action is
//! decided on each resource by the same evaluator that authorizes every request, and each result
//! names the statements that decided it, the step that denied it, what the permissions boundary
//! said, and the context keys the policies ask for that the simulation did not supply.

use std::sync::Arc;

use iam_policy::{
    CompiledPolicy, Context, Decision, DenyStep, MatchedStatement, Outcome, PolicyKind, PolicySet, RequestPrincipal,
    compile, parse_and_validate,
};
use sqlx::Row as _;

use crate::Iam;
use crate::authz::{self, Request};
use crate::caller::Caller;
use crate::entities::{self, EntityKind};
use crate::error::IamError;
use crate::policies::document_error;
use crate::users::{Page, decode_marker, encode_marker, page_size};

/// A context entry as the simulator takes it: a key, its values, and AWS's `ContextKeyType`
/// (`string`, `stringList`, `numeric`, `boolean`, `date`, `ip`, `binary`, ...), which says only how
/// the values were written; the evaluator reads them by the operator that uses them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContextEntry {
    pub key: String,
    pub values: Vec<String>,
    pub key_type: String,
}

/// What both simulations take besides their policies.
#[derive(Debug, Clone, Default)]
pub struct Simulation {
    pub action_names: Vec<String>,
    /// `*` when empty, as AWS does.
    pub resource_arns: Vec<String>,
    /// A resource-based policy to include (JSON text).
    pub resource_policy: Option<String>,
    /// The account owning the resources, when it is not the caller's.
    pub resource_owner: Option<String>,
    /// The principal the simulation runs as (required with a resource policy naming principals).
    pub caller_arn: Option<String>,
    pub context_entries: Vec<ContextEntry>,
    /// Extra identity policies (JSON texts), added to the principal's own.
    pub policy_input_list: Vec<String>,
    /// Boundaries (JSON texts) to simulate instead of the principal's own.
    pub permissions_boundary_policy_input_list: Vec<String>,
    /// Results per page (1-1000, 100 by default), as AWS pages them: every action on every
    /// resource can be many results, and only one page is ever computed.
    pub max_items: Option<i64>,
    /// Where the previous page ended.
    pub marker: Option<String>,
}

/// One action on one resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EvaluationResult {
    pub eval_action_name: String,
    pub eval_resource_name: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`, as AWS writes them.
    pub eval_decision: String,
    pub matched_statements: Vec<MatchedStatement>,
    /// For an implicit deny, the step that denied.
    pub denied_by: Option<DenyStep>,
    /// Condition keys the deciding policies use that the simulation did not supply.
    pub missing_context_values: Vec<String>,
    /// With a boundary: whether it allows the action.
    pub allowed_by_permissions_boundary: Option<bool>,
}

fn decision_text(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Allow => "allowed",
        Outcome::ExplicitDeny => "explicitDeny",
        Outcome::ImplicitDeny => "implicitDeny",
    }
}

fn input_policy(text: &str, kind: PolicyKind, name: String) -> Result<Arc<CompiledPolicy>, IamError> {
    let doc = parse_and_validate(text, kind).map_err(document_error)?;
    Ok(Arc::new(compile(&doc, name)))
}

fn check_simulation(sim: &Simulation) -> Result<(), IamError> {
    if sim.action_names.is_empty() {
        return Err(IamError::ValidationError(
            "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not \
             be null"
                .to_owned(),
        ));
    }
    if sim.action_names.iter().any(|a| !a.contains(':')) {
        return Err(IamError::InvalidInput("Actions must be given as service:action.".to_owned()));
    }
    Ok(())
}

impl Iam {
    /// `iam:SimulatePrincipalPolicy`: the policies of a user (with its groups'), group or role,
    /// plus any extra ones, against the actions and resources asked.
    pub async fn simulate_principal_policy(
        &self,
        caller: &Caller,
        policy_source_arn: &str,
        sim: Simulation,
    ) -> Result<Page<EvaluationResult>, IamError> {
        check_simulation(&sim)?;
        let account_id = caller.account_id().to_owned();
        self.authorize_or_record(
            caller,
            Request::new("iam:SimulatePrincipalPolicy", policy_source_arn, &account_id),
            || serde_json::json!({ "PolicySourceArn": policy_source_arn, "ActionNames": sim.action_names }),
        )
        .await?;
        let mut conn = self.store().pool().acquire().await?;
        let entity = source_entity(&mut conn, &account_id, policy_source_arn).await?;
        let kind = entity.kind;
        let cache = self.policy_cache();
        let mut policies = authz::identity_policies(&mut conn, cache, &account_id, &entity.id).await?;
        for (i, text) in sim.policy_input_list.iter().enumerate() {
            policies.push(input_policy(text, PolicyKind::Identity, format!("PolicyInputList.{}", i + 1))?);
        }
        let boundary = if sim.permissions_boundary_policy_input_list.is_empty() {
            let column = match kind {
                EntityKind::User => Some(("users", "user_id")),
                EntityKind::Role => Some(("roles", "role_id")),
                EntityKind::Group => None,
            };
            match column {
                Some((table, id)) => {
                    let sql = format!("SELECT permissions_boundary_arn FROM {table} WHERE {id} = $1");
                    let arn: Option<String> = sqlx::query(&sql)
                        .bind(&entity.id)
                        .fetch_one(&mut *conn)
                        .await?
                        .try_get("permissions_boundary_arn")?;
                    match arn {
                        Some(arn) => Some(authz::managed_policy(&mut conn, cache, &arn).await?),
                        None => None,
                    }
                }
                None => None,
            }
        } else {
            let mut list = Vec::new();
            for (i, text) in sim.permissions_boundary_policy_input_list.iter().enumerate() {
                let name = format!("PermissionsBoundaryPolicyInputList.{}", i + 1);
                list.push(input_policy(text, PolicyKind::PermissionsBoundary, name)?);
            }
            // AWS takes one boundary; more than one would be ambiguous.
            if list.len() > 1 {
                return Err(IamError::InvalidInput("Only one permissions boundary can be simulated.".to_owned()));
            }
            list.pop()
        };
        let principal_arn = match (&sim.caller_arn, kind) {
            (Some(arn), _) => arn.clone(),
            (None, EntityKind::Group) => format!("arn:aws:iam::{account_id}:user/simulated-group-member"),
            (None, EntityKind::Role) => format!("arn:aws:sts::{account_id}:assumed-role/{}/simulation", entity.name),
            (None, EntityKind::User) => entity.arn.clone(),
        };
        let user_name = (kind == EntityKind::User).then(|| entity.name.clone());
        run(&account_id, &principal_arn, user_name, policies, boundary, &sim)
    }

    /// `iam:SimulateCustomPolicy`: the given policies alone.
    pub async fn simulate_custom_policy(
        &self,
        caller: &Caller,
        sim: Simulation,
    ) -> Result<Page<EvaluationResult>, IamError> {
        check_simulation(&sim)?;
        let account_id = caller.account_id().to_owned();
        self.authorize_or_record(
            caller,
            Request::new("iam:SimulateCustomPolicy", "*", &account_id),
            || serde_json::json!({ "ActionNames": sim.action_names }),
        )
        .await?;
        if sim.policy_input_list.is_empty() {
            return Err(IamError::ValidationError(
                "1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member \
                 must not be null"
                    .to_owned(),
            ));
        }
        let mut policies = Vec::new();
        for (i, text) in sim.policy_input_list.iter().enumerate() {
            policies.push(input_policy(text, PolicyKind::Identity, format!("PolicyInputList.{}", i + 1))?);
        }
        if sim.permissions_boundary_policy_input_list.len() > 1 {
            return Err(IamError::InvalidInput("Only one permissions boundary can be simulated.".to_owned()));
        }
        let boundary = match sim.permissions_boundary_policy_input_list.first() {
            Some(text) => Some(input_policy(
                text,
                PolicyKind::PermissionsBoundary,
                "PermissionsBoundaryPolicyInputList.1".to_owned(),
            )?),
            None => None,
        };
        let principal_arn =
            sim.caller_arn.clone().unwrap_or_else(|| format!("arn:aws:iam::{account_id}:user/simulated-user"));
        run(&account_id, &principal_arn, None, policies, boundary, &sim)
    }
}

impl Iam {
    /// `iam:GetContextKeysForCustomPolicy`: the condition keys the given policies use, each once.
    pub async fn get_context_keys_for_custom_policy(
        &self,
        caller: &Caller,
        policy_input_list: &[String],
    ) -> Result<Vec<String>, IamError> {
        let account_id = caller.account_id();
        self.authorize_or_record(caller, Request::new("iam:GetContextKeysForCustomPolicy", "*", account_id), || {
            serde_json::json!({})
        })
        .await?;
        let mut docs = Vec::new();
        for text in policy_input_list {
            docs.push(parse_and_validate(text, PolicyKind::Identity).map_err(document_error)?);
        }
        Ok(context_keys(&docs))
    }

    /// `iam:GetContextKeysForPrincipalPolicy`: the condition keys of a user's (with its groups'),
    /// group's or role's policies, and of any extra ones, each once.
    pub async fn get_context_keys_for_principal_policy(
        &self,
        caller: &Caller,
        policy_source_arn: &str,
        policy_input_list: &[String],
    ) -> Result<Vec<String>, IamError> {
        let account_id = caller.account_id();
        self.authorize_or_record(
            caller,
            Request::new("iam:GetContextKeysForPrincipalPolicy", policy_source_arn, account_id),
            || serde_json::json!({ "PolicySourceArn": policy_source_arn }),
        )
        .await?;
        let mut conn = self.store().pool().acquire().await?;
        let entity = source_entity(&mut conn, account_id, policy_source_arn).await?;
        let (_, mut docs) = crate::advisor::entity_documents(&mut conn, account_id, &entity).await?;
        for text in policy_input_list {
            docs.push(parse_and_validate(text, PolicyKind::Identity).map_err(document_error)?);
        }
        Ok(context_keys(&docs))
    }
}

/// The condition keys of `docs` as written, each once (keys compare ignoring case), sorted.
fn context_keys(docs: &[iam_policy::PolicyDocument]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for key in docs.iter().flat_map(|d| &d.statements).flat_map(|s| &s.conditions).map(|c| &c.key) {
        if !keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            keys.push(key.clone());
        }
    }
    keys.sort_by_key(|k| k.to_ascii_lowercase());
    keys
}

/// The user, group or role a simulation is about, by ARN, in the caller's account.
async fn source_entity(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    arn: &str,
) -> Result<entities::Entity, IamError> {
    let invalid = || IamError::InvalidInput(format!("Invalid ARN: {arn}"));
    let parsed = iam_policy::Arn::parse(arn).map_err(|_| invalid())?;
    let (kind_text, rest) = parsed.resource.split_once('/').ok_or_else(invalid)?;
    let kind = EntityKind::parse(kind_text).filter(|_| parsed.service == "iam").ok_or_else(invalid)?;
    let name = rest.rsplit('/').next().unwrap_or_default();
    entities::find(conn, account_id, kind, name)
        .await?
        .filter(|e| e.arn == arn && parsed.account == account_id)
        .ok_or_else(|| kind.no_such(name))
}

fn run(
    account_id: &str,
    principal_arn: &str,
    user_name: Option<String>,
    identity: Vec<Arc<CompiledPolicy>>,
    boundary: Option<Arc<CompiledPolicy>>,
    sim: &Simulation,
) -> Result<Page<EvaluationResult>, IamError> {
    let principal = RequestPrincipal::from_arn(principal_arn)
        .ok_or_else(|| IamError::InvalidInput(format!("Invalid CallerArn: {principal_arn}")))?;
    let resource = match &sim.resource_policy {
        Some(text) => Some(input_policy(text, PolicyKind::ResourceBased, "ResourcePolicy".to_owned())?),
        None => None,
    };
    let mut context = Context::new();
    context.insert("aws:PrincipalArn", principal_arn);
    context.insert("aws:PrincipalAccount", account_id);
    if let Some(name) = &user_name {
        context.insert("aws:username", name.clone());
    }
    for entry in &sim.context_entries {
        context.set_all(&entry.key, entry.values.clone());
    }
    let set = PolicySet { identity, resource, boundary: boundary.clone(), ..PolicySet::default() };
    let boundary_only = boundary.map(|b| PolicySet { identity: vec![b], ..PolicySet::default() });
    let resources = if sim.resource_arns.is_empty() { vec!["*".to_owned()] } else { sim.resource_arns.clone() };
    let resource_account = sim.resource_owner.as_deref().unwrap_or(account_id);
    let every_policy = set.identity.iter().chain(&set.resource).chain(&set.boundary);
    let mut missing: Vec<String> =
        every_policy.flat_map(|p| p.condition_keys()).filter(|k| context.get(k).is_none()).map(str::to_owned).collect();
    missing.sort();
    missing.dedup();
    let page_size = usize::try_from(page_size(sim.max_items)?).unwrap_or(100);
    let start = match &sim.marker {
        Some(marker) => decode_marker(marker)?.parse::<usize>().map_err(|_| invalid_marker())?,
        None => 0,
    };
    let total = sim.action_names.len().saturating_mul(resources.len());
    if start > total {
        return Err(invalid_marker());
    }
    let end = start.saturating_add(page_size).min(total);
    let mut out = Vec::with_capacity(end - start);
    // Results go action by action, each over every resource; only this page's are decided.
    for index in start..end {
        let (Some(action), Some(resource)) =
            (sim.action_names.get(index / resources.len()), resources.get(index % resources.len()))
        else {
            break;
        };
        {
            let request = iam_policy::Request {
                principal: &principal,
                action,
                resource,
                resource_account: Some(resource_account),
                context: &context,
            };
            let decision: Decision = iam_policy::evaluate(&request, &set);
            let allowed_by_boundary = boundary_only.as_ref().map(|b| iam_policy::evaluate(&request, b).is_allowed());
            out.push(EvaluationResult {
                eval_action_name: action.clone(),
                eval_resource_name: resource.clone(),
                eval_decision: decision_text(decision.outcome).to_owned(),
                matched_statements: decision.deciding,
                denied_by: decision.denied_by,
                missing_context_values: missing.clone(),
                allowed_by_permissions_boundary: allowed_by_boundary,
            });
        }
    }
    let is_truncated = end < total;
    Ok(Page { items: out, is_truncated, marker: is_truncated.then(|| encode_marker(&end.to_string())) })
}

fn invalid_marker() -> IamError {
    IamError::InvalidInput("Invalid Marker.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_keys_are_collected_lower_cased() {
        let p = input_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*",
                "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#,
            PolicyKind::Identity,
            "p".to_owned(),
        )
        .unwrap();
        assert_eq!(p.condition_keys(), ["aws:sourceip", "aws:multifactorauthpresent"]);
        assert_eq!(decision_text(Outcome::ExplicitDeny), "explicitDeny");
    }
}
