//! Console sessions in the same database as everything else, so every server node sees every
//! session. tower-sessions' sqlx stores are typed by database; this enum lets one layer use either.

use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr as _;
use std::time::Duration;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use iam_core::Backend;

#[derive(Debug, Clone)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    /// Opens the session store on the database at `url` and creates its table if needed.
    pub async fn connect(url: &str, max_connections: u32) -> Result<(Sessions, SessionPool), sqlx::Error> {
        match Backend::from_url(url) {
            Some(Backend::Postgres) => {
                let pool = PgPoolOptions::new().max_connections(max_connections).connect(url).await?;
                let store = PostgresStore::new(pool.clone());
                store.migrate().await?;
                Ok((Sessions::Postgres(store), SessionPool::Postgres(pool)))
            }
            _ => {
                let options = SqliteConnectOptions::from_str(&iam_core::store::sqlite_url_creating_file(url))?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new().max_connections(max_connections).connect_with(options).await?;
                let store = SqliteStore::new(pool.clone());
                store.migrate().await?;
                Ok((Sessions::Sqlite(store), SessionPool::Sqlite(pool)))
            }
        }
    }
}

/// The session store's own pool, closed at shutdown.
#[derive(Debug, Clone)]
pub enum SessionPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl SessionPool {
    pub async fn close(&self) {
        match self {
            SessionPool::Sqlite(p) => p.close().await,
            SessionPool::Postgres(p) => p.close().await,
        }
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.create(record).await,
            Sessions::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.save(record).await,
            Sessions::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Sessions::Sqlite(s) => s.load(id).await,
            Sessions::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.delete(id).await,
            Sessions::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.delete_expired().await,
            Sessions::Postgres(s) => s.delete_expired().await,
        }
    }
}
