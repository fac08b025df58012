//! The console router's middleware: security headers, the cross-site request check, and the
//! redirect of signed-out page loads to sign-in.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// What the middleware needs to know of the deployment.
#[derive(Clone, Debug)]
pub struct WebConfig {
    pub public_origin: String,
    /// The built assets, read at start ([`Assets`]).
    pub assets: std::sync::Arc<Assets>,
    pub trusted_proxies: crate::client::TrustedProxies,
}

/// The nonce of this response's inline scripts (Leptos's hydration and streaming scripts carry it;
/// the console's context hands it to Leptos). A new one for every response.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

fn csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

fn new_nonce() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub async fn security_headers(State(web): State<WebConfig>, mut req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/pkg/");
    let hashed = is_asset && web.assets.is_immutable(req.uri().path());
    let nonce = new_nonce();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let found = res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED;
    let h = res.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&csp(&nonce)) {
        h.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if web.public_origin.starts_with("https://") {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    let cache = if !is_asset || !found {
        // Pages and server-function answers hold account data: never store them. Nor a missing
        // asset's answer (nothing may keep a 404 for a name the next build may use).
        "no-store"
    } else if hashed {
        "public, max-age=31536000, immutable"
    } else {
        // The same name may hold a new build: never reuse it unchecked (a conditional request, 304
        // when unchanged).
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if is_asset {
        // The body is brotli, gzip or plain as the request asked: a shared cache must keep one
        // per encoding, or it hands brotli to a browser that cannot read it, for a year.
        h.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// Gives each server-function error the HTTP status its code means. Leptos answers every error
/// of a server function with 500, which made every wrong password a server fault in monitoring;
/// the body (the error's code and message, JSON) is kept as it is, and the browser side decodes
/// an error from any 4xx or 5xx alike.
pub async fn error_status(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    if !is_api || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::BODY_LIMIT).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let code = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned));
    if let Some(code) = code {
        parts.status = status_of(&code);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The HTTP status of a console error code (AWS's, or the console's own).
fn status_of(code: &str) -> StatusCode {
    match code {
        "NotSignedIn" | "SignInFailed" | "SignInExpired" | "PasswordExpired" => StatusCode::UNAUTHORIZED,
        "AccessDenied" | "InvalidSetupLink" => StatusCode::FORBIDDEN,
        "NoSuchEntity" => StatusCode::NOT_FOUND,
        "EntityAlreadyExists" | "LimitExceeded" | "DeleteConflict" | "EntityTemporarilyUnmodifiable" => {
            StatusCode::CONFLICT
        }
        "Throttling" => StatusCode::TOO_MANY_REQUESTS,
        "ServiceFailure" | "RequestFailed" => StatusCode::INTERNAL_SERVER_ERROR,
        "WebAuthnUnavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Refuses state-changing requests that a browser sent from another site. Browsers say where a
/// request comes from in `Sec-Fetch-Site`; older ones only in `Origin`. A request with neither is
/// not from a browser page and carries no ambient authority worth protecting, but we still refuse
/// it: the console is for browsers, and the API has its own router with its own authentication.
pub async fn reject_cross_site(State(web): State<WebConfig>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = match (fetch_site, origin) {
        (Some(site), _) => site == "same-origin" || site == "none",
        (None, Some(origin)) => origin == web.public_origin,
        (None, None) => false,
    };
    if allowed { next.run(req).await } else { (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response() }
}

/// Paths anyone may load: sign-in and its steps, first-run setup, assets, health checks, and the
/// server functions (each of which checks the session itself).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/signin" | "/signin/mfa" | "/signin/change-password" | "/setup" | "/healthz" | "/readyz" | "/favicon.svg"
    ) || path.starts_with("/pkg/")
        || path.starts_with("/api/")
}

/// Sends a browser without a live console session that asks for a console page to sign-in (or to
/// the step its sign-in is at), and back afterwards. A session that timed out or was ended
/// elsewhere is found out here, on the page load, as well as by every server function.
pub async fn require_sign_in(
    State(state): State<app::ssr::ConsoleState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if is_public(path) || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    if let Ok(Some(signed_in)) = session.get::<app::ssr::ConsoleSession>(app::ssr::SESSION_KEY).await {
        match state.iam.touch_console_session(&signed_in.session_ref, state.limits).await {
            Ok(Some(_)) => return next.run(req).await,
            Ok(None) => {
                session.remove_value(app::ssr::SESSION_KEY).await.ok();
            }
            // The database is unreachable: let the page say so rather than sign the user out.
            Err(_) => return next.run(req).await,
        }
    }
    // A sign-in in progress (MFA, or a password that must change) reaches no page but its step.
    if let Ok(Some(pending)) = session.get::<app::ssr::PendingSignIn>(app::ssr::PENDING_KEY).await {
        let fresh = state.iam.now().as_millis().saturating_sub(pending.started_at) <= app::ssr::PENDING_MAX_AGE_MS;
        if fresh {
            return Redirect::to(pending.stage.path()).into_response();
        }
        session.remove_value(app::ssr::PENDING_KEY).await.ok();
    }
    let back = req.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    let target =
        if back == "/" { "/signin".to_owned() } else { format!("/signin?return_to={}", encode_query_value(back)) };
    Redirect::to(&target).into_response()
}

fn encode_query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The built assets as the server found them at start: for each `/pkg/` file (by request path),
/// the MD5 of its content and the file's length and time then.
///
/// A name is kept a year only when it is the hash of its own content. Checked, not assumed:
/// cargo-leptos names the main js and wasm before it writes the split loader's name into them, so
/// a build that changes only a section's code keeps their names (found by review); kept a year, an
/// old main js would ask for a loader the new build no longer has. Those are served `no-cache`,
/// and revalidated by their content's hash (an ETag), never by date: a rollback or a build that
/// keeps file dates would otherwise get a 304 for different content.
#[derive(Debug, Default)]
pub struct Assets {
    pkg: std::path::PathBuf,
    files: std::collections::HashMap<String, AssetFile>,
}

#[derive(Debug)]
struct AssetFile {
    md5: String,
    len: u64,
    modified: Option<std::time::SystemTime>,
    /// Which file it is: a copy that keeps length and dates (rsync -a, cp -p) is still a new inode
    /// with a new change time, which no copy tool can set.
    identity: (u64, i64, i64),
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, i64, i64) {
    use std::os::unix::fs::MetadataExt as _;
    (meta.ino(), meta.ctime(), meta.ctime_nsec())
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> (u64, i64, i64) {
    (0, 0, 0)
}

impl Assets {
    /// Reads every file of `pkg` once (the precompressed copies are made from them).
    pub fn scan(pkg: &std::path::Path) -> Assets {
        use base64::Engine as _;
        use md5::Digest as _;
        let mut files = std::collections::HashMap::new();
        for entry in std::fs::read_dir(pkg).into_iter().flatten().flatten() {
            let Ok(name) = entry.file_name().into_string() else { continue };
            if name.ends_with(".br") || name.ends_with(".gz") {
                continue;
            }
            let (Ok(meta), Ok(mut file)) = (entry.metadata(), std::fs::File::open(entry.path())) else { continue };
            let mut hasher = md5::Md5::new();
            if !meta.is_file() || std::io::copy(&mut file, &mut hasher).is_err() {
                continue;
            }
            let md5 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hasher.finalize());
            files.insert(
                format!("/pkg/{name}"),
                AssetFile { md5, len: meta.len(), modified: meta.modified().ok(), identity: identity(&meta) },
            );
        }
        let assets = Assets { pkg: pkg.to_owned(), files };
        let immutable = assets.files.keys().filter(|path| assets.is_immutable(path)).count();
        tracing::info!(files = assets.files.len(), immutable, "console assets");
        assets
    }

    /// Whether `path`'s name carries the hash of its content, so that a browser may keep it a year.
    pub fn is_immutable(&self, path: &str) -> bool {
        self.files.get(path).is_some_and(|f| is_hashed_name(path) && path.split('.').any(|part| part == f.md5))
    }

    /// The ETag of `path`'s content, if the file is still the one read at start (a file replaced
    /// under a running server has none, and is served as ServeDir finds it).
    fn etag(&self, path: &str) -> Option<HeaderValue> {
        let file = self.files.get(path)?;
        let name = path.strip_prefix("/pkg/")?;
        let meta = std::fs::metadata(self.pkg.join(name)).ok()?;
        if meta.len() != file.len || meta.modified().ok() != file.modified || identity(&meta) != file.identity {
            return None;
        }
        // Weak: the brotli, gzip and plain bodies are one content in three encodings.
        HeaderValue::from_str(&format!("W/\"{}\"", file.md5)).ok()
    }
}

/// Revalidation of the console's assets by content: a request's `If-None-Match` that names the
/// file's ETag gets a 304; dates are ignored (see [`Assets`]).
pub async fn asset_tags(State(web): State<WebConfig>, mut req: Request, next: Next) -> Response {
    let Some(etag) = web.assets.etag(req.uri().path()) else { return next.run(req).await };
    let headers = req.headers_mut();
    headers.remove(header::IF_MODIFIED_SINCE);
    headers.remove(header::IF_UNMODIFIED_SINCE);
    let unchanged = headers.get_all(header::IF_NONE_MATCH).iter().any(|v| {
        v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag_value(&etag)))
    });
    if unchanged && (req.method() == Method::GET || req.method() == Method::HEAD) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let mut res = next.run(req).await;
    if res.status().is_success() {
        res.headers_mut().insert(header::ETAG, etag);
        res.headers_mut().remove(header::LAST_MODIFIED);
    }
    res
}

fn etag_value(etag: &HeaderValue) -> &str {
    etag.to_str().unwrap_or_default().trim_start_matches("W/")
}

/// Whether an asset's file name carries a content hash, as cargo-leptos's `hash-files` writes
/// them: `NAME.<22 characters of base64url>.EXT` (files it leaves unhashed, wasm-bindgen's
/// snippets say, keep their names from build to build).
fn is_hashed_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts
            .iter()
            .skip(1)
            .take(parts.len() - 2)
            .any(|part| part.len() == 22 && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_with_a_hash_are_immutable() {
        for p in [
            "/pkg/portcullis.lL-WQZXsMLYagnBcuIyUQw.wasm",
            "/pkg/portcullis.pB-h_U1r20ZAkDndMyEjXg.css",
            "/pkg/chunk_29.7gcTkp-NgWDDmIy0GeQLCw.wasm",
        ] {
            assert!(is_hashed_name(p), "{p}");
        }
        for p in [
            "/pkg/portcullis.wasm",
            "/pkg/portcullis.css",
            "/pkg/snippets/webauthn-1a2b/inline0.js",
            "/pkg/lL-WQZXsMLYagnBcuIyUQw.wasm",
            "/pkg/portcullis.lL-WQZXsMLYagnBcuIyUQ.wasm",
            "/pkg/portcullis.lL-WQZXsMLYagnBcuIyUQw",
        ] {
            assert!(!is_hashed_name(p), "{p}");
        }
    }

    #[test]
    fn only_entry_points_are_public() {
        for p in [
            "/signin",
            "/signin/mfa",
            "/signin/change-password",
            "/setup",
            "/pkg/portcullis.wasm",
            "/healthz",
            "/api/sign_in",
        ] {
            assert!(is_public(p), "{p}");
        }
        for p in ["/", "/users", "/users/details/alice", "/signin/x"] {
            assert!(!is_public(p), "{p}");
        }
    }

    #[test]
    fn error_codes_have_their_statuses() {
        assert_eq!(status_of("SignInFailed"), StatusCode::UNAUTHORIZED);
        assert_eq!(status_of("AccessDenied"), StatusCode::FORBIDDEN);
        assert_eq!(status_of("PasswordPolicyViolation"), StatusCode::BAD_REQUEST);
        assert_eq!(status_of("DeleteConflict"), StatusCode::CONFLICT);
        assert_eq!(status_of("Throttling"), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(status_of("ServiceFailure"), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn return_paths_are_encoded() {
        assert_eq!(encode_query_value("/users?search=a b&x=1"), "/users%3Fsearch%3Da%20b%26x%3D1");
    }

    #[test]
    fn only_names_that_are_their_contents_hash_are_kept_a_year() {
        let pkg = std::env::temp_dir().join(format!("portcullis-pkg-{}", std::process::id()));
        std::fs::create_dir_all(&pkg).unwrap();
        // MD5 of nothing, in base64url: 1B2M2Y8AsgTpgAmY7PhCfg.
        std::fs::write(pkg.join("chunk_1.1B2M2Y8AsgTpgAmY7PhCfg.wasm"), b"").unwrap();
        std::fs::write(pkg.join("chunk_1.1B2M2Y8AsgTpgAmY7PhCfg.wasm.br"), b"compressed").unwrap();
        // Named before its content changed (cargo-leptos's main js after the loader's name went in).
        std::fs::write(pkg.join("portcullis.1B2M2Y8AsgTpgAmY7PhCfg.js"), b"import './__wasm_split.x.js';").unwrap();
        std::fs::write(pkg.join("plain.js"), b"").unwrap();
        let assets = Assets::scan(&pkg);
        let immutable: Vec<bool> =
            ["chunk_1.1B2M2Y8AsgTpgAmY7PhCfg.wasm", "portcullis.1B2M2Y8AsgTpgAmY7PhCfg.js", "plain.js"]
                .iter()
                .map(|name| assets.is_immutable(&format!("/pkg/{name}")))
                .collect();
        // Every file has an ETag of its content, the precompressed copies aside.
        let tagged = assets.etag("/pkg/portcullis.1B2M2Y8AsgTpgAmY7PhCfg.js");
        let compressed = assets.etag("/pkg/chunk_1.1B2M2Y8AsgTpgAmY7PhCfg.wasm.br");
        // A file replaced under the running server is no longer vouched for.
        std::fs::write(pkg.join("plain.js"), b"a new build").unwrap();
        let replaced = assets.etag("/pkg/plain.js");
        std::fs::remove_dir_all(&pkg).unwrap();
        assert_eq!(immutable, [true, false, false]);
        assert_eq!(tagged.unwrap(), "W/\"sX5i5S7C-mTeAqHJHxHU6Q\"");
        assert_eq!(compressed, None);
        assert_eq!(replaced, None);
    }
}
