//! The `portcullis` server: configuration, start-up (data folder, secret key, database,
//! migrations, first-run setup link), the console router with its middleware, and shutdown.

#![recursion_limit = "512"]

pub mod client;
pub mod config;
pub mod middleware;
pub mod policy_cli;
pub mod sessions;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::ssr::{ConsoleState, SetupGate};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode};
use axum::routing::get;
use iam_core::{Iam, SecretKey, Store, SystemClock};
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{LeptosRoutes as _, generate_route_list};
use rand::RngCore as _;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;
use crate::middleware::WebConfig;
use crate::sessions::{SessionPool, Sessions};

/// The largest request body the console accepts.
pub const BODY_LIMIT: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data folder {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error(transparent)]
    SecretKey(#[from] iam_core::secrets::SecretKeyError),
    #[error(
        "the secret key file {0} is missing, but this database's secrets were sealed with a key: restore \
         that file from your backups (or point --secret-key-file at it); a new key would read none of them"
    )]
    KeyFileMissing(String),
    #[error("secret key file {0}: {1}")]
    SecretKeyCheck(String, iam_core::sealing::KeyCheckError),
    #[error("database {url}: {source}")]
    Store { url: String, source: iam_core::StoreError },
    #[error("database {url}: cannot open the session store: {source}")]
    Sessions { url: String, source: sqlx::Error },
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error(transparent)]
    Origin(#[from] config::BadOrigin),
    #[error("{0}")]
    Iam(#[from] iam_core::IamError),
    #[error(
        "{hashes} names {missing}, which is not in {site}: serve the site root of the build that wrote \
         that hash.txt (cargo leptos build writes both)"
    )]
    AssetsMismatch { hashes: String, missing: String, site: String },
}

/// Whether the console's assets have hashed names: `cargo leptos build` with `hash-files` writes
/// their hashes to `hash.txt` beside the binary (Leptos reads the names from there on every page).
/// A binary without one (`cargo build`, the tests) serves the plain names. A `hash.txt` naming
/// files the site root does not hold would serve pages that never load their wasm: refused.
fn hashed_assets(site_root: &std::path::Path) -> Result<bool, StartError> {
    let Some(file) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt"))) else {
        return Ok(false);
    };
    let mismatch = |missing: String| StartError::AssetsMismatch {
        hashes: file.display().to_string(),
        missing,
        site: site_root.display().to_string(),
    };
    let hashes = match std::fs::read_to_string(&file) {
        Ok(hashes) => hashes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        // Unreadable: the pages would name files this build never wrote.
        Err(e) => return Err(mismatch(format!("nothing readable ({e})"))),
    };
    let hashes: Vec<(&str, &str)> =
        hashes.lines().filter_map(|line| line.split_once(':')).map(|(k, h)| (k.trim(), h.trim())).collect();
    // The console's wasm is split by section (app/src/sections.rs): a build without `--split` has
    // no `split` and `manifest` lines, and its wasm could not start.
    for (kind, prefix, suffix) in [
        ("js", "portcullis.", ".js"),
        ("wasm", "portcullis.", ".wasm"),
        ("css", "portcullis.", ".css"),
        ("split", "__wasm_split.", ".js"),
        ("manifest", "__wasm_split_manifest.", ".json"),
    ] {
        let Some((_, hash)) = hashes.iter().find(|(k, _)| *k == kind) else {
            return Err(mismatch(format!("no {kind} file (build with cargo leptos build --release --split)")));
        };
        let name = format!("{prefix}{hash}{suffix}");
        if !site_root.join("pkg").join(&name).is_file() {
            return Err(mismatch(format!("pkg/{name}")));
        }
    }
    Ok(true)
}

/// The pieces a running server holds: the store, the sessions, the IAM service.
pub struct Services {
    pub iam: Iam,
    pub sessions: Sessions,
    session_pool: SessionPool,
}

