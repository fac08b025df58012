//! The account password policy (`GetAccountPasswordPolicy`, `UpdateAccountPasswordPolicy`,
//! `DeleteAccountPasswordPolicy`), the checks every new password goes through, password history
//! for `PasswordReusePrevention`, and the actions that set a user's password afterwards:
//! `ChangePassword`, `GetLoginProfile`, `UpdateLoginProfile`.

use sqlx::{AnyConnection, Row as _};

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::{Caller, Principal};
use crate::clock::Timestamp;
use crate::entities::{self, EntityKind};
use crate::error::IamError;
use crate::password::{self, Password, SYMBOLS, Strength, Verified};
use crate::users::LoginProfile;

/// Every field of AWS's password policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PasswordPolicy {
    pub minimum_password_length: i64,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase_characters: bool,
    pub require_lowercase_characters: bool,
    pub allow_users_to_change_password: bool,
    /// Days a password lasts; `None`: forever.
    pub max_password_age: Option<i64>,
    /// How many earlier passwords a user may not reuse; `None`: no rule.
    pub password_reuse_prevention: Option<i64>,
    /// An expired password can only be reset by an administrator.
    pub hard_expiry: bool,
}

impl PasswordPolicy {
    /// `ExpirePasswords` in AWS's answer.
    pub fn expire_passwords(&self) -> bool {
        self.max_password_age.is_some()
    }
}

/// `UpdateAccountPasswordPolicy`'s input: AWS's defaults apply to every field left out.
#[derive(Debug, Clone, Default)]
pub struct UpdatePasswordPolicy {
    pub minimum_password_length: Option<i64>,
    pub require_symbols: Option<bool>,
    pub require_numbers: Option<bool>,
    pub require_uppercase_characters: Option<bool>,
    pub require_lowercase_characters: Option<bool>,
    pub allow_users_to_change_password: Option<bool>,
    pub max_password_age: Option<i64>,
    pub password_reuse_prevention: Option<i64>,
    pub hard_expiry: Option<bool>,
}

fn range_error(field: &str, value: i64, min: i64, max: i64) -> IamError {
    IamError::ValidationError(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have \
         value between {min} and {max}"
    ))
}

impl UpdatePasswordPolicy {
    fn into_policy(self) -> Result<PasswordPolicy, IamError> {
        let min = self.minimum_password_length.unwrap_or(6);
        if !(6..=128).contains(&min) {
            return Err(range_error("minimumPasswordLength", min, 6, 128));
        }
        if let Some(age) = self.max_password_age
            && !(1..=1095).contains(&age)
        {
            return Err(range_error("maxPasswordAge", age, 1, 1095));
        }
        if let Some(n) = self.password_reuse_prevention
            && !(1..=24).contains(&n)
        {
            return Err(range_error("passwordReusePrevention", n, 1, 24));
        }
        Ok(PasswordPolicy {
            minimum_password_length: min,
            require_symbols: self.require_symbols.unwrap_or(false),
            require_numbers: self.require_numbers.unwrap_or(false),
            require_uppercase_characters: self.require_uppercase_characters.unwrap_or(false),
            require_lowercase_characters: self.require_lowercase_characters.unwrap_or(false),
            allow_users_to_change_password: self.allow_users_to_change_password.unwrap_or(false),
            max_password_age: self.max_password_age,
            password_reuse_prevention: self.password_reuse_prevention,
            hard_expiry: self.hard_expiry.unwrap_or(false),
        })
    }
}

/// Checks a new password against the account's policy, or AWS's default rules when it has none,
/// and refuses common and easily guessed passwords. Every unmet rule is named, as the console
/// shows them.
pub fn check_password(policy: Option<&PasswordPolicy>, password: &Password) -> Result<(), IamError> {
    check_password_for(policy, password, &[])
}

