//! The store: one sqlx pool over SQLite (the embedded default) or PostgreSQL.
//!
//! Queries are written once, in the SQL both databases share (`$N` parameters, `ON CONFLICT`,
//! `RETURNING`, 64-bit integers for times and flags), and run through sqlx's `Any` driver. Each
//! dialect has its own migrations (`migrations/sqlite`, `migrations/postgres`) with the same names.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection as _, Executor as _};

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error(
        "another process uses the SQLite database {0}: a SQLite database serves one Portcullis process \
         (run several on PostgreSQL, where they keep each other's caches current)"
    )]
    InUse(String),
    #[error("cannot lock the SQLite database {0}: {1}")]
    Lock(String, std::io::Error),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Makes a SQLite URL create its file when missing (`mode=rwc`), unless it says otherwise.
pub fn sqlite_url_creating_file(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The file of a SQLite URL (`sqlite://PATH?...`, `sqlite:PATH`); `None` for an in-memory one.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// Takes the exclusive lock of the SQLite database at `path` (`PATH.lock`, created if missing).
fn lock_database(path: &std::path::Path) -> Result<std::sync::Arc<std::fs::File>, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let shown = path.display().to_string();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::Lock(shown.clone(), e))?;
    match file.try_lock() {
        Ok(()) => Ok(std::sync::Arc::new(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse(shown)),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Lock(shown, e)),
    }
}

/// Removes the password from a database URL, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = url.get(scheme_end + 3..at).unwrap_or_default();
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", url.get(..scheme_end + 3).unwrap_or_default(), url.get(at..).unwrap_or_default())
        }
        _ => url.to_owned(),
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Kept for PostgreSQL's LISTEN connection. Holds the password: never logged.
    url: std::sync::Arc<str>,
    /// On SQLite, an exclusive lock on `DATABASE.lock`, held while the store lives: each process
    /// caches compiled policies and, on SQLite, hears of no other process's changes, so a second
    /// process on the same file is refused rather than left deciding with stale permissions.
    _lock: Option<std::sync::Arc<std::fs::File>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).field("url", &redact_url(&self.url)).finish()
    }
}

impl Store {
    /// Opens a pool on `url` and checks that the database answers.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| StoreError::UnsupportedUrl(redact_url(url)))?;
        let url = match backend {
            Backend::Sqlite => sqlite_url_creating_file(url),
            Backend::Postgres => url.to_owned(),
        };
        let lock = match backend {
            Backend::Sqlite => sqlite_path(&url).map(|path| lock_database(&path)).transpose()?,
            Backend::Postgres => None,
        };
        let options = AnyConnectOptions::from_str(&url).map_err(StoreError::Connect)?;
        let kept_url = std::sync::Arc::from(url.as_str());
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL makes each commit durable
                        // before it is acknowledged; writers wait for each other up to 10 s.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(StoreError::Connect)?;
        Ok(Store { pool, backend, url: kept_url, _lock: lock })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.map_err(StoreError::Migrate)
    }

    /// Whether the database answers now: for readiness checks.
    pub async fn ping(&self) -> bool {
        match self.pool.acquire().await {
            Ok(mut conn) => conn.ping().await.is_ok(),
            Err(_) => false,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Waits for connections in use to be returned, then closes them.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_their_file() {
        assert_eq!(sqlite_url_creating_file("sqlite://data/p.db"), "sqlite://data/p.db?mode=rwc");
        assert_eq!(sqlite_url_creating_file("sqlite://p.db?cache=shared"), "sqlite://p.db?cache=shared&mode=rwc");
        assert_eq!(sqlite_url_creating_file("sqlite://p.db?mode=ro"), "sqlite://p.db?mode=ro");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("sqlite://data/p.db"), "sqlite://data/p.db");
    }

    #[test]
    fn backends_are_known_by_scheme() {
        assert_eq!(Backend::from_url("sqlite://x"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgresql://x/y"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("mysql://x"), None);
    }
}
