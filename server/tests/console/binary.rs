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
fn a_missing_or_different_key_file_is_refused_not_replaced() {
    let dir = temp_dir();
    let bootstrap = || {
        let mut child = portcullis()
            .arg("--data-dir")
            .arg(&dir)
            .args(["bootstrap", "--account-alias", "example-corp", "--email", "root@example.com"])
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
    let first = bootstrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let key_file = dir.join("secret.key");
    let key = std::fs::read(&key_file).unwrap();

    // The key file is lost: the next start refuses, in one line, and makes no new key.
    std::fs::rename(&key_file, dir.join("secret.key.backup")).unwrap();
    let out = bootstrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is missing") && stderr.contains("restore"), "{stderr}");
    assert!(!key_file.exists(), "no new key was made");

    // Another key in its place: refused too.
    let mut other = key.clone();
    other[0] ^= 0xff;
    std::fs::write(&key_file, &other).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = bootstrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("does not match this database"), "{stderr}");

    // The right key back: the server starts (and says the account is already set up).
    std::fs::write(&key_file, &key).unwrap();
    let out = bootstrap();
    assert!(String::from_utf8(out.stderr).unwrap().contains("already set up"));

    // A database from before key checks were recorded, holding a sealed secret, and no key file:
    // refused as well, and still no new key.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}", dir.join("portcullis.db").display());
        let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
        sqlx::query("DELETE FROM sealing_key").execute(&mut db).await.unwrap();
        sqlx::query(
            "INSERT INTO access_keys (access_key_id, account_id, owner_id, secret_sealed, active, created_at) \
             SELECT 'AKIAOLDOLDOLDOLDOLD1', account_id, account_id, 'v1:sealed', 1, 0 FROM accounts",
        )
        .execute(&mut db)
        .await
        .unwrap();
    });
    std::fs::remove_file(&key_file).unwrap();
    let out = bootstrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr).unwrap().contains("is missing"));
    assert!(!key_file.exists(), "no new key for a database that holds secrets");
    std::fs::remove_dir_all(dir).ok();
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

#[test]
fn policy_validate_reports_problems_and_exit_status() {
    let dir = temp_dir();
    let good = dir.join("good.json");
    std::fs::write(
        &good,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}"#,
    )
    .unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"GetObject","Resource":"*"}}"#).unwrap();
    let out = portcullis().args(["policy", "validate"]).arg(&good).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("good.json: valid identity policy"));
    let out = portcullis().args(["policy", "validate"]).arg(&good).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("bad.json: MalformedPolicyDocument: Policy document should not specify a principal. (at Statement.Principal)"), "{text}");
    assert!(text.contains("Actions/Conditions must be prefaced by a vendor"), "{text}");
    let out = portcullis().args(["policy", "validate", "--kind", "resource"]).arg(&bad).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("should not specify a principal"), "{text}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn policy_evaluate_prints_the_decision_and_why() {
    let dir = temp_dir();
    let identity = dir.join("identity.json");
    std::fs::write(
        &identity,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Office","Effect":"Allow","Action":"s3:*","Resource":"*",
            "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"ForAllValues:StringEquals":{"aws:TagKeys":["team","cost"]}}}]}"#,
    )
    .unwrap();
    let boundary = dir.join("boundary.json");
    std::fs::write(&boundary, r#"{"Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}"#).unwrap();
    let run = |extra: &[&str]| {
        let out = portcullis()
            .args([
                "policy",
                "evaluate",
                "--principal",
                "arn:aws:iam::111122223333:user/alice",
                "--action",
                "s3:GetObject",
            ])
            .args(["--resource", "arn:aws:s3:::b/k", "--identity"])
            .arg(&identity)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let allowed =
        run(&["--context", "aws:SourceIp=10.1.2.3", "--context", "aws:TagKeys=team", "--context", "aws:TagKeys=cost"]);
    assert_eq!(allowed["decision"], "Allow");
    assert_eq!(allowed["deciding_statements"][0]["sid"], "Office");
    let outside = run(&["--context", "aws:SourceIp=192.0.2.1"]);
    assert_eq!(outside["decision"], "ImplicitDeny");
    assert_eq!(outside["denied_by"], "NoIdentityAllow");
    let capped = run(&["--context", "aws:SourceIp=10.1.2.3", "--boundary", boundary.to_str().unwrap()]);
    assert_eq!(capped["denied_by"], "PermissionsBoundary");
    let out = portcullis()
        .args(["policy", "evaluate", "--principal", "nobody", "--action", "s3:GetObject"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn recover_root_sets_a_new_password_from_stdin() {
    let dir = temp_dir();
    let run = |args: &[&str], stdin: &[u8]| {
        let mut child = portcullis()
            .arg("--data-dir")
            .arg(&dir)
            .args(args)
            .env("RUST_LOG", "off")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    };
    let made =
        run(&["bootstrap", "--account-alias", "example-corp", "--email", "root@example.com"], b"Root-password-1\n");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let none = run(&["recover-root", "--account", "example-corp"], b"");
    assert!(!none.status.success());
    assert!(String::from_utf8(none.stderr).unwrap().contains("--reset-password"));
    let weak = run(&["recover-root", "--account", "example-corp", "--reset-password"], b"short\n");
    assert!(!weak.status.success());
    assert!(String::from_utf8(weak.stderr).unwrap().contains("PasswordPolicyViolation"));
    let done = run(
        &["recover-root", "--account", "example-corp", "--reset-password", "--remove-mfa"],
        b"Recovered-password-1\n",
    );
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let out = String::from_utf8(done.stdout).unwrap();
    assert!(out.contains("Set a new root password") && out.contains("Removed 0 MFA device(s)"), "{out}");
    assert!(!out.contains("Recovered-password-1"));
    std::fs::remove_dir_all(dir).ok();
}
