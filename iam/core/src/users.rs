//! IAM users and their console passwords (login profiles): `CreateUser`, `GetUser`, `ListUsers`,
//! `DeleteUser`, `CreateLoginProfile`, `DeleteLoginProfile`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use iam_policy::Arn;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::Caller;
use crate::clock::Timestamp;
use crate::error::{IamError, is_unique_violation};
use crate::ids::{self, IdKind};
use crate::names::{IamPath, Tag, UserName};
use crate::password::Password;
use crate::tagging::{insert_tags, load_tags, tags_json};

/// Users per account (AWS's default quota).
pub const MAX_USERS_PER_ACCOUNT: i64 = 5000;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub user_id: String,
    pub user_name: String,
    pub path: String,
    pub arn: String,
    pub create_date: Timestamp,
    pub permissions_boundary_arn: Option<String>,
    /// When the console password was last used; `None` if never or if there is none.
    pub password_last_used: Option<Timestamp>,
    /// Whether the user has a console password (a login profile).
    pub has_login_profile: bool,
    pub tags: Vec<Tag>,
}

/// What AWS's console users list shows of a user beyond `ListUsers`, each column read under the
/// action the console calls for it; a column the caller may not read carries the refusal.
#[derive(Debug, Clone)]
pub struct UserListColumns {
    /// `iam:ListGroupsForUser`: how many groups the user is in.
    pub groups: Result<usize, IamError>,
    /// `iam:ListMFADevices`: the kinds of its MFA devices in use (`totp`, `webauthn`, ...).
    pub mfa: Result<Vec<String>, IamError>,
    /// `iam:GetLoginProfile`: when its console password was set; `None` without one.
    pub password_changed: Result<Option<Timestamp>, IamError>,
    /// `iam:ListAccessKeys`: when each of its active keys was made, oldest first.
    pub active_keys: Result<Vec<Timestamp>, IamError>,
    /// `iam:GetAccessKeyLastUsed` for each of its keys (after `iam:ListAccessKeys`): the last use
    /// of any of them; refused when any of those reads is.
    pub keys_last_used: Result<Option<Timestamp>, IamError>,
}

#[derive(Debug, Clone, Default)]
pub struct CreateUser {
    pub user_name: String,
    pub path: Option<String>,
    pub tags: Vec<(String, String)>,
    /// The ARN of a managed policy to set as the user's permissions boundary.
    pub permissions_boundary: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListUsers {
    pub path_prefix: Option<String>,
    /// A console extension: only users whose name contains this text, ignoring case.
    pub name_contains: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

/// The orders of the console's users list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserOrder {
    /// By name, ignoring case (`ListUsers`'s order).
    #[default]
    Name,
    /// By path ignoring case, then name.
    Path,
    /// By creation time, then name.
    Created,
    /// By the console password's last use, then name; never used sorts as the oldest.
    ConsoleSignIn,
}

/// A page of the console's users list: the users `ListUsers` would return, filtered by name,
/// sorted by one of its columns and cut by page number, each page read alone (a page of 5,000
/// users must not read the 5,000).
#[derive(Debug, Clone, Default)]
pub struct UsersQuery {
    /// Only users whose name contains this text, ignoring case.
    pub name_contains: Option<String>,
    pub order: UserOrder,
    pub descending: bool,
    /// From 1; past the last page reads the last page.
    pub page: usize,
    /// Rows a page, 1 to 1,000.
    pub page_size: usize,
}

/// What [`Iam::users_page`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersPage {
    pub users: Vec<User>,
    /// The users that pass the filter, on every page.
    pub total: usize,
    /// The page read, from 1 (the last one when the asked one is past the end).
    pub page: usize,
    pub pages: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    /// Pass back as `marker` for the next page.
    pub marker: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoginProfile {
    pub user_name: String,
    pub create_date: Timestamp,
    pub password_reset_required: bool,
}

fn user_arn(account_id: &str, path: &str, name: &str) -> String {
    Arn::iam(account_id, format!("user{path}{name}")).to_string()
}

/// The ARN an action on user `name` is authorized against: the user's real ARN (with its path)
/// when it exists, so that path-scoped policies apply, else `user/NAME`.
fn target_arn(account_id: &str, found: Option<&UserRow>, name: &UserName) -> String {
    match found {
        Some(row) => user_arn(account_id, &row.path, &row.user_name),
        None => user_arn(account_id, "/", name.as_str()),
    }
}

fn no_such_user(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
}

/// `MaxItems`: 1-1000, 100 by default.
pub(crate) fn page_size(max_items: Option<i64>) -> Result<i64, IamError> {
    match max_items {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n),
        Some(n) => Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{n}' at 'maxItems' failed to satisfy constraint: \
             Member must have value between 1 and 1000"
        ))),
    }
}

