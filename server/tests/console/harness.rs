use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser as _;
use reqwest::header::HeaderMap;
use server::config::Cli;

/// A server running in this process on its own data folder and database.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The server's IAM service, for arranging what the console cannot (yet) do.
    pub iam: iam_core::Iam,
    pub setup_link: Option<String>,
    pub data_dir: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    postgres: Option<(String, String)>,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", iam_core::ids::reference_id().to_lowercase())
}

pub fn postgres_url() -> Option<String> {
    std::env::var("PORTCULLIS_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

/// The URL of the same server with another database.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl TestServer {
    pub async fn start(db: Db) -> Option<TestServer> {
        TestServer::start_with(db, &[]).await
    }

    /// As [`TestServer::start`], with more command-line options.
    pub async fn start_with(db: Db, extra: &[&str]) -> Option<TestServer> {
        let data_dir = std::env::temp_dir().join(unique("portcullis_server"));
        let mut postgres = None;
        let database_url = match db {
            Db::Sqlite => None,
            Db::Postgres => {
                let admin = postgres_url()?;
                let name = unique("portcullis_server");
                let mut conn =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.expect("connect to PostgreSQL");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
                let url = with_database(&admin, &name);
                postgres = Some((admin, name));
                Some(url)
            }
        };
        Some(TestServer::start_on(data_dir, database_url, postgres, extra).await)
    }

    async fn start_on(
        data_dir: PathBuf,
        database_url: Option<String>,
        postgres: Option<(String, String)>,
        extra: &[&str],
    ) -> TestServer {
        // Sign-in steps are limited per client, and every test client is 127.0.0.1.
        let extra: Vec<&str> = if extra.contains(&"--sign-in-rate") {
            extra.to_vec()
        } else {
            [extra, &["--sign-in-rate", "1000"]].concat()
        };
        let mut args = vec![
            "portcullis".to_owned(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
        ];
        if let Some(url) = &database_url {
            args.extend(["--database-url".to_owned(), url.clone()]);
        }
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let cli = Cli::parse_from(args);
        let prepared = server::prepare(&cli.config).await.expect("server starts");
        let addr = prepared.listener.local_addr().expect("bound");
        let setup_link = prepared.setup_link.clone();
        let iam = prepared.services.iam.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(prepared, async move {
            rx.await.ok();
        }));
        TestServer { addr, iam, setup_link, data_dir, shutdown: Some(tx), task: Some(task), postgres }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server (gracefully) and starts another on the same data and database.
    pub async fn restart(mut self) -> TestServer {
        self.stop().await;
        let database_url = self.postgres.as_ref().map(|(admin, name)| with_database(admin, name));
        let postgres = self.postgres.take();
        let data_dir = self.data_dir.clone();
        // With it goes the test's handle on the IAM service, which holds the SQLite file's lock.
        drop(self);
        TestServer::start_on(data_dir, database_url, postgres, &[]).await
    }

    async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran");
        }
    }

    pub async fn finish(mut self) {
        self.stop().await;
        std::fs::remove_dir_all(&self.data_dir).ok();
        if let Some((admin, name)) = self.postgres.take()
            && let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
        {
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.ok();
        }
    }

    /// A browser-like client: keeps cookies, does not follow redirects, sends same-origin headers.
    pub fn browser(&self) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        headers.insert("sec-fetch-site", "same-origin".parse().expect("header"));
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("client")
    }

    /// Calls a server function with form fields, as an `ActionForm` does.
    pub async fn call(&self, client: &reqwest::Client, name: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        client.post(self.url(&format!("/api/{name}"))).form(fields).send().await.expect("request")
    }

    /// Posts the server function `name` as a browser's own form post does (no wasm): the answer is
    /// a redirect, never a body the page would show.
    pub async fn plain_post(&self, client: &reqwest::Client, name: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let url = self.url(&format!("/api/{name}"));
        client.post(url).header("accept", "text/html").form(fields).send().await.expect("request")
    }

    /// Completes first-run setup through the link, in `client`, without signing in.
    pub async fn complete_setup(&self, client: &reqwest::Client) {
        let token = self.setup_token();
        let res = self
            .call(
                client,
                "complete_setup",
                &[
                    ("token", &token),
                    ("account_alias", "example-corp"),
                    ("email", ROOT_EMAIL),
                    ("password", ROOT_PASSWORD),
                    ("confirm_password", ROOT_PASSWORD),
                ],
            )
            .await;
        assert!(res.status().is_success() || res.status().is_redirection(), "setup: {}", res.status());
    }

    /// Completes first-run setup through the link and signs in as root.
    pub async fn setup_and_sign_in(&self) -> reqwest::Client {
        let client = self.browser();
        self.complete_setup(&client).await;
        let res = self
            .call(&client, "sign_in", &[("kind", "root"), ("email", ROOT_EMAIL), ("password", ROOT_PASSWORD)])
            .await;
        assert!(res.status().is_success() || res.status().is_redirection(), "sign in: {}", res.status());
        client
    }

    pub fn setup_token(&self) -> String {
        let link = self.setup_link.clone().expect("a setup link on first start");
        link.split("token=").nth(1).expect("token in link").to_owned()
    }
}

pub const ROOT_EMAIL: &str = "root@example.com";
pub const ROOT_PASSWORD: &str = "Root-password-1";

/// Defines a test per backend, like iam-core's store tests.
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$server:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn case($server: &$crate::harness::TestServer) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = $crate::harness::TestServer::start($crate::harness::Db::Sqlite).await.expect("sqlite");
                case(&server).await;
                server.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(server) = $crate::harness::TestServer::start($crate::harness::Db::Postgres).await else {
                    eprintln!("skipped: PORTCULLIS_TEST_DATABASE_URL is not set");
                    return;
                };
                case(&server).await;
                server.finish().await;
            }
        }
    };
}
