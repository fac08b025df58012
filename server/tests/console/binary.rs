use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn portcullis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis_bin_{}", iam_core::ids::reference_id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn help_lists_the_configuration() {
    let out = portcullis().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--database-url",
        "--data-dir",
        "--public-origin",
        "--log-format",
        "PORTCULLIS_DATABASE_URL",
        "bootstrap",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
}

#[test]
fn bad_database_urls_fail_in_one_line() {
    let dir = temp_dir();
    for url in ["mysql://localhost/x", "postgres://nobody@127.0.0.1:1/none"] {
        let out = portcullis()
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .args(["--database-url", url])
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url} was accepted");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bootstrap_creates_the_first_account_once() {
    let dir = temp_dir();
    let run = |alias: &str| {
        let mut child = portcullis()
            .args(["--data-dir"])
            .arg(&dir)
            .args(["bootstrap", "--account-alias", alias, "--email", "root@example.com"])
            .env("RUST_LOG", "off")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(b"Root-password-1\n").unwrap();
        child.wait_with_output().unwrap()
    };
    let first = run("example-corp");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let stdout = String::from_utf8(first.stdout).unwrap();
    assert!(stdout.starts_with("Created account "), "{stdout}");
    assert!(!stdout.contains("Root-password-1"));
    let second = run("other-corp");
    assert!(!second.status.success());
    assert!(String::from_utf8(second.stderr).unwrap().contains("already set up"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn sigterm_stops_the_server_cleanly_and_logs_are_json() {
    let dir = temp_dir();
    let mut child = portcullis()
        .args(["--listen", "127.0.0.1:0", "--log-format", "json", "--data-dir"])
        .arg(&dir)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (origin_tx, origin_rx) = std::sync::mpsc::channel();
    let printed = std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(origin) = line.strip_prefix("Portcullis console: ") {
                origin_tx.send(origin.to_owned()).ok();
            }
            lines.push(line);
        }
        lines
    });
    let logged = std::thread::spawn(move || {
        use std::io::BufRead as _;
        std::io::BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>()
    });
    let origin = origin_rx.recv_timeout(Duration::from_secs(60)).expect("the server starts");
    let status = get_status(&origin, "/healthz");
    assert_eq!(status, 200);

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status after SIGTERM: {exit}");
    assert!(started.elapsed() < Duration::from_secs(15));

    let printed = printed.join().unwrap().join("\n");
    assert!(printed.contains("/setup?token="), "the first start prints the setup link: {printed}");
    let logged = logged.join().unwrap();
    assert!(!logged.is_empty());
    for line in &logged {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(!line.contains("token="), "a log line holds the setup token: {line}");
        assert!(event.get("level").is_some(), "{line}");
    }
    assert!(
        logged.iter().any(|l| l.contains("request_id") && l.contains("/healthz")),
        "each request is logged with its id: {logged:?}"
    );
    std::fs::remove_dir_all(dir).ok();
}

/// A minimal HTTP/1.1 GET, so this test needs no async runtime.
fn get_status(origin: &str, path: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let host = origin.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}