impl Services {
    /// Opens the data folder, the secret key and the database, and applies migrations.
    pub async fn open(config: &Config) -> Result<Services, StartError> {
        create_private_dir(&config.data_dir)?;
        let url = config.database_url();
        let shown = iam_core::store::redact_url(&url);
        let store = Store::connect(&url, config.max_connections)
            .await
            .map_err(|source| StartError::Store { url: shown.clone(), source })?;
        store.migrate().await.map_err(|source| StartError::Store { url: shown.clone(), source })?;
        // A key is created only for a database that has none on record: a missing key file is
        // refused, not replaced (a new key would read none of the secrets already sealed).
        let key_file = config.secret_key_file();
        let secret_key = match SecretKey::load(&key_file)? {
            Some(key) => key,
            None if iam_core::sealing::recorded_key_check(&store).await?.is_some()
                || iam_core::sealing::has_sealed_secrets(&store).await? =>
            {
                return Err(StartError::KeyFileMissing(key_file.display().to_string()));
            }
            None => SecretKey::create(&key_file)?,
        };
        let (sessions, session_pool) = Sessions::connect(&url, config.max_connections.clamp(1, 4))
            .await
            .map_err(|source| StartError::Sessions { url: shown.clone(), source })?;
        let hash_concurrency = std::thread::available_parallelism().map_or(2, |n| n.get());
        let iam = Iam::new(store, Arc::new(SystemClock), secret_key, hash_concurrency)?;
        iam.establish_secret_key().await.map_err(|e| StartError::SecretKeyCheck(key_file.display().to_string(), e))?;
        Ok(Services { iam, sessions, session_pool })
    }

    pub async fn close(&self) {
        // Read events and Access Advisor notes are batched in memory: write them before closing.
        if let Err(e) = self.iam.flush().await {
            tracing::error!(error = %e, "could not write batched audit events at shutdown");
        }
        self.iam.store().close().await;
        self.session_pool.close().await;
    }
}

fn create_private_dir(dir: &std::path::Path) -> Result<(), StartError> {
    let err = |e| StartError::DataDir(dir.display().to_string(), e);
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(err)
}

/// A new one-time setup token: 32 random bytes, base64url.
fn setup_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A server bound to its address, ready to serve.
pub struct Prepared {
    pub listener: tokio::net::TcpListener,
    pub router: Router,
    pub services: Services,
    pub public_origin: String,
    /// The one-time setup link, when the installation has no account yet.
    pub setup_link: Option<String>,
    pub state: ConsoleState,
}

/// Opens everything and binds the listener; `serve` then runs it.
pub async fn prepare(config: &Config) -> Result<Prepared, StartError> {
    let services = Services::open(config).await?;
    let listener =
        tokio::net::TcpListener::bind(config.listen).await.map_err(|e| StartError::Listen(config.listen, e))?;
    let bound = listener.local_addr().map_err(|e| StartError::Listen(config.listen, e))?;
    let public_origin = config.public_origin(bound)?;

    let (setup, setup_link) = if services.iam.is_set_up().await? {
        (SetupGate::default(), None)
    } else {
        let token = setup_token();
        let link = format!("{public_origin}/setup?token={token}");
        (SetupGate::with_token(token), Some(link))
    };
    let hashed_assets = hashed_assets(&config.site_root)?;
    let leptos_options = LeptosOptions::builder()
        .output_name("portcullis")
        .hash_files(hashed_assets)
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(bound)
        .env(if std::env::var("LEPTOS_ENV").is_ok_and(|e| e.eq_ignore_ascii_case("dev")) {
            Env::DEV
        } else {
            Env::PROD
        })
        .build();
    let state = ConsoleState {
        iam: services.iam.clone(),
        setup,
        public_origin: public_origin.clone(),
        limits: config.session_limits(),
        sign_in_limiter: Arc::new(app::ssr::ClientLimiter::per_minute(config.sign_in_rate)),
        webauthn: match app::webauthn::relying_party(&public_origin) {
            Ok(rp) => Some(Arc::new(rp)),
            Err(e) => {
                tracing::warn!(error = %e, "security keys and passkeys are unavailable: set --public-origin to a host name");
                None
            }
        },
    };
    let web = WebConfig {
        public_origin: public_origin.clone(),
        assets: std::sync::Arc::new(if hashed_assets {
            middleware::Assets::scan(&config.site_root.join("pkg"))
        } else {
            Default::default()
        }),
        trusted_proxies: client::TrustedProxies {
            proxies: config.trusted_proxies.clone(),
            header: config.forwarded_header,
        },
    };
    let router = router(leptos_options, state.clone(), services.sessions.clone(), web);
    Ok(Prepared { listener, router, services, public_origin, setup_link, state })
}