/// Markers are opaque to clients: the last name key of the page, base64url-encoded.
pub(crate) fn encode_marker(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

pub(crate) fn decode_marker(marker: &str) -> Result<String, IamError> {
    let invalid = || IamError::InvalidInput("Invalid Marker.".to_owned());
    if marker.is_empty() || marker.len() > 320 {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(marker).map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

/// The `LIKE` pattern of the console's name filter (names are compared lower-cased), if any.
fn contains_pattern(name_contains: Option<String>) -> Option<String> {
    name_contains.filter(|c| !c.is_empty()).map(|c| format!("%{}%", like_escape(&c.to_ascii_lowercase())))
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

struct UserRow {
    user_id: String,
    user_name: String,
    path: String,
    created_at: i64,
    boundary: Option<String>,
    password_last_used: Option<i64>,
    has_login_profile: bool,
}

impl UserRow {
    fn from_row(row: &AnyRow) -> Result<UserRow, sqlx::Error> {
        Ok(UserRow {
            user_id: row.try_get("user_id")?,
            user_name: row.try_get("user_name")?,
            path: row.try_get("path")?,
            created_at: row.try_get("created_at")?,
            boundary: row.try_get("permissions_boundary_arn")?,
            password_last_used: row.try_get("password_last_used")?,
            has_login_profile: row.try_get::<Option<String>, _>("profile_user_id")?.is_some(),
        })
    }

    fn into_user(self, account_id: &str, tags: Vec<Tag>) -> User {
        User {
            arn: user_arn(account_id, &self.path, &self.user_name),
            user_id: self.user_id,
            user_name: self.user_name,
            path: self.path,
            create_date: Timestamp::from_millis(self.created_at),
            permissions_boundary_arn: self.boundary,
            password_last_used: self.password_last_used.map(Timestamp::from_millis),
            has_login_profile: self.has_login_profile,
            tags,
        }
    }
}

/// A user from a row with the columns of `USER_COLUMNS` (tags left empty).
pub(crate) fn user_from_row(account_id: &str, row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(UserRow::from_row(row)?.into_user(account_id, Vec::new()))
}

const USER_COLUMNS: &str = "u.user_id, u.user_name, u.path, u.created_at, u.permissions_boundary_arn, \
                            p.password_last_used, p.user_id AS profile_user_id";

async fn find_user(conn: &mut AnyConnection, account_id: &str, name: &UserName) -> Result<Option<UserRow>, IamError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u LEFT JOIN login_profiles p ON p.user_id = u.user_id \
         WHERE u.account_id = $1 AND u.name_key = $2"
    );
    let row = sqlx::query(&sql).bind(account_id).bind(name.key()).fetch_optional(conn).await?;
    Ok(row.as_ref().map(UserRow::from_row).transpose()?)
}

impl Iam {
    /// `iam:CreateUser`.
    pub async fn create_user(&self, caller: &Caller, input: CreateUser) -> Result<User, IamError> {
        self.record_failures(caller, async move {
            let name = UserName::parse(&input.user_name)?;
            let path = match input.path.as_deref() {
                Some(p) => IamPath::parse(p)?,
                None => IamPath::root(),
            };
            let tags = Tag::parse_list(&input.tags)?;
            let account_id = caller.account_id().to_owned();
            let arn = user_arn(&account_id, path.as_str(), name.as_str());
            let boundary = input.permissions_boundary.as_deref().map(crate::policies::parse_policy_arn).transpose()?;
            let boundary = boundary.map(|b| b.arn);
            let parameters = || {
                serde_json::json!({ "UserName": name.as_str(), "Path": path.as_str(), "Tags": tags_json(&tags),
                                "PermissionsBoundary": boundary })
            };
            let mut request = Request::new("iam:CreateUser", &arn, &account_id).with_request_tags(&tags).creating();
            if let Some(b) = &boundary {
                request = request.with("iam:PermissionsBoundary", b.clone());
            }
            self.authorize_or_record(caller, request, parameters).await?;
            self.authorize_tags_at_creation(caller, "iam:TagUser", &arn, &tags, parameters).await?;

            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            if let Some(b) = &boundary
                && !crate::policies::is_usable_policy(&mut tx, &account_id, b).await?
            {
                return Err(crate::policies::no_such_policy(b));
            }
            if find_user(&mut tx, &account_id, &name).await?.is_some() {
                return Err(user_exists(&name));
            }
            let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE account_id = $1")
                .bind(&account_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if count >= MAX_USERS_PER_ACCOUNT {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for UsersPerAccount: {MAX_USERS_PER_ACCOUNT}"
                )));
            }
            let user_id = ids::unique_id(IdKind::User, &mut rand::thread_rng());
            let inserted = sqlx::query(
            "INSERT INTO users (user_id, account_id, user_name, name_key, path, created_at, permissions_boundary_arn) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&user_id)
        .bind(&account_id)
        .bind(name.as_str())
        .bind(name.key())
        .bind(path.as_str())
        .bind(now.as_millis())
        .bind(&boundary)
        .execute(&mut *tx)
        .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(user_exists(&name)),
                other => other?,
            };
            insert_tags(&mut tx, &account_id, &user_id, &tags).await?;
            let event =
                Event { action: "iam:CreateUser", target: Some(&arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(User {
                user_id,
                user_name: name.to_string(),
                path: path.to_string(),
                arn,
                create_date: now,
                permissions_boundary_arn: boundary,
                password_last_used: None,
                has_login_profile: false,
                tags,
            })
        })
        .await
    }

    /// `iam:GetUser` for a named user, with its tags.
    pub async fn get_user(&self, caller: &Caller, user_name: &str) -> Result<User, IamError> {
        let name = UserName::parse(user_name)?;
        let account_id = caller.account_id();
        let mut conn = self.store().pool().acquire().await?;
        let found = find_user(&mut conn, account_id, &name).await?;
        // Authorize on the user's real ARN (with its path) when it exists, so that the answer
        // never tells an unauthorized caller whether the user exists.
        let arn = target_arn(account_id, found.as_ref(), &name);
        self.authorize_or_record_using(
            Some(&mut conn),
            caller,
            Request::new("iam:GetUser", &arn, account_id),
            || serde_json::json!({ "UserName": name.as_str() }),
        )
        .await?;
        let row = found.ok_or_else(|| no_such_user(name.as_str()))?;
        let tags = load_tags(&mut conn, &row.user_id).await?;
        Ok(row.into_user(account_id, tags))
    }

    /// The users list's columns for `users` (a page of `ListUsers`), in their order, each authorized
    /// per user as the IAM read AWS's console makes for it (`ListGroupsForUser`, `ListMFADevices`,
    /// `GetLoginProfile`, `ListAccessKeys`, and `GetAccessKeyLastUsed` for each key that
    /// `ListAccessKeys` showed, as the console needs a key's id to ask). The caller's policies are
    /// read once and each column of the whole page in one query.
    pub async fn user_list_columns(&self, caller: &Caller, users: &[User]) -> Result<Vec<UserListColumns>, IamError> {
        use std::collections::HashMap;
        const READS: [&str; 4] =
            ["iam:ListGroupsForUser", "iam:ListMFADevices", "iam:GetLoginProfile", "iam:ListAccessKeys"];
        type Row3 = (String, Option<i64>, Option<String>);
        /// An access key: its owner, id, creation, whether active, last use.
        type KeyRow = (String, String, i64, i64, Option<i64>);
        /// `sql` with `$1` the account and `$2, $3, ...` the users' ids.
        fn rows<'q>(
            sql: &'q str,
            account_id: &'q str,
            users: &'q [User],
        ) -> sqlx::query::QueryAs<'q, sqlx::Any, Row3, sqlx::any::AnyArguments<'q>> {
            let mut query = sqlx::query_as::<_, Row3>(sql).bind(account_id);
            for u in users {
                query = query.bind(u.user_id.as_str());
            }
            query
        }
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let account_id = caller.account_id();
        let mut conn = self.store().pool().acquire().await?;
        let requests = users
            .iter()
            .flat_map(|u| {
                READS.map(|action| {
                    (Request::new(action, &u.arn, account_id), serde_json::json!({ "UserName": u.user_name }))
                })
            })
            .collect();
        let answers = self.authorize_reads(&mut conn, caller, requests).await?;

        let ids = (2..users.len() + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let groups = rows(
            &format!(
                "SELECT user_id, COUNT(*), CAST(NULL AS TEXT) FROM group_members WHERE account_id = $1 \
                 AND user_id IN ({ids}) GROUP BY user_id"
            ),
            account_id,
            users,
        )
        .fetch_all(&mut *conn)
        .await?;
        let devices = rows(
            &format!(
                "SELECT owner_id, CAST(NULL AS BIGINT), kind FROM mfa_devices WHERE account_id = $1 \
                 AND owner_id IN ({ids}) AND enabled_at IS NOT NULL ORDER BY created_at"
            ),
            account_id,
            users,
        )
        .fetch_all(&mut *conn)
        .await?;
        let profiles = rows(
            &format!(
                "SELECT user_id, password_changed_at, CAST(NULL AS TEXT) FROM login_profiles WHERE account_id = $1 \
                 AND user_id IN ({ids})"
            ),
            account_id,
            users,
        )
        .fetch_all(&mut *conn)
        .await?;
        let keys_sql = format!(
            "SELECT owner_id, access_key_id, created_at, active, last_used_at FROM access_keys \
             WHERE account_id = $1 AND owner_id IN ({ids}) ORDER BY created_at, access_key_id"
        );
        let mut keys_query = sqlx::query_as::<_, KeyRow>(&keys_sql).bind(account_id);
        for u in users {
            keys_query = keys_query.bind(u.user_id.as_str());
        }
        let keys = keys_query.fetch_all(&mut *conn).await?;

        let mut group_counts: HashMap<&str, usize> = HashMap::new();
        for (id, n, _) in &groups {
            group_counts.insert(id, usize::try_from(n.unwrap_or(0)).unwrap_or(0));
        }
        let mut kinds: HashMap<&str, Vec<String>> = HashMap::new();
        for (id, _, kind) in &devices {
            kinds.entry(id).or_default().push(kind.clone().unwrap_or_default());
        }
        let changed: HashMap<&str, Option<i64>> = profiles.iter().map(|(id, at, _)| (id.as_str(), *at)).collect();
        let mut keys_of: HashMap<&str, Vec<&KeyRow>> = HashMap::new();
        for key in &keys {
            keys_of.entry(key.0.as_str()).or_default().push(key);
        }

        // A key's last use is asked only of the keys the caller was allowed to list.
        let listed = |i: usize| answers.get(i * READS.len() + 3).is_some_and(Result::is_ok);
        let last_use_requests: Vec<(Request<'_>, serde_json::Value)> = users
            .iter()
            .enumerate()
            .filter(|(i, _)| listed(*i))
            .flat_map(|(_, u)| {
                keys_of.get(u.user_id.as_str()).into_iter().flatten().map(move |key| {
                    let request = Request::new("iam:GetAccessKeyLastUsed", &u.arn, account_id);
                    (request, serde_json::json!({ "AccessKeyId": key.1 }))
                })
            })
            .collect();
        let mut last_use_answers = self.authorize_reads(&mut conn, caller, last_use_requests).await?.into_iter();

        let mut columns = Vec::with_capacity(users.len());
        for (u, answer) in users.iter().zip(answers.chunks_exact(READS.len())) {
            let id = u.user_id.as_str();
            let [g, m, p, k] = answer else { continue };
            let user_keys = keys_of.get(id).map(Vec::as_slice).unwrap_or_default();
            let keys_last_used = match k {
                Err(refused) => Err(refused.clone()),
                Ok(()) => {
                    let mut latest: Result<Option<i64>, IamError> = Ok(None);
                    for key in user_keys {
                        // Fails closed: a key without its answer is refused, never allowed.
                        let allowed = last_use_answers
                            .next()
                            .unwrap_or_else(|| Err(IamError::AccessDenied("iam:GetAccessKeyLastUsed".to_owned())));
                        latest = match (latest, allowed) {
                            (Err(e), _) | (Ok(_), Err(e)) => Err(e),
                            (Ok(best), Ok(())) => Ok(best.max(key.4)),
                        };
                    }
                    latest.map(|at| at.map(Timestamp::from_millis))
                }
            };
            columns.push(UserListColumns {
                groups: g.clone().map(|()| group_counts.get(id).copied().unwrap_or(0)),
                mfa: m.clone().map(|()| kinds.get(id).cloned().unwrap_or_default()),
                password_changed: p.clone().map(|()| changed.get(id).copied().flatten().map(Timestamp::from_millis)),
                active_keys: k.clone().map(|()| {
                    user_keys.iter().filter(|key| key.3 == 1).map(|key| Timestamp::from_millis(key.2)).collect()
                }),
                keys_last_used,
            });
        }
        Ok(columns)
    }

    /// `iam:ListUsers`, ordered by name, with AWS's marker pagination.
    pub async fn list_users(&self, caller: &Caller, input: ListUsers) -> Result<Page<User>, IamError> {
        let account_id = caller.account_id();
        let prefix = match input.path_prefix.as_deref() {
            Some(p) => {
                if p.is_empty() || p.len() > 512 || !p.starts_with('/') {
                    return Err(IamError::ValidationError(format!(
                        "1 validation error detected: Value '{p}' at 'pathPrefix' failed to satisfy \
                         constraint: Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*"
                    )));
                }
                p.to_owned()
            }
            None => "/".to_owned(),
        };
        let limit = page_size(input.max_items)?;
        let after = input.marker.as_deref().map(decode_marker).transpose()?.unwrap_or_default();
        let contains = contains_pattern(input.name_contains);
        self.authorize_list_users(caller, &prefix).await?;

        // Only the filters asked for: a filter that matches everything still costs PostgreSQL its
        // index-ordered plan (it cannot know `%%` keeps every row), and with it a scan and sort of
        // the whole account.
        let mut filters = String::new();
        let mut next = 4;
        if prefix != "/" {
            filters.push_str(&format!(" AND substr(u.path, 1, length(${next})) = ${next}"));
            next += 1;
        }
        if contains.is_some() {
            filters.push_str(&format!(" AND u.name_key LIKE ${next} ESCAPE '\\'"));
        }
        let sql = format!(
            "SELECT {USER_COLUMNS}, u.name_key FROM users u LEFT JOIN login_profiles p ON p.user_id = u.user_id \
             WHERE u.account_id = $1 AND u.name_key > $2{filters} ORDER BY u.name_key LIMIT $3"
        );
        let mut query = sqlx::query(&sql).bind(account_id).bind(&after).bind(limit + 1);
        if prefix != "/" {
            query = query.bind(&prefix);
        }
        if let Some(c) = &contains {
            query = query.bind(c);
        }
        let rows = query.fetch_all(self.store().pool()).await?;
        crate::groups::page_of(rows, limit, |row| Ok(UserRow::from_row(row)?.into_user(account_id, Vec::new())))
    }

    /// A page of the console's users list (see [`UsersQuery`]), authorized as `iam:ListUsers` (the
    /// call AWS's console makes for it): the filtered users are counted, and only the page's rows
    /// are read, in the order asked, by the database.
    pub async fn users_page(&self, caller: &Caller, query: UsersQuery) -> Result<UsersPage, IamError> {
        let account_id = caller.account_id();
        page_size(Some(i64::try_from(query.page_size).unwrap_or(i64::MAX)))?;
        let contains = contains_pattern(query.name_contains);
        self.authorize_list_users(caller, "/").await?;

        let filter = if contains.is_some() { " AND u.name_key LIKE $2 ESCAPE '\\'" } else { "" };
        let mut conn = self.store().pool().acquire().await?;
        let count_sql = format!("SELECT COUNT(*) AS n FROM users u WHERE u.account_id = $1{filter}");
        let mut count = sqlx::query(&count_sql).bind(account_id);
        if let Some(c) = &contains {
            count = count.bind(c);
        }
        let total: i64 = count.fetch_one(&mut *conn).await?.try_get("n")?;
        let total = usize::try_from(total).unwrap_or(0);
        let pages = total.div_ceil(query.page_size).max(1);
        let page = query.page.clamp(1, pages);

        let direction = if query.descending { "DESC" } else { "ASC" };
        // Text sorts by its bytes on both databases: SQLite does by default; PostgreSQL follows
        // the database's locale (en_US ignores punctuation and case at first), unless told.
        let bytes = if self.store().backend() == crate::Backend::Postgres { " COLLATE \"C\"" } else { "" };
        // Every order ends with the name key, unique in the account: a page never depends on how
        // the database breaks ties. Times are never negative, so -1 puts "never" first. Paths are
        // ASCII (IAM's pattern), so lower() folds them alike on both.
        let name = format!("u.name_key{bytes} {direction}");
        let order = match query.order {
            UserOrder::Name => name,
            UserOrder::Path => format!("LOWER(u.path){bytes} {direction}, {name}"),
            UserOrder::Created => format!("u.created_at {direction}, {name}"),
            UserOrder::ConsoleSignIn => format!("COALESCE(p.password_last_used, -1) {direction}, {name}"),
        };
        let (limit, offset) = if contains.is_some() { ("$3", "$4") } else { ("$2", "$3") };
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u LEFT JOIN login_profiles p ON p.user_id = u.user_id \
             WHERE u.account_id = $1{filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let mut rows = sqlx::query(&sql).bind(account_id);
        if let Some(c) = &contains {
            rows = rows.bind(c);
        }
        let size = i64::try_from(query.page_size).unwrap_or(1000);
        let skip = i64::try_from((page - 1).saturating_mul(query.page_size)).unwrap_or(i64::MAX);
        let rows = rows.bind(size).bind(skip).fetch_all(&mut *conn).await?;
        let users = rows
            .iter()
            .map(|row| Ok(UserRow::from_row(row)?.into_user(account_id, Vec::new())))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(UsersPage { users, total, page, pages })
    }

    /// `iam:ListUsers` on the account's users (refusals recorded).
    async fn authorize_list_users(&self, caller: &Caller, path_prefix: &str) -> Result<(), IamError> {
        let account_id = caller.account_id();
        let resource = Arn::iam(account_id, "user/").to_string();
        self.authorize_or_record(
            caller,
            Request::new("iam:ListUsers", &resource, account_id),
            || serde_json::json!({ "PathPrefix": path_prefix }),
        )
        .await
    }

    /// `iam:DeleteUser`. Like AWS, refuses while the user still has a console password.
    pub async fn delete_user(&self, caller: &Caller, user_name: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let name = UserName::parse(user_name)?;
            let account_id = caller.account_id().to_owned();
            let mut tx = self.begin_write(&account_id).await?;
            let found = find_user(&mut tx, &account_id, &name).await?;
            let arn = target_arn(&account_id, found.as_ref(), &name);
            let parameters = || serde_json::json!({ "UserName": name.as_str() });
            let mut tx = self
                .authorize_holding(tx, caller, Request::new("iam:DeleteUser", &arn, &account_id), parameters)
                .await?;
            let row = found.ok_or_else(|| no_such_user(name.as_str()))?;
            // AWS's order of checks, each with its words.
            let conflicts = [
                ("SELECT COUNT(*) AS n FROM login_profiles WHERE user_id = $1", "must delete login profile first"),
                ("SELECT COUNT(*) AS n FROM access_keys WHERE owner_id = $1", "must delete access keys first"),
                ("SELECT COUNT(*) AS n FROM mfa_devices WHERE owner_id = $1", "must delete MFA device first"),
                (
                    "SELECT COUNT(*) AS n FROM group_members WHERE user_id = $1",
                    "must remove user from all groups first",
                ),
                ("SELECT COUNT(*) AS n FROM inline_policies WHERE entity_id = $1", "must delete policies first"),
                ("SELECT COUNT(*) AS n FROM policy_attachments WHERE entity_id = $1", "must detach all policies first"),
            ];
            for (sql, what) in conflicts {
                let n: i64 = sqlx::query(sql).bind(&row.user_id).fetch_one(&mut *tx).await?.try_get("n")?;
                if n > 0 {
                    return Err(IamError::DeleteConflict(format!("Cannot delete entity, {what}.")));
                }
            }
            sqlx::query("DELETE FROM tags WHERE entity_id = $1").bind(&row.user_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM password_history WHERE user_id = $1").bind(&row.user_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM service_access WHERE principal_id = $1")
                .bind(&row.user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM users WHERE user_id = $1").bind(&row.user_id).execute(&mut *tx).await?;
            crate::console_sessions::end_sessions_of(&mut tx, &row.user_id, None).await?;
            let now = self.now();
            let event =
                Event { action: "iam:DeleteUser", target: Some(&arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, now, &event).await?;
            // A signed-in session of the deleted user must lose its permissions at once.
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// Deletes a user and everything that would block `DeleteUser`, as AWS's console does when
    /// one deletes a user: console password, access keys, MFA devices (deactivated, and virtual
    /// ones deleted), group memberships, inline and attached policies; then the user.
    /// All or nothing: the caller must be allowed every one of those actions (each authorized
    /// under its own name, on what it acts on), and one transaction does them all, each audited.
    pub async fn delete_user_and_dependents(&self, caller: &Caller, user_name: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let name = UserName::parse(user_name)?;
            let account_id = caller.account_id().to_owned();
            let mut tx = self.begin_write(&account_id).await?;
            let found = find_user(&mut tx, &account_id, &name).await?;
            let arn = target_arn(&account_id, found.as_ref(), &name);
            let parameters = || serde_json::json!({ "UserName": name.as_str() });
            let mut tx = self
                .authorize_holding(tx, caller, Request::new("iam:DeleteUser", &arn, &account_id), parameters)
                .await?;
            let row = found.ok_or_else(|| no_such_user(name.as_str()))?;
            let id = row.user_id.as_str();
            let ids = |rows: Vec<AnyRow>, column: &str| -> Result<Vec<String>, IamError> {
                rows.iter().map(|r| r.try_get::<String, _>(column).map_err(IamError::from)).collect()
            };
            let has_profile = sqlx::query("SELECT 1 AS one FROM login_profiles WHERE user_id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let keys = ids(
                sqlx::query("SELECT access_key_id FROM access_keys WHERE owner_id = $1 ORDER BY access_key_id")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?,
                "access_key_id",
            )?;
            let devices =
                sqlx::query("SELECT serial_number, kind FROM mfa_devices WHERE owner_id = $1 ORDER BY serial_number")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get::<String, _>("serial_number")?, r.try_get::<String, _>("kind")? == "totp")))
                    .collect::<Result<Vec<(String, bool)>, sqlx::Error>>()?;
            let groups = sqlx::query(
                "SELECT g.group_name, g.path FROM group_members m JOIN iam_groups g ON g.group_id = m.group_id \
                 WHERE m.user_id = $1 ORDER BY g.name_key",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get::<String, _>("group_name")?, r.try_get::<String, _>("path")?)))
            .collect::<Result<Vec<(String, String)>, sqlx::Error>>()?;
            let inline = ids(
                sqlx::query("SELECT policy_name FROM inline_policies WHERE entity_id = $1 ORDER BY name_key")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?,
                "policy_name",
            )?;
            let attached = ids(
                sqlx::query("SELECT policy_arn FROM policy_attachments WHERE entity_id = $1 ORDER BY policy_arn")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?,
                "policy_arn",
            )?;

            // Every step is authorized before anything changes; a refusal rolls back everything.
            let mut steps: Vec<(String, String, serde_json::Value)> = Vec::new();
            let user = |extra: serde_json::Value| crate::audit::with_parameter(parameters(), "Detail", extra);
            if has_profile {
                steps.push(("iam:DeleteLoginProfile".into(), arn.clone(), parameters()));
            }
            for key in &keys {
                steps.push((
                    "iam:DeleteAccessKey".into(),
                    arn.clone(),
                    user(serde_json::json!({ "AccessKeyId": key })),
                ));
            }
            for (serial, is_virtual) in &devices {
                steps.push((
                    "iam:DeactivateMFADevice".into(),
                    arn.clone(),
                    user(serde_json::json!({ "SerialNumber": serial })),
                ));
                // As AWS's console does: a virtual device goes with its user.
                if *is_virtual {
                    let only_serial = serde_json::json!({ "SerialNumber": serial });
                    steps.push(("iam:DeleteVirtualMFADevice".into(), serial.clone(), only_serial));
                }
            }
            for (group, path) in &groups {
                let group_arn =
                    crate::entities::entity_arn(&account_id, crate::entities::EntityKind::Group, path, group);
                steps.push((
                    "iam:RemoveUserFromGroup".into(),
                    group_arn,
                    user(serde_json::json!({ "GroupName": group })),
                ));
            }
            for policy in &inline {
                steps.push((
                    "iam:DeleteUserPolicy".into(),
                    arn.clone(),
                    user(serde_json::json!({ "PolicyName": policy })),
                ));
            }
            for policy in &attached {
                steps.push((
                    "iam:DetachUserPolicy".into(),
                    arn.clone(),
                    user(serde_json::json!({ "PolicyArn": policy })),
                ));
            }
            for (action, target, params) in &steps {
                let mut request = Request::new(action, target, &account_id);
                if let Some(policy) = params.get("Detail").and_then(|d| d.get("PolicyArn")).and_then(|p| p.as_str()) {
                    request = request.with("iam:PolicyARN", policy.to_owned());
                }
                tx = self.authorize_holding(tx, caller, request, || params.clone()).await?;
            }

            // Only virtual devices have tags (and ARN serials): another serial could be anyone's id.
            for (serial, _) in devices.iter().filter(|(_, is_virtual)| *is_virtual) {
                sqlx::query("DELETE FROM tags WHERE entity_id = $1").bind(serial).execute(&mut *tx).await?;
            }
            for sql in [
                "DELETE FROM mfa_devices WHERE owner_id = $1",
                "DELETE FROM login_profiles WHERE user_id = $1",
                "DELETE FROM access_keys WHERE owner_id = $1",
                "DELETE FROM group_members WHERE user_id = $1",
                "DELETE FROM inline_policies WHERE entity_id = $1",
                "DELETE FROM policy_attachments WHERE entity_id = $1",
                "DELETE FROM tags WHERE entity_id = $1",
                "DELETE FROM password_history WHERE user_id = $1",
                "DELETE FROM service_access WHERE principal_id = $1",
                "DELETE FROM console_sessions WHERE principal_id = $1",
                "DELETE FROM users WHERE user_id = $1",
            ] {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            let now = self.now();
            for (action, target, params) in steps {
                let event = Event { action: &action, target: Some(&target), parameters: params, outcome: "Success" };
                audit::append(&mut tx, caller, now, &event).await?;
            }
            let event =
                Event { action: "iam:DeleteUser", target: Some(&arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, now, &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// `iam:CreateLoginProfile`: gives a user a console password that meets the account's
    /// password policy (AWS's default rules when it has none).
    pub async fn create_login_profile(
        &self,
        caller: &Caller,
        user_name: &str,
        new_password: &Password,
        password_reset_required: bool,
    ) -> Result<LoginProfile, IamError> {
        self.record_failures(caller, async move {
            let name = UserName::parse(user_name)?;
            let account_id = caller.account_id().to_owned();
            let row = {
                let mut conn = self.store().pool().acquire().await?;
                find_user(&mut conn, &account_id, &name).await?
            };
            let arn = target_arn(&account_id, row.as_ref(), &name);
            let parameters =
                || serde_json::json!({ "UserName": name.as_str(), "PasswordResetRequired": password_reset_required });
            self.authorize_or_record(caller, Request::new("iam:CreateLoginProfile", &arn, &account_id), parameters)
                .await?;
            let row = row.ok_or_else(|| no_such_user(name.as_str()))?;
            let policy = {
                let mut conn = self.store().pool().acquire().await?;
                crate::password_policy::load_policy(&mut conn, &account_id).await?
            };
            crate::password_policy::check_password_for(policy.as_ref(), new_password, &[name.as_str()])?;
            let hash = self.hasher().hash(new_password).await?;

            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            // The user may have gone while the password was hashed.
            let still = find_user(&mut tx, &account_id, &name).await?;
            if still.as_ref().map(|r| r.user_id.as_str()) != Some(row.user_id.as_str()) {
                return Err(no_such_user(name.as_str()));
            }
            if has_login_profile(&mut tx, &row.user_id).await? {
                return Err(login_profile_exists(&name));
            }
            let inserted = sqlx::query(
                "INSERT INTO login_profiles (user_id, account_id, password_hash, reset_required, created_at, \
             password_changed_at) VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(&row.user_id)
            .bind(&account_id)
            .bind(&hash)
            .bind(i64::from(password_reset_required))
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(login_profile_exists(&name)),
                other => other?,
            };
            let event = Event {
                action: "iam:CreateLoginProfile",
                target: Some(&arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(LoginProfile { user_name: row.user_name, create_date: now, password_reset_required })
        })
        .await
    }

    /// `iam:DeleteLoginProfile`: removes a user's console password.
    pub async fn delete_login_profile(&self, caller: &Caller, user_name: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let name = UserName::parse(user_name)?;
            let account_id = caller.account_id().to_owned();
            let mut tx = self.begin_write(&account_id).await?;
            let found = find_user(&mut tx, &account_id, &name).await?;
            let arn = target_arn(&account_id, found.as_ref(), &name);
            let parameters = || serde_json::json!({ "UserName": name.as_str() });
            let mut tx = self
                .authorize_holding(tx, caller, Request::new("iam:DeleteLoginProfile", &arn, &account_id), parameters)
                .await?;
            let row = found.ok_or_else(|| no_such_user(name.as_str()))?;
            let deleted = sqlx::query("DELETE FROM login_profiles WHERE user_id = $1")
                .bind(&row.user_id)
                .execute(&mut *tx)
                .await?;
            if deleted.rows_affected() == 0 {
                return Err(IamError::NoSuchEntity(format!(
                    "Login Profile for User {} cannot be found.",
                    row.user_name
                )));
            }
            // Without a console password, no console session of the user goes on.
            crate::console_sessions::end_sessions_of(&mut tx, &row.user_id, None).await?;
            let now = self.now();
            let event = Event {
                action: "iam:DeleteLoginProfile",
                target: Some(&arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}

async fn has_login_profile(conn: &mut AnyConnection, user_id: &str) -> Result<bool, IamError> {
    let row = sqlx::query("SELECT 1 AS one FROM login_profiles WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

fn user_exists(name: &UserName) -> IamError {
    IamError::EntityAlreadyExists(format!("User with name {name} already exists."))
}

fn login_profile_exists(name: &UserName) -> IamError {
    IamError::EntityAlreadyExists(format!("Login Profile for user {name} already exists."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_reject_garbage() {
        let m = encode_marker("alice");
        assert_eq!(decode_marker(&m).unwrap(), "alice");
        assert_eq!(decode_marker("!!!").unwrap_err().code(), "InvalidInput");
        assert_eq!(decode_marker("").unwrap_err().code(), "InvalidInput");
    }

    #[test]
    fn page_sizes_follow_aws() {
        assert_eq!(page_size(None).unwrap(), 100);
        assert_eq!(page_size(Some(1000)).unwrap(), 1000);
        assert_eq!(page_size(Some(0)).unwrap_err().code(), "ValidationError");
        assert_eq!(page_size(Some(1001)).unwrap_err().code(), "ValidationError");
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_escape("a_b%c\\d"), "a\\_b\\%c\\\\d");
    }
}