/// [`check_password`], knowing words an attacker would try first for this user (its name, email,
/// the account alias).
pub fn check_password_for(
    policy: Option<&PasswordPolicy>,
    password: &Password,
    user_inputs: &[&str],
) -> Result<(), IamError> {
    let len = password.expose().chars().count();
    if len == 0 || len > 128 {
        return Err(IamError::ValidationError(
            "1 validation error detected: Value at 'password' failed to satisfy constraint: Member must have length \
             between 1 and 128"
                .to_owned(),
        ));
    }
    let unmet = unmet_rules(policy, password, user_inputs);
    if unmet.is_empty() { Ok(()) } else { Err(password::refusal(&unmet)) }
}

/// The rules of `policy` (AWS's defaults without one) that `password` does not meet, in plain
/// words, for the refusal and for the console's checklist.
pub fn unmet_rules(policy: Option<&PasswordPolicy>, password: &Password, user_inputs: &[&str]) -> Vec<String> {
    unmet_rules_rated(policy, password, &password::strength(password, user_inputs))
}

/// [`unmet_rules`], with zxcvbn's estimate already made (it is the costly part).
fn unmet_rules_rated(policy: Option<&PasswordPolicy>, password: &Password, rated: &Strength) -> Vec<String> {
    let Some(policy) = policy else {
        return password::default_rules_unmet_rated(password, rated);
    };
    let p = password.expose();
    let mut unmet = Vec::new();
    if i64::try_from(p.chars().count()).unwrap_or(i64::MAX) < policy.minimum_password_length {
        unmet.push(format!("at least {} characters", policy.minimum_password_length));
    }
    let rules = [
        (policy.require_uppercase_characters, p.chars().any(|c| c.is_ascii_uppercase()), "an uppercase letter"),
        (policy.require_lowercase_characters, p.chars().any(|c| c.is_ascii_lowercase()), "a lowercase letter"),
        (policy.require_numbers, p.chars().any(|c| c.is_ascii_digit()), "a number"),
        (policy.require_symbols, p.chars().any(|c| SYMBOLS.contains(c)), "a symbol"),
    ];
    unmet.extend(
        rules.iter().filter(|(required, present, _)| *required && !present).map(|(_, _, what)| (*what).to_owned()),
    );
    unmet.extend(password::guessable(password, rated));
    unmet
}

/// An account's password rules in plain words, and how a candidate password fares against them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRequirements {
    pub rules: Vec<String>,
    /// The rules the candidate does not meet yet (empty without one).
    pub unmet: Vec<String>,
    /// zxcvbn's estimate of the candidate (of an empty one without), for a strength meter.
    pub strength: Strength,
}

pub(crate) async fn load_policy(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<PasswordPolicy>, IamError> {
    let row = sqlx::query(
        "SELECT minimum_length, require_symbols, require_numbers, require_uppercase, require_lowercase, \
         allow_users_to_change_password, max_password_age, password_reuse_prevention, hard_expiry \
         FROM password_policies WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let flag = |name: &str| -> Result<bool, sqlx::Error> { Ok(r.try_get::<i64, _>(name)? != 0) };
    Ok(Some(PasswordPolicy {
        minimum_password_length: r.try_get("minimum_length")?,
        require_symbols: flag("require_symbols")?,
        require_numbers: flag("require_numbers")?,
        require_uppercase_characters: flag("require_uppercase")?,
        require_lowercase_characters: flag("require_lowercase")?,
        allow_users_to_change_password: flag("allow_users_to_change_password")?,
        max_password_age: r.try_get("max_password_age")?,
        password_reuse_prevention: r.try_get("password_reuse_prevention")?,
        hard_expiry: flag("hard_expiry")?,
    }))
}

/// How many earlier hashes are kept per user: the largest `PasswordReusePrevention`.
const HISTORY_KEPT: i64 = 24;

/// What `AllowUsersToChangePassword` grants, as a policy: every user may change their own password
/// (`ChangePassword` always acts on the caller itself) and read the rules it must meet.
fn allow_users_to_change_password() -> std::sync::Arc<iam_policy::CompiledPolicy> {
    static GRANT: std::sync::OnceLock<std::sync::Arc<iam_policy::CompiledPolicy>> = std::sync::OnceLock::new();
    GRANT
        .get_or_init(|| {
            let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                "Action":["iam:ChangePassword","iam:GetAccountPasswordPolicy"],"Resource":"*"}]}"#;
            let compiled = iam_policy::parse_policy(text)
                .map(|doc| iam_policy::compile(&doc, "AccountPasswordPolicy/AllowUsersToChangePassword"));
            std::sync::Arc::new(
                compiled.unwrap_or_else(|_| iam_policy::CompiledPolicy::empty("AllowUsersToChangePassword")),
            )
        })
        .clone()
}

