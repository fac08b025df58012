//! Sign-in under load: how many console sign-ins per second 32 concurrent clients get, beside the
//! bound one Argon2id hash per sign-in sets on this machine (measured in the same run), and the
//! process's peak memory, which the hashing semaphore must keep bounded however many clients come.
//!
//! `cargo bench -p server --bench sign_in` (SQLite in a temporary folder; set
//! `PORTCULLIS_BENCH_DATABASE_URL=postgres://...` to use a PostgreSQL database, which is emptied).
//! Prints what it measured; asserts nothing (these machines are noisy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "a benchmark")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser as _;
use common::{client, percentile};

mod common;

const ROOT_EMAIL: &str = "root@example.com";
const ROOT_PASSWORD: &str = "Bench-root-Password-77";

/// The process's peak resident memory so far (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// One phase: `clients` clients signing in as fast as they can for `seconds`.
async fn load(base: &str, clients: usize, seconds: u64) -> (f64, Vec<Duration>, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (done, failed, url) = (done.clone(), failed.clone(), format!("{base}/api/sign_in"));
        tasks.push(tokio::spawn(async move {
            let http = client();
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let t = Instant::now();
                let res = http
                    .post(&url)
                    .form(&[("kind", "root"), ("email", ROOT_EMAIL), ("password", ROOT_PASSWORD)])
                    .send()
                    .await;
                match res {
                    Ok(r) if r.headers().contains_key("location") => {
                        done.fetch_add(1, Ordering::Relaxed);
                        latencies.push(t.elapsed());
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    (done.load(Ordering::Relaxed) as f64 / elapsed, all, failed.load(Ordering::Relaxed))
}

#[tokio::main]
async fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let data_dir = std::env::temp_dir().join(format!("portcullis_bench_{}", std::process::id()));
    let mut args: Vec<String> = ["portcullis", "--listen", "127.0.0.1:0", "--sign-in-rate", "100000", "--data-dir"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.push(data_dir.display().to_string());
    if let Ok(url) = std::env::var("PORTCULLIS_BENCH_DATABASE_URL") {
        args.extend(["--database-url".to_owned(), url]);
    }
    let cli = server::config::Cli::parse_from(args);
    let prepared = server::prepare(&cli.config).await.expect("server starts");
    let rss_started = peak_rss_mib();
    let iam = prepared.services.iam.clone();
    let base = format!("http://{}", prepared.listener.local_addr().unwrap());
    iam.bootstrap(iam_core::accounts::NewAccount {
        alias: "bench-corp".into(),
        root_email: ROOT_EMAIL.into(),
        root_password: iam_core::Password::new(ROOT_PASSWORD),
    })
    .await
    .expect("bootstrap (the bench wants an empty database)");
    let rss_bootstrapped = peak_rss_mib();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(prepared, async move {
        stopped.await.ok();
    }));

    // The bound: Argon2id hashes per second on all cores, each hash alone on a core.
    let hasher = iam_core::password::PasswordHasher::new(cores).unwrap();
    let password = iam_core::Password::new(ROOT_PASSWORD);
    hasher.hash(&password).await.unwrap();
    let t = Instant::now();
    let rounds = 32 * cores;
    let mut hashes = Vec::new();
    for _ in 0..rounds {
        let (h, p) = (hasher.clone(), password.clone());
        hashes.push(tokio::spawn(async move { h.hash(&p).await.unwrap() }));
    }
    for h in hashes {
        h.await.unwrap();
    }
    let bound = rounds as f64 / t.elapsed().as_secs_f64();
    let rss_idle = peak_rss_mib();
    println!("machine: {cores} cores; Argon2id (m=19456 KiB, t=2, p=1) bound: {bound:.1} hashes/s");
    println!(
        "peak memory: {rss_started:.0} MiB started, {rss_bootstrapped:.0} MiB after first-run setup, \
         {rss_idle:.0} MiB after measuring the bound"
    );

    for (clients, seconds) in [(32usize, 20u64), (256, 10)] {
        let (rate, latencies, failed) = load(&base, clients, seconds).await;
        println!(
            "{clients:>4} clients, {seconds} s: {rate:.1} sign-ins/s = {:.2}x the hash bound; latency p50 {:.0} ms, p99 {:.0} ms; {failed} failed; peak memory {:.0} MiB",
            rate / bound,
            percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
            percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
            peak_rss_mib(),
        );
    }
    stop.send(()).ok();
    server.await.unwrap().unwrap();
    std::fs::remove_dir_all(&data_dir).ok();
}
