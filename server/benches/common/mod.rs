//! What the server's load harnesses share: percentiles of measured latencies, and an HTTP client
//! that behaves as the console's own pages do (same-origin requests, cookies kept, redirects not
//! followed, so a server function's answer is seen as sent).

#![allow(dead_code, reason = "each harness uses what it needs")]

use std::time::Duration;

/// The `p` quantile (0 to 1) of `sorted` latencies; zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("sec-fetch-site", "same-origin".parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}