impl Iam {
    /// `iam:GetAccountPasswordPolicy`: `NoSuchEntity` when the account has none (AWS's default
    /// rules apply then).
    pub async fn get_account_password_policy(&self, caller: &Caller) -> Result<PasswordPolicy, IamError> {
        let account_id = caller.account_id();
        let mut conn = self.store().pool().acquire().await?;
        let policy = load_policy(&mut conn, account_id).await?;
        // Users allowed to change their own password may read the rules it must meet, as in AWS.
        let mut request = Request::new("iam:GetAccountPasswordPolicy", "*", account_id);
        if policy.as_ref().is_some_and(|p| p.allow_users_to_change_password) {
            request.setting_grant = Some(allow_users_to_change_password());
        }
        self.authorize_or_record_using(Some(&mut conn), caller, request, || serde_json::json!({})).await?;
        policy.ok_or_else(|| {
            IamError::NoSuchEntity(format!("The Password Policy with domain name {account_id} cannot be found."))
        })
    }

    /// `iam:UpdateAccountPasswordPolicy`: replaces the whole policy; fields left out take AWS's
    /// defaults.
    pub async fn update_account_password_policy(
        &self,
        caller: &Caller,
        input: UpdatePasswordPolicy,
    ) -> Result<PasswordPolicy, IamError> {
        self.record_failures(caller, async move {
            let policy = input.into_policy()?;
            let account_id = caller.account_id().to_owned();
            let parameters = || serde_json::to_value(&policy).unwrap_or_default();
            let tx = self.begin_write(&account_id).await?;
            let request = Request::new("iam:UpdateAccountPasswordPolicy", "*", &account_id);
            let mut tx = self.authorize_holding(tx, caller, request, parameters).await?;
            sqlx::query("DELETE FROM password_policies WHERE account_id = $1")
                .bind(&account_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO password_policies (account_id, minimum_length, require_symbols, require_numbers, \
             require_uppercase, require_lowercase, allow_users_to_change_password, max_password_age, \
             password_reuse_prevention, hard_expiry) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&account_id)
            .bind(policy.minimum_password_length)
            .bind(i64::from(policy.require_symbols))
            .bind(i64::from(policy.require_numbers))
            .bind(i64::from(policy.require_uppercase_characters))
            .bind(i64::from(policy.require_lowercase_characters))
            .bind(i64::from(policy.allow_users_to_change_password))
            .bind(policy.max_password_age)
            .bind(policy.password_reuse_prevention)
            .bind(i64::from(policy.hard_expiry))
            .execute(&mut *tx)
            .await?;
            let event = Event {
                action: "iam:UpdateAccountPasswordPolicy",
                target: None,
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            tx.commit().await?;
            Ok(policy)
        })
        .await
    }

    /// `iam:DeleteAccountPasswordPolicy`: AWS's default rules apply again.
    pub async fn delete_account_password_policy(&self, caller: &Caller) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let account_id = caller.account_id().to_owned();
            let tx = self.begin_write(&account_id).await?;
            let request = Request::new("iam:DeleteAccountPasswordPolicy", "*", &account_id);
            let mut tx = self.authorize_holding(tx, caller, request, || serde_json::json!({})).await?;
            let deleted = sqlx::query("DELETE FROM password_policies WHERE account_id = $1")
                .bind(&account_id)
                .execute(&mut *tx)
                .await?;
            if deleted.rows_affected() == 0 {
                return Err(IamError::NoSuchEntity(format!(
                    "The account policy with name PasswordPolicy cannot be found for account {account_id}."
                )));
            }
            let event = Event {
                action: "iam:DeleteAccountPasswordPolicy",
                target: None,
                parameters: serde_json::json!({}),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:ChangePassword`: a user changes its own console password, giving the current one. The
    /// account policy's `AllowUsersToChangePassword` lets every user do so without a policy
    /// granting `iam:ChangePassword`. The new password must meet the policy and not repeat the
    /// last `PasswordReusePrevention` ones.
    pub async fn change_password(&self, caller: &Caller, old: &Password, new: &Password) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let Principal::User { account_id, user_id, user_name, .. } = &caller.principal else {
                return self.change_root_password(caller, old, new).await;
            };
            let (arn, policy, must_change) = {
                let mut conn = self.store().pool().acquire().await?;
                // The user as it is now (a session keeps the name it began with; a rename since
                // would otherwise point the request at a namesake).
                let current = sqlx::query("SELECT user_name, path FROM users WHERE user_id = $1")
                    .bind(user_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                let arn = match current {
                    Some(row) => crate::entities::entity_arn(
                        account_id,
                        EntityKind::User,
                        &row.try_get::<String, _>("path")?,
                        &row.try_get::<String, _>("user_name")?,
                    ),
                    None => caller.principal.arn().to_string(),
                };
                let policy = load_policy(&mut conn, account_id).await?;
                let profile =
                    sqlx::query("SELECT reset_required, password_changed_at FROM login_profiles WHERE user_id = $1")
                        .bind(user_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                let must_change = match profile {
                    Some(row) => {
                        let expires =
                            crate::sign_in::password_expiry(policy.as_ref(), Some(row.try_get("password_changed_at")?));
                        row.try_get::<i64, _>("reset_required")? != 0 || expires.is_some_and(|at| self.now() >= at)
                    }
                    None => false,
                };
                (arn, policy, must_change)
            };
            // The account setting grants what a policy would; it is decided with the caller's other
            // policies, so an explicit deny (AWS's quarantine policy for leaked keys denies this) and a
            // permissions boundary still apply, and a refusal is recorded.
            // A user who must set a new password (an administrator's reset, or an expired password
            // without HardExpiry) may, as AWS's console grants IAMUserChangePassword then: the
            // same grant, with the same denies and boundaries over it.
            let mut request = Request::new("iam:ChangePassword", &arn, account_id);
            if must_change || policy.as_ref().is_some_and(|p| p.allow_users_to_change_password) {
                request.setting_grant = Some(allow_users_to_change_password());
            }
            self.authorize_or_record(caller, request, || serde_json::json!({ "UserName": user_name })).await?;
            let has_profile = sqlx::query("SELECT 1 AS one FROM login_profiles WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(self.store().pool())
                .await?;
            if has_profile.is_none() {
                return Err(IamError::NoSuchEntity(format!("Login Profile for User {user_name} cannot be found.")));
            }
            // Wrong answers count towards the sign-in delays: a session is no password oracle.
            self.confirm_password(caller, old).await?;
            self.set_password(caller, user_id, user_name, &arn, new, policy.as_ref(), Some(false), "iam:ChangePassword")
                .await
        })
        .await
    }

    /// `iam:GetLoginProfile`: whether a user has a console password, and whether it must be reset.
    pub async fn get_login_profile(&self, caller: &Caller, user_name: &str) -> Result<LoginProfile, IamError> {
        let name = EntityKind::User.parse_name(user_name)?;
        let mut conn = self.store().pool().acquire().await?;
        let user = self
            .read_entity(
                &mut conn,
                caller,
                EntityKind::User,
                &name,
                "iam:GetLoginProfile",
                || serde_json::json!({ "UserName": name }),
            )
            .await?;
        let row = sqlx::query("SELECT created_at, reset_required FROM login_profiles WHERE user_id = $1")
            .bind(&user.id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| IamError::NoSuchEntity(format!("Login Profile for User {} cannot be found.", user.name)))?;
        Ok(LoginProfile {
            user_name: user.name,
            create_date: Timestamp::from_millis(row.try_get("created_at")?),
            password_reset_required: row.try_get::<i64, _>("reset_required")? != 0,
        })
    }

    /// `iam:UpdateLoginProfile`: an administrator sets a user's password and/or whether it must be
    /// reset at next sign-in.
    pub async fn update_login_profile(
        &self,
        caller: &Caller,
        user_name: &str,
        password: Option<&Password>,
        password_reset_required: Option<bool>,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let name = EntityKind::User.parse_name(user_name)?;
            let account_id = caller.account_id().to_owned();
            let (found, policy) = {
                let mut conn = self.store().pool().acquire().await?;
                (
                    entities::find(&mut conn, &account_id, EntityKind::User, &name).await?,
                    load_policy(&mut conn, &account_id).await?,
                )
            };
            let arn = entities::target_arn(&account_id, EntityKind::User, found.as_ref(), &name);
            let parameters =
                || serde_json::json!({ "UserName": name, "PasswordResetRequired": password_reset_required });
            self.authorize_or_record(caller, Request::new("iam:UpdateLoginProfile", &arn, &account_id), parameters)
                .await?;
            let user = found.ok_or_else(|| EntityKind::User.no_such(&name))?;
            match password {
                Some(p) => {
                    self.set_password(
                        caller,
                        &user.id,
                        &user.name,
                        &arn,
                        p,
                        policy.as_ref(),
                        password_reset_required,
                        "iam:UpdateLoginProfile",
                    )
                    .await
                }
                None => {
                    let mut tx = self.begin_write(&account_id).await?;
                    let updated = sqlx::query(
                        "UPDATE login_profiles SET reset_required = COALESCE($2, reset_required) WHERE user_id = $1",
                    )
                    .bind(&user.id)
                    .bind(password_reset_required.map(i64::from))
                    .execute(&mut *tx)
                    .await?;
                    if updated.rows_affected() == 0 {
                        return Err(IamError::NoSuchEntity(format!(
                            "Login Profile for User {} cannot be found.",
                            user.name
                        )));
                    }
                    let event = Event {
                        action: "iam:UpdateLoginProfile",
                        target: Some(&arn),
                        parameters: parameters(),
                        outcome: "Success",
                    };
                    audit::append(&mut tx, caller, self.now(), &event).await?;
                    tx.commit().await?;
                    Ok(())
                }
            }
        })
        .await
    }

    /// The root user changes its own password (its console's "Security credentials"): the current
    /// one must be given; the new one meets the account's rules. Every other root session ends.
    async fn change_root_password(&self, caller: &Caller, old: &Password, new: &Password) -> Result<(), IamError> {
        let account_id = caller.account_id().to_owned();
        let (stored, email, policy) = {
            let mut conn = self.store().pool().acquire().await?;
            let row = sqlx::query("SELECT root_password_hash, root_email FROM accounts WHERE account_id = $1")
                .bind(&account_id)
                .fetch_one(&mut *conn)
                .await?;
            let stored: String = row.try_get("root_password_hash")?;
            let email: String = row.try_get("root_email")?;
            (stored, email, load_policy(&mut conn, &account_id).await?)
        };
        // Wrong answers count towards the sign-in delays: a session is no password oracle.
        self.confirm_password(caller, old).await?;
        check_password_for(policy.as_ref(), new, &[&email])?;
        if self.hasher().verify(new, Some(&stored)).await? != Verified::No {
            return Err(password::refusal(&["to differ from the current password".to_owned()]));
        }
        let hash = self.hasher().hash(new).await?;
        let now = self.now();
        let mut tx = self.begin_write(&account_id).await?;
        sqlx::query("UPDATE accounts SET root_password_hash = $2, root_password_changed_at = $3 WHERE account_id = $1")
            .bind(&account_id)
            .bind(&hash)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        let kept = crate::console_sessions::kept_session(caller, &account_id);
        crate::console_sessions::end_sessions_of(&mut tx, &account_id, kept).await?;
        let arn = caller.principal.arn().to_string();
        let event = Event {
            action: "iam:ChangePassword",
            target: Some(&arn),
            parameters: serde_json::json!({}),
            outcome: "Success",
        };
        audit::append(&mut tx, caller, now, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks a password someone is about to set in `account_id` (for a console form, before it
    /// creates anything): the account's rules, or AWS's defaults.
    pub async fn check_new_password(
        &self,
        account_id: &str,
        password: &Password,
        user_inputs: &[&str],
    ) -> Result<(), IamError> {
        let mut conn = self.store().pool().acquire().await?;
        let policy = load_policy(&mut conn, account_id).await?;
        check_password_for(policy.as_ref(), password, user_inputs)
    }

    /// A new random password that meets `account_id`'s rules (or AWS's defaults): AWS console's
    /// "Autogenerated password". Not an IAM action: it sets nothing.
    pub async fn generate_password(&self, account_id: &str) -> Result<Password, IamError> {
        let mut conn = self.store().pool().acquire().await?;
        let policy = load_policy(&mut conn, account_id).await?;
        let length = policy.as_ref().map_or(0, |p| p.minimum_password_length);
        let password = password::generate(usize::try_from(length).unwrap_or(0));
        // Every class is in it and it is random: a refusal here is a bug in `generate`.
        check_password_for(policy.as_ref(), &password, &[])?;
        Ok(password)
    }

    /// The rules a new password must meet in `account_id`, in plain words, and how `password` (if
    /// given) fares: the rules it does not meet yet and zxcvbn's estimate, made once. The
    /// console's checklist and meter beside a password field. Not an IAM action: the rules are what
    /// any refusal would say.
    pub async fn password_requirements(
        &self,
        account_id: &str,
        password: Option<&Password>,
        user_inputs: &[&str],
    ) -> Result<PasswordRequirements, IamError> {
        let mut conn = self.store().pool().acquire().await?;
        let policy = load_policy(&mut conn, account_id).await?;
        let mut rules = unmet_rules(policy.as_ref(), &Password::new(""), &[]);
        rules.push(password::HARD_TO_GUESS.to_owned());
        let candidate = password.cloned().unwrap_or_else(|| Password::new(""));
        let strength = password::strength(&candidate, user_inputs);
        let unmet =
            if password.is_some() { unmet_rules_rated(policy.as_ref(), &candidate, &strength) } else { Vec::new() };
        Ok(PasswordRequirements { rules, unmet, strength })
    }

    /// Sets a user's console password after the policy and reuse checks, keeping the old hash in
    /// the user's history.
    #[allow(clippy::too_many_arguments, reason = "one private step shared by two actions")]
    async fn set_password(
        &self,
        caller: &Caller,
        user_id: &str,
        user_name: &str,
        arn: &str,
        new: &Password,
        policy: Option<&PasswordPolicy>,
        reset_required: Option<bool>,
        action: &str,
    ) -> Result<(), IamError> {
        check_password_for(policy, new, &[user_name])?;
        if let Some(n) = policy.and_then(|p| p.password_reuse_prevention) {
            let rows = sqlx::query(
                "SELECT password_hash FROM (SELECT password_hash, changed_at FROM password_history WHERE user_id = $1 \
                 UNION ALL SELECT password_hash, password_changed_at AS changed_at FROM login_profiles WHERE user_id = $1) h \
                 ORDER BY changed_at DESC LIMIT $2",
            )
            .bind(user_id)
            .bind(n)
            .fetch_all(self.store().pool())
            .await?;
            for row in &rows {
                let earlier: String = row.try_get("password_hash")?;
                if matches!(self.hasher().verify(new, Some(&earlier)).await?, Verified::Yes { .. }) {
                    return Err(IamError::PasswordPolicyViolation(format!(
                        "Password does not conform to the account password policy: it must differ from the last {n} \
                         passwords."
                    )));
                }
            }
        }
        let hash = self.hasher().hash(new).await?;
        let now = self.now();
        let account_id = caller.account_id().to_owned();
        let mut tx = self.begin_write(&account_id).await?;
        let old = sqlx::query("SELECT password_hash, password_changed_at FROM login_profiles WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| IamError::NoSuchEntity(format!("Login Profile for User {user_name} cannot be found.")))?;
        sqlx::query("INSERT INTO password_history (user_id, password_hash, changed_at) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(old.try_get::<String, _>("password_hash")?)
            .bind(old.try_get::<i64, _>("password_changed_at")?)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM password_history WHERE user_id = $1 AND changed_at < (SELECT MIN(changed_at) FROM \
             (SELECT changed_at FROM password_history WHERE user_id = $1 ORDER BY changed_at DESC LIMIT $2) kept)",
        )
        .bind(user_id)
        .bind(HISTORY_KEPT)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE login_profiles SET password_hash = $2, password_changed_at = $3, \
             reset_required = COALESCE($4, reset_required) WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(&hash)
        .bind(now.as_millis())
        .bind(reset_required.map(i64::from))
        .execute(&mut *tx)
        .await?;
        // A new password ends every other session of the user: whoever knew the old one is out.
        let kept = crate::console_sessions::kept_session(caller, user_id);
        crate::console_sessions::end_sessions_of(&mut tx, user_id, kept).await?;
        let event = Event {
            action,
            target: Some(arn),
            parameters: serde_json::json!({ "UserName": user_name, "PasswordResetRequired": reset_required }),
            outcome: "Success",
        };
        audit::append(&mut tx, caller, now, &event).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        UpdatePasswordPolicy {
            minimum_password_length: Some(12),
            require_symbols: Some(true),
            require_numbers: Some(true),
            require_uppercase_characters: Some(true),
            ..Default::default()
        }
        .into_policy()
        .unwrap()
    }

    #[test]
    fn generated_passwords_meet_the_strictest_policy() {
        for length in [6, 12, 64, 128] {
            let strict = UpdatePasswordPolicy {
                minimum_password_length: Some(length),
                require_symbols: Some(true),
                require_numbers: Some(true),
                require_uppercase_characters: Some(true),
                require_lowercase_characters: Some(true),
                ..Default::default()
            }
            .into_policy()
            .unwrap();
            for _ in 0..20 {
                let generated = password::generate(usize::try_from(length).unwrap());
                assert!(check_password_for(Some(&strict), &generated, &["alice"]).is_ok(), "{length}");
            }
        }
    }

    #[test]
    fn passwords_meet_the_policy_or_name_what_is_missing() {
        let p = policy();
        assert!(check_password(Some(&p), &Password::new("Long-enough-1")).is_ok());
        let err = check_password(Some(&p), &Password::new("short")).unwrap_err();
        assert_eq!(err.code(), "PasswordPolicyViolation");
        assert!(err.message().contains("at least 12 characters, an uppercase letter, a number, a symbol"), "{err}");
        assert_eq!(check_password(Some(&p), &Password::new("")).unwrap_err().code(), "ValidationError");
        assert!(check_password(None, &Password::new("abcdefgh")).is_err(), "AWS's default rules without a policy");
        assert!(check_password(None, &Password::new("Vbmkqtz7")).is_ok());
        let common = check_password(Some(&p), &Password::new("Password123!")).unwrap_err();
        assert!(common.message().contains("harder to guess"), "{common}");
    }

    #[test]
    fn policy_fields_take_aws_defaults_and_ranges() {
        let p = UpdatePasswordPolicy::default().into_policy().unwrap();
        assert_eq!(p.minimum_password_length, 6);
        assert!(!p.allow_users_to_change_password && !p.expire_passwords());
        let bad = |u: UpdatePasswordPolicy| u.into_policy().unwrap_err().code();
        assert_eq!(
            bad(UpdatePasswordPolicy { minimum_password_length: Some(5), ..Default::default() }),
            "ValidationError"
        );
        assert_eq!(bad(UpdatePasswordPolicy { max_password_age: Some(1096), ..Default::default() }), "ValidationError");
        assert_eq!(
            bad(UpdatePasswordPolicy { password_reuse_prevention: Some(25), ..Default::default() }),
            "ValidationError"
        );
    }
}