#[derive(Clone)]
struct Health {
    iam: Iam,
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(health): State<Health>) -> (StatusCode, &'static str) {
    if health.iam.store().ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

/// The console's routes, generated once per process. Generating them runs the app with resource
/// loads suppressed by a process-wide flag (leptos_server's `SuppressResourceLoad`), so a resource
/// another router in the process first polls meanwhile never loads, and its page never ends
/// (leptos issue 4773). One server per process never meets this; the tests start many at once, and
/// a page load hung there. Every router waits here for the one generation, before it serves.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

/// The console router: Leptos pages and server functions, static assets, health checks.
pub fn router(leptos_options: LeptosOptions, state: ConsoleState, sessions: Sessions, web: WebConfig) -> Router {
    let routes = route_list();
    let context_state = state.clone();
    let context = move || {
        leptos::prelude::provide_context(context_state.clone());
        // The nonce the security-headers middleware put in this response's CSP, in place of the
        // one leptos_axum made up, so that the page's inline scripts carry the right one.
        let nonce = leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<middleware::CspNonce>().cloned());
        if let Some(middleware::CspNonce(nonce)) = nonce {
            leptos::prelude::provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    };
    let health = Health { iam: state.iam.clone() };
    let secure = web.public_origin.starts_with("https://");
    // The cookie of a signed-out visitor (a sign-in in progress) lives a short while; a signed-in
    // session's cookie is given its absolute end at sign-in. Whether a session is alive is decided
    // by its record in iam-core, on every request (idle and absolute timeouts, ended sessions).
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(if secure { "__Host-portcullis" } else { "portcullis" })
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(15)));
    let request_id = HeaderName::from_static("x-request-id");
    let proxies = web.trusted_proxies.clone();

    // The built assets, precompressed. Not leptos_axum's file handler: it passes on no conditional
    // request, so every `no-cache` asset (see `middleware::Assets`) was downloaded again on
    // each page; ServeDir answers 304 to a browser that has the file. An unknown name is a bare 404.
    let pkg = tower_http::services::ServeDir::new(
        std::path::Path::new(&*leptos_options.site_root).join(&*leptos_options.site_pkg_dir),
    )
    .precompressed_br()
    .precompressed_gzip()
    // A directory is not an asset (and its redirect would lose the /pkg prefix).
    .append_index_html_on_directories(false);
    let console = Router::new()
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), {
            let options = leptos_options.clone();
            move || app::shell(options.clone())
        })
        .nest_service(&format!("/{}", leptos_options.site_pkg_dir), pkg)
        .layer(axum::middleware::from_fn_with_state(web.clone(), middleware::asset_tags))
        .fallback(leptos_axum::file_and_error_handler_with_context(context, app::shell))
        .with_state(leptos_options)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::require_sign_in))
        .layer(axum::middleware::from_fn(middleware::error_status))
        .layer(axum::middleware::from_fn_with_state(web.clone(), middleware::reject_cross_site))
        .layer(session_layer);

    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).with_state(health))
        .merge(console)
        .layer(axum::middleware::from_fn_with_state(web, middleware::security_headers))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only: query strings can hold the setup token.
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        // Outermost: reads the client's facts and takes its x-request-id away before the line above.
        .layer(axum::middleware::from_fn_with_state(proxies, client::client_facts))
}

/// Serves until `shutdown` resolves, lets in-flight requests finish, then closes the pools.
pub async fn serve(
    prepared: Prepared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Prepared { listener, router, services, state, .. } = prepared;
    let expiry = tokio::spawn(tower_sessions::session_store::ExpiredDeletion::continuously_delete_expired(
        services.sessions.clone(),
        tokio::time::Duration::from_secs(600),
    ));
    let housekeeping = tokio::spawn(housekeeping(state));
    // TCP_NODELAY: pages stream in several small writes, and with Nagle's algorithm each small
    // write after the first waited for the browser's delayed acknowledgement, up to 40 ms a page
    // (the console-pages harness measured 44 ms for the dashboard; without the wait it is a few).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY on a connection");
        }
    });
    let result = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    expiry.abort();
    housekeeping.abort();
    // Awaited, so that its handle on the store is gone before the store closes (a restarted
    // server on the same SQLite file would otherwise find it still in use).
    housekeeping.await.ok();
    expiry.await.ok();
    tokio::time::timeout(Duration::from_secs(10), services.close()).await.ok();
    result
}

/// Every minute, forgets clients whose sign-in bucket is full again; every ten, removes timed-out
/// console sessions and sign-in failures older than a day.
async fn housekeeping(state: ConsoleState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        state.sign_in_limiter.prune();
        if n.is_multiple_of(10) {
            if let Err(e) = state.iam.prune_console_sessions(state.limits).await {
                tracing::warn!(error = %e, "could not remove timed-out console sessions");
            }
            if let Err(e) = state.iam.prune_sign_in_failures().await {
                tracing::warn!(error = %e, "could not forget old sign-in failures");
            }
        }
        n = n.wrapping_add(1);
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
