//! Account-wide settings and facts: the account alias (`CreateAccountAlias`, `DeleteAccountAlias`,
//! `ListAccountAliases`) and `GetAccountSummary`'s counts and quotas.

use std::collections::BTreeMap;

use sqlx::Row as _;

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::Caller;
use crate::entities::EntityKind;
use crate::error::{IamError, is_unique_violation};
use crate::names::AccountAlias;
use crate::{access_keys, groups, policies, roles, users};

impl Iam {
    /// `iam:CreateAccountAlias`: an account has one alias; a new one replaces it. Aliases are unique
    /// across the installation (they name the sign-in page).
    pub async fn create_account_alias(&self, caller: &Caller, alias: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let alias = AccountAlias::parse(alias)?;
            let account_id = caller.account_id().to_owned();
            let parameters = || serde_json::json!({ "AccountAlias": alias.as_str() });
            let tx = self.begin_write(&account_id).await?;
            let request = Request::new("iam:CreateAccountAlias", "*", &account_id);
            let mut tx = self.authorize_holding(tx, caller, request, parameters).await?;
            let updated = sqlx::query("UPDATE accounts SET alias = $2 WHERE account_id = $1")
                .bind(&account_id)
                .bind(alias.as_str())
                .execute(&mut *tx)
                .await;
            match updated {
                Err(e) if is_unique_violation(&e) => {
                    return Err(IamError::EntityAlreadyExists(format!("The account alias {alias} already exists.")));
                }
                other => other?,
            };
            let event =
                Event { action: "iam:CreateAccountAlias", target: None, parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:DeleteAccountAlias`: users then sign in with the account id.
    pub async fn delete_account_alias(&self, caller: &Caller, alias: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let alias = AccountAlias::parse(alias)?;
            let account_id = caller.account_id().to_owned();
            let parameters = || serde_json::json!({ "AccountAlias": alias.as_str() });
            let tx = self.begin_write(&account_id).await?;
            let request = Request::new("iam:DeleteAccountAlias", "*", &account_id);
            let mut tx = self.authorize_holding(tx, caller, request, parameters).await?;
            let updated = sqlx::query("UPDATE accounts SET alias = NULL WHERE account_id = $1 AND alias = $2")
                .bind(&account_id)
                .bind(alias.as_str())
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                return Err(IamError::NoSuchEntity(format!("The account alias {alias} cannot be found.")));
            }
            let event =
                Event { action: "iam:DeleteAccountAlias", target: None, parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:ListAccountAliases`: none or one.
    pub async fn list_account_aliases(&self, caller: &Caller) -> Result<Vec<String>, IamError> {
        let account_id = caller.account_id();
        self.authorize_or_record(caller, Request::new("iam:ListAccountAliases", "*", account_id), || {
            serde_json::json!({})
        })
        .await?;
        let alias: Option<String> = sqlx::query("SELECT alias FROM accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(self.store().pool())
            .await?
            .try_get("alias")?;
        Ok(alias.into_iter().collect())
    }

    /// `iam:GetAccountSummary`: AWS's `SummaryMap`, counts and quotas by AWS's names.
    pub async fn get_account_summary(&self, caller: &Caller) -> Result<BTreeMap<String, i64>, IamError> {
        let account_id = caller.account_id();
        self.authorize_or_record(caller, Request::new("iam:GetAccountSummary", "*", account_id), || {
            serde_json::json!({})
        })
        .await?;
        let row = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM users WHERE account_id = $1) AS users, \
             (SELECT COUNT(*) FROM iam_groups WHERE account_id = $1) AS groups, \
             (SELECT COUNT(*) FROM roles WHERE account_id = $1) AS roles, \
             (SELECT COUNT(*) FROM managed_policies WHERE account_id = $1) AS policies, \
             (SELECT COUNT(*) FROM policy_versions v JOIN managed_policies m ON m.policy_id = v.policy_id \
                WHERE m.account_id = $1) AS versions, \
             (SELECT COUNT(*) FROM mfa_devices WHERE account_id = $1) AS mfa_devices, \
             (SELECT COUNT(*) FROM mfa_devices WHERE account_id = $1 AND enabled_at IS NOT NULL) AS mfa_in_use, \
             (SELECT COUNT(*) FROM mfa_devices WHERE owner_id = $1 AND enabled_at IS NOT NULL) AS root_mfa, \
             (SELECT COUNT(*) FROM access_keys WHERE owner_id = $1) AS root_keys",
        )
        .bind(account_id)
        .fetch_one(self.store().pool())
        .await?;
        let count = |name: &str| row.try_get::<i64, _>(name);
        let mut map = BTreeMap::new();
        let mut put = |key: &str, value: i64| {
            map.insert(key.to_owned(), value);
        };
        put("Users", count("users")?);
        put("UsersQuota", users::MAX_USERS_PER_ACCOUNT);
        put("Groups", count("groups")?);
        put("GroupsQuota", groups::MAX_GROUPS_PER_ACCOUNT);
        put("Roles", count("roles")?);
        put("RolesQuota", roles::MAX_ROLES_PER_ACCOUNT);
        put("Policies", count("policies")?);
        put("PoliciesQuota", policies::MAX_POLICIES_PER_ACCOUNT);
        put("PolicyVersionsInUse", count("versions")?);
        put("PolicyVersionsInUseQuota", 10_000);
        put("VersionsPerPolicyQuota", policies::MAX_VERSIONS);
        put("MFADevices", count("mfa_devices")?);
        put("MFADevicesInUse", count("mfa_in_use")?);
        put("AccountMFAEnabled", i64::from(count("root_mfa")? > 0));
        put("AccountAccessKeysPresent", i64::from(count("root_keys")? > 0));
        put("AccountSigningCertificatesPresent", 0);
        put("AccessKeysPerUserQuota", access_keys::MAX_KEYS_PER_USER);
        put("AttachedPoliciesPerUserQuota", EntityKind::ATTACHED_QUOTA);
        put("AttachedPoliciesPerGroupQuota", EntityKind::ATTACHED_QUOTA);
        put("AttachedPoliciesPerRoleQuota", EntityKind::ATTACHED_QUOTA);
        put("GroupsPerUserQuota", groups::MAX_GROUPS_PER_USER);
        put("UserPolicySizeQuota", i64::try_from(EntityKind::User.inline_quota()).unwrap_or(i64::MAX));
        put("GroupPolicySizeQuota", i64::try_from(EntityKind::Group.inline_quota()).unwrap_or(i64::MAX));
        put("RolePolicySizeQuota", i64::try_from(EntityKind::Role.inline_quota()).unwrap_or(i64::MAX));
        put("PolicySizeQuota", 6_144);
        put("AssumeRolePolicySizeQuota", 2_048);
        put("SigningCertificatesPerUserQuota", 2);
        put("ServerCertificates", 0);
        put("ServerCertificatesQuota", 20);
        put("InstanceProfiles", 0);
        put("InstanceProfilesQuota", 1_000);
        put("Providers", 0);
        put("GlobalEndpointTokenVersion", 1);
        Ok(map)
    }
}
