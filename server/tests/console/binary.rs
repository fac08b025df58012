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
fn sigterm_stops_the_server_cleanly() {
    let dir = temp_dir();
    let mut child = portcullis()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the console line, which comes after the listener is bound.
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        use std::io::BufRead as _;
        std::io::BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>()
    });
    let started = Instant::now();
    while !dir.join("portcullis.db").exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let printed = lines.join().unwrap().join("\n");
    assert!(printed.contains("/setup?token="), "the first start prints the setup link: {printed}");
    assert!(printed.contains("Portcullis console: http://127.0.0.1:"), "{printed}");
    std::fs::remove_dir_all(dir).ok();
}
