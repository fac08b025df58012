//! Sign-in over HTTP: the steps after the password (MFA, a new password), the limits on attempts,
//! MFA in authorization, console sessions, and the password policy settings.

use iam_core::entities::EntityKind;
use iam_core::password_policy::UpdatePasswordPolicy;
use iam_core::users::CreateUser;
use iam_core::{Caller, Password, Principal};
use reqwest::StatusCode;
use serde_json::Value;
use totp_rs::{Builder, Secret};

use crate::harness::{Db, ROOT_EMAIL, ROOT_PASSWORD, TestServer};
use crate::on_both;

async fn json(res: reqwest::Response) -> Value {
    let text = res.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Where a server function sent the browser next.
fn location(res: &reqwest::Response) -> Option<String> {
    res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The code of a device with `secret`, `steps` 30-second steps from now.
fn code(secret: &str, steps: i64) -> String {
    let totp =
        Builder::new().with_secret(Secret::try_from_base32(secret).unwrap()).with_account_name("t").build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    totp.generate(now.saturating_add_signed(steps * 30)).to_string()
}

/// The root user of the server's account, as iam-core's caller, to arrange what a test needs.
async fn admin(server: &TestServer, root: &reqwest::Client) -> Caller {
    let who = json(server.call(root, "whoami", &[]).await).await;
    let account_id = who["account_id"].as_str().unwrap().to_owned();
    Caller::internal(Principal::Root { account_id })
}

async fn sign_in_user(server: &TestServer, client: &reqwest::Client, user: &str, password: &str) -> reqwest::Response {
    let fields =
        [("kind", "iam"), ("account", "example-corp"), ("user_name", user), ("password", password), ("return_to", "")];
    server.call(client, "sign_in", &fields).await
}

async fn sign_in_root(server: &TestServer, client: &reqwest::Client, password: &str) -> reqwest::Response {
    server.call(client, "sign_in", &[("kind", "root"), ("email", ROOT_EMAIL), ("password", password)]).await
}

async fn whoami_code(server: &TestServer, client: &reqwest::Client) -> String {
    let who = json(server.call(client, "whoami", &[]).await).await;
    who["code"].as_str().map_or_else(|| format!("user:{}", who["display_name"].as_str().unwrap_or("")), str::to_owned)
}

/// Assigns a virtual MFA device to whoever `client` is signed in as; answers its secret.
async fn assign_mfa(server: &TestServer, client: &reqwest::Client, name: &str, password: &str) -> String {
    let created =
        json(server.call(client, "create_virtual_mfa", &[("device_name", name), ("current_password", password)]).await)
            .await;
    let secret = created["secret"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
    let serial = created["serial_number"].as_str().unwrap().to_owned();
    assert!(created["qr_png"].as_str().unwrap().len() > 100, "a QR code comes with it");
    let fields = [("serial_number", serial.as_str()), ("code1", &code(&secret, -1)), ("code2", &code(&secret, 0))];
    let enabled = server.call(client, "enable_virtual_mfa", &fields).await;
    assert!(location(&enabled).unwrap().starts_with("/security-credentials?done=mfa&at="));
    secret
}

on_both!(a_required_reset_leads_to_a_new_password_and_nowhere_else, |server| {
    let root = server.setup_and_sign_in().await;
    let admin = admin(server, &root).await;
    let policy = UpdatePasswordPolicy {
        minimum_password_length: Some(10),
        require_symbols: Some(true),
        allow_users_to_change_password: Some(true),
        ..Default::default()
    };
    server.iam.update_account_password_policy(&admin, policy).await.unwrap();
    server.iam.create_user(&admin, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let first = "Temporary-Violet-42!";
    server.iam.create_login_profile(&admin, "alice", &Password::new(first), true).await.unwrap();

    let alice = server.browser();
    let res = sign_in_user(server, &alice, "alice", first).await;
    assert_eq!(location(&res).as_deref(), Some("/signin/change-password"));
    // No page but the step, and no server function.
    let page = alice.get(server.url("/users")).send().await.unwrap();
    assert!(page.status().is_redirection());
    assert_eq!(location(&page).as_deref(), Some("/signin/change-password"));
    assert_eq!(whoami_code(server, &alice).await, "NotSignedIn");
    let step = json(server.call(&alice, "pending_sign_in", &[]).await).await;
    assert_eq!(step["stage"], "change_password");
    assert_eq!(step["reason"], "reset");
    assert!(step["requirements"].to_string().contains("at least 10 characters"), "{step}");
    // The step's form is in the server's page, whole: it works before the wasm arrives, and no
    // suspended part of it is left to the browser (a local resource read under a suspense once
    // made the server send a "Loading…" there every time, and the browser's hydration sometimes
    // died on it).
    for _ in 0..20 {
        let html = alice.get(server.url("/signin/change-password")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(r#"id="old_password""#), "the form is server-rendered");
        assert!(html.contains("__INCOMPLETE_CHUNKS=[];"), "nothing is left for the browser to render");
    }

    let new = |old: &str, new: &str, confirm: &str| {
        let fields = [
            ("old_password", old.to_owned()),
            ("new_password", new.to_owned()),
            ("confirm_password", confirm.to_owned()),
        ];
        let alice = alice.clone();
        async move { alice.post(server.url("/api/sign_in_new_password")).form(&fields).send().await.unwrap() }
    };
    let weak = json(new(first, "short", "short").await).await;
    assert_eq!(weak["code"], "PasswordPolicyViolation");
    let message = weak["message"].as_str().unwrap();
    assert!(message.contains("at least 10 characters") && message.contains("a symbol"), "{message}");
    let common = json(new(first, "Password123!", "Password123!").await).await;
    assert!(common["message"].as_str().unwrap().contains("harder to guess"), "{common}");
    let mismatch = json(new(first, "Fresh-Garnet-Lynx-7!", "Fresh-Garnet-Lynx-8!").await).await;
    assert_eq!(mismatch["code"], "ValidationError");
    let done = new(first, "Fresh-Garnet-Lynx-7!", "Fresh-Garnet-Lynx-7!").await;
    assert_eq!(location(&done).as_deref(), Some("/"));
    assert_eq!(whoami_code(server, &alice).await, "user:alice");

    // With the default policy (no AllowUsersToChangePassword) a user told to reset is not stuck.
    server.iam.delete_account_password_policy(&admin).await.unwrap();
    server.iam.create_user(&admin, CreateUser { user_name: "dave".into(), ..Default::default() }).await.unwrap();
    server.iam.create_login_profile(&admin, "dave", &Password::new(first), true).await.unwrap();
    let dave = server.browser();
    assert_eq!(location(&sign_in_user(server, &dave, "dave", first).await).as_deref(), Some("/signin/change-password"));
    let fields = [
        ("old_password", first),
        ("new_password", "Dave-walks-Quiet-Dunes-5"),
        ("confirm_password", "Dave-walks-Quiet-Dunes-5"),
    ];
    let done = server.call(&dave, "sign_in_new_password", &fields).await;
    assert_eq!(location(&done).as_deref(), Some("/"), "{:?}", done.headers());
    // Once changed, the grant is gone: ChangePassword needs a policy again.
    let again = [
        ("current_password", "Dave-walks-Quiet-Dunes-5"),
        ("new_password", "Dave-runs-Loud-Dunes-6"),
        ("confirm_password", "Dave-runs-Loud-Dunes-6"),
    ];
    assert_eq!(json(server.call(&dave, "change_my_password", &again).await).await["code"], "AccessDenied");

    // Signed out and in again: straight in, with the new password only.
    server.call(&alice, "sign_out", &[]).await;
    let old = json(sign_in_user(server, &alice, "alice", first).await).await;
    assert_eq!(old["code"], "SignInFailed");
    let res = sign_in_user(server, &alice, "alice", "Fresh-Garnet-Lynx-7!").await;
    assert_eq!(location(&res).as_deref(), Some("/"));
});

on_both!(totp_enrolment_and_sign_in_take_each_code_once, |server| {
    let root = server.setup_and_sign_in().await;
    let who = json(server.call(&root, "whoami", &[]).await).await;
    assert_eq!(who["has_mfa"], false, "the dashboard warns the root user");
    let wrong = server
        .call(&root, "create_virtual_mfa", &[("device_name", "root-phone"), ("current_password", "not-it")])
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST, "an error has the status its code means, not 500");
    let wrong = json(wrong).await;
    assert_eq!(wrong["code"], "InvalidInput", "adding a device asks for the password again");
    let secret = assign_mfa(server, &root, "root-phone", ROOT_PASSWORD).await;
    assert_eq!(json(server.call(&root, "whoami", &[]).await).await["has_mfa"], true);

    let b = server.browser();
    let res = sign_in_root(server, &b, ROOT_PASSWORD).await;
    assert_eq!(location(&res).as_deref(), Some("/signin/mfa"));
    let page = b.get(server.url("/")).send().await.unwrap();
    assert_eq!(location(&page).as_deref(), Some("/signin/mfa"));
    assert_eq!(whoami_code(server, &b).await, "NotSignedIn");
    let bad = server.call(&b, "sign_in_mfa", &[("code", "000000")]).await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let bad = json(bad).await;
    assert_eq!(bad["code"], "SignInFailed");
    let next = code(&secret, 1);
    let res = server.call(&b, "sign_in_mfa", &[("code", &next)]).await;
    assert_eq!(location(&res).as_deref(), Some("/"));
    assert!(whoami_code(server, &b).await.starts_with("user:"));
    let sessions = json(server.call(&b, "my_sessions", &[]).await).await;
    let this = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(this["mfa"], true);

    // A drifted device is resynchronized with two consecutive codes (later than any used).
    let serial = json(server.call(&b, "mfa_devices", &[]).await).await[0]["serial_number"].as_str().unwrap().to_owned();
    let bad =
        server.call(&b, "resync_mfa", &[("serial_number", &serial), ("code1", "123456"), ("code2", "654321")]).await;
    assert_eq!(json(bad).await["code"], "InvalidAuthenticationCode");
    let fields = [("serial_number", serial.as_str()), ("code1", &code(&secret, 3)), ("code2", &code(&secret, 4))];
    let resynced = server.call(&b, "resync_mfa", &fields).await;
    assert!(location(&resynced).unwrap().starts_with("/security-credentials?done=mfa-resynced&at="));

    // The same code in another browser (or on another server of the same database): refused.
    let c = server.browser();
    assert_eq!(location(&sign_in_root(server, &c, ROOT_PASSWORD).await).as_deref(), Some("/signin/mfa"));
    let replay = json(server.call(&c, "sign_in_mfa", &[("code", &next)]).await).await;
    assert_eq!(replay["code"], "SignInFailed");
});

/// AWS's documented "BlockMostAccessUnlessSignedInWithMFA" policy, plus the user's normal access.
const MFA_GATED: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Sid":"AllowViewAccountInfo","Effect":"Allow","Action":["iam:GetAccountPasswordPolicy","iam:ListVirtualMFADevices"],"Resource":"*"},
 {"Sid":"AllowManageOwnVirtualMFADevice","Effect":"Allow","Action":["iam:CreateVirtualMFADevice"],"Resource":"arn:aws:iam::*:mfa/*"},
 {"Sid":"AllowManageOwnUserMFA","Effect":"Allow","Action":["iam:DeactivateMFADevice","iam:EnableMFADevice","iam:GetUser","iam:GetMFADevice","iam:ListMFADevices","iam:ResyncMFADevice"],"Resource":"arn:aws:iam::*:user/${aws:username}"},
 {"Sid":"DenyAllExceptListedIfNoMFA","Effect":"Deny","NotAction":["iam:CreateVirtualMFADevice","iam:EnableMFADevice","iam:GetUser","iam:GetMFADevice","iam:ListMFADevices","iam:ListVirtualMFADevices","iam:ResyncMFADevice","sts:GetSessionToken"],"Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}},
 {"Sid":"NormalAccess","Effect":"Allow","Action":["iam:ListUsers","iam:GetUser"],"Resource":"*"}]}"#;

on_both!(the_mfa_gated_policy_opens_only_after_mfa, |server| {
    let root = server.setup_and_sign_in().await;
    let admin = admin(server, &root).await;
    server.iam.create_user(&admin, CreateUser { user_name: "bob".into(), ..Default::default() }).await.unwrap();
    let password = "Bob-keeps-Tulips-31";
    server.iam.create_login_profile(&admin, "bob", &Password::new(password), false).await.unwrap();
    server.iam.put_inline_policy(&admin, EntityKind::User, "bob", "mfa-gated", MFA_GATED).await.unwrap();

    let bob = server.browser();
    assert_eq!(location(&sign_in_user(server, &bob, "bob", password).await).as_deref(), Some("/"));
    let users = json(server.call(&bob, "list_users", &[]).await).await;
    assert_eq!(users["code"], "AccessDenied", "without MFA: {users}");
    let devices = json(server.call(&bob, "mfa_devices", &[]).await).await;
    assert_eq!(devices, serde_json::json!([]), "but may see and set up MFA");
    let secret = assign_mfa(server, &bob, "bob-phone", password).await;
    // The session that set it up still has no MFA; a new one with a code has its normal access.
    assert_eq!(json(server.call(&bob, "list_users", &[]).await).await["code"], "AccessDenied");
    server.call(&bob, "sign_out", &[]).await;
    assert_eq!(location(&sign_in_user(server, &bob, "bob", password).await).as_deref(), Some("/signin/mfa"));
    let res = server.call(&bob, "sign_in_mfa", &[("code", &code(&secret, 1))]).await;
    assert_eq!(location(&res).as_deref(), Some("/"));
    let users = json(server.call(&bob, "list_users", &[]).await).await;
    assert!(users["items"].as_array().is_some_and(|u| u.len() == 1), "with MFA: {users}");
});

on_both!(an_administrator_assigns_and_removes_a_users_devices, |server| {
    let root = server.setup_and_sign_in().await;
    let admin = admin(server, &root).await;
    server.iam.create_user(&admin, CreateUser { user_name: "carol".into(), ..Default::default() }).await.unwrap();
    let password = "Carol-rides-Camels-58";
    server.iam.create_login_profile(&admin, "carol", &Password::new(password), false).await.unwrap();

    // A virtual device, created after the administrator's own password and enabled for carol.
    let made = [("device_name", "carol-phone"), ("current_password", ROOT_PASSWORD)];
    let created = json(server.call(&root, "create_virtual_mfa", &made).await).await;
    let (secret, serial) = (created["secret"].as_str().unwrap(), created["serial_number"].as_str().unwrap());
    let fields =
        [("user_name", "carol"), ("serial_number", serial), ("code1", &code(secret, -1)), ("code2", &code(secret, 0))];
    let enabled = server.call(&root, "enable_virtual_mfa", &fields).await;
    assert!(location(&enabled).unwrap().starts_with("/users/details/carol?done=mfa&at="), "back to the user's page");
    assert!(json(server.call(&root, "mfa_devices", &[]).await).await.as_array().unwrap().is_empty(), "not root's");

    // A hardware token, by serial number and a hex seed from its seed file.
    let hex = "3132333435363738393031323334353637383930";
    let b32 = Secret::from(b"12345678901234567890".to_vec()).to_base32();
    let token = |c1: String, c2: String, seed: &str, password: &str| {
        let fields = [
            ("user_name", "carol".to_owned()),
            ("serial_number", "GAHT12345678".to_owned()),
            ("seed", seed.to_owned()),
            ("seed_encoding", "hex".to_owned()),
            ("code1", c1),
            ("code2", c2),
            ("current_password", password.to_owned()),
        ];
        let root = root.clone();
        async move { root.post(server.url("/api/enable_hardware_mfa")).form(&fields).send().await.unwrap() }
    };
    let refused = json(token(code(&b32, -1), code(&b32, 0), hex, "not-it").await).await;
    assert_eq!(refused["code"], "InvalidInput", "the administrator's password first");
    let fields = [
        ("user_name", "carol"),
        ("serial_number", "GAHT12345678"),
        ("seed", hex),
        ("seed_encoding", "octal"),
        ("code1", "123456"),
        ("code2", "654321"),
        ("current_password", ROOT_PASSWORD),
    ];
    let refused = json(server.call(&root, "enable_hardware_mfa", &fields).await).await;
    assert_eq!(refused["message"], "The seed format is base32 or hex.");
    let refused = json(token(code(&b32, -1), code(&b32, 0), "31323", ROOT_PASSWORD).await).await;
    assert_eq!(refused["code"], "ValidationError");
    assert!(refused["message"].as_str().unwrap().contains("not hexadecimal"), "{refused}");
    let added = token(code(&b32, -1), code(&b32, 0), hex, ROOT_PASSWORD).await;
    assert!(location(&added).unwrap().starts_with("/users/details/carol?done=hardware&at="));
    let devices = json(server.call(&root, "mfa_devices", &[("user_name", "carol")]).await).await;
    let kinds: Vec<&str> = devices.as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Virtual MFA device", "Hardware TOTP token"]);
    let audit = server.iam.audit_events(&admin, None, None, 200).await.unwrap();
    assert!(!format!("{audit:?}").contains(hex), "the seed is never recorded");

    // The administrator removes the virtual one: it is deleted, not left unassigned.
    let remove = |serial: String| {
        let fields = [
            ("user_name", "carol".to_owned()),
            ("serial_number", serial),
            ("current_password", ROOT_PASSWORD.to_owned()),
        ];
        let root = root.clone();
        async move { root.post(server.url("/api/remove_mfa_device")).form(&fields).send().await.unwrap() }
    };
    let removed = remove(serial.to_owned()).await;
    assert!(location(&removed).unwrap().starts_with("/users/details/carol?done=mfa-removed&at="));
    let all = server.iam.list_virtual_mfa_devices(&admin, iam_core::mfa::AssignmentStatus::Any).await.unwrap();
    assert!(all.is_empty(), "{all:?}");

    // Carol, with the token alone, is asked for a code and signs in with one from it.
    let carol = server.browser();
    assert_eq!(location(&sign_in_user(server, &carol, "carol", password).await).as_deref(), Some("/signin/mfa"));
    let step = json(server.call(&carol, "pending_sign_in", &[]).await).await;
    assert_eq!(step["has_totp"], true, "the code field is offered for a hardware token: {step}");
    let res = server.call(&carol, "sign_in_mfa", &[("code", &code(&b32, 1))]).await;
    assert_eq!(location(&res).as_deref(), Some("/"));
    // She may not manage another user's devices (no IAM permissions at all).
    server.iam.create_user(&admin, CreateUser { user_name: "dave".into(), ..Default::default() }).await.unwrap();
    let theirs = json(server.call(&carol, "mfa_devices", &[("user_name", "dave")]).await).await;
    assert_eq!(theirs["code"], "AccessDenied");

    let removed = remove("GAHT12345678".to_owned()).await;
    assert!(location(&removed).unwrap().starts_with("/users/details/carol?done=mfa-removed&at="));
    assert!(
        json(server.call(&root, "mfa_devices", &[("user_name", "carol")]).await).await.as_array().unwrap().is_empty()
    );
    let page = root.get(server.url("/users/details/carol?tab=security_credentials")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("Register hardware TOTP token") && page.contains("Assign MFA device"), "on the user page");
    // The change comes back to the tab it was made on.
    let back = location(&removed).unwrap();
    let page = root.get(server.url(&back)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"aria-current="page">Security credentials"#), "{back}");
    assert!(page.contains("Assign MFA device") && !page.contains("Permissions policies"), "{back}");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_attempts_from_one_client_are_answered_429() {
    let server = TestServer::start_with(Db::Sqlite, &["--sign-in-rate", "3"]).await.unwrap();
    let client = server.browser();
    server.complete_setup(&client).await;
    for _ in 0..3 {
        let res = sign_in_root(&server, &client, "Wrong-password-1").await;
        assert_eq!(json(res).await["code"], "SignInFailed");
    }
    let res = sign_in_root(&server, &client, ROOT_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=21).contains(&wait), "{wait}");
    let body = json(res).await;
    assert_eq!(body["code"], "Throttling");
    assert!(body["message"].as_str().unwrap().starts_with("Too many sign-in attempts. Try again in"), "{body}");
    server.finish().await;
}

on_both!(repeated_failures_slow_one_user_down_and_are_audited, |server| {
    let root = server.setup_and_sign_in().await;
    let admin = admin(server, &root).await;
    let client = server.browser();
    for _ in 0..=iam_core::sign_in::FREE_FAILURES {
        assert_eq!(json(sign_in_root(server, &client, "Wrong-password-1").await).await["code"], "SignInFailed");
    }
    let held = sign_in_root(server, &client, ROOT_PASSWORD).await;
    assert_eq!(held.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json(held).await["code"], "Throttling");
    let events = server.iam.audit_events(&admin, None, None, 100).await.unwrap();
    let failures: Vec<_> =
        events.iter().filter(|e| e.action == "signin:ConsoleLogin" && e.outcome == "Failure").collect();
    assert!(failures.len() >= 5, "{failures:?}");
    assert!(failures.iter().all(|e| e.source_ip.as_deref() == Some("127.0.0.1")));
    assert!(failures.iter().all(|e| !e.parameters.contains("Wrong-password")), "no password in the log");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(location(&sign_in_root(server, &client, ROOT_PASSWORD).await).as_deref(), Some("/"));
});

on_both!(sessions_are_listed_and_ended_by_their_user_and_administrators, |server| {
    let root = server.setup_and_sign_in().await;
    let admin = admin(server, &root).await;
    let other = server.browser();
    assert_eq!(location(&sign_in_root(server, &other, ROOT_PASSWORD).await).as_deref(), Some("/"));
    let sessions = json(server.call(&root, "my_sessions", &[]).await).await;
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let theirs = sessions.iter().find(|s| s["current"] == false).unwrap();
    let res = server.call(&root, "end_my_session", &[("session_ref", theirs["session_ref"].as_str().unwrap())]).await;
    assert!(location(&res).unwrap().starts_with("/security-credentials?done=session&at="));
    assert_eq!(whoami_code(server, &other).await, "NotSignedIn");
    let page = other.get(server.url("/users")).send().await.unwrap();
    assert!(location(&page).unwrap().starts_with("/signin"), "a page load finds out too");

    // An administrator ends a user's sessions; so does a new password.
    server.iam.create_user(&admin, CreateUser { user_name: "carol".into(), ..Default::default() }).await.unwrap();
    server.iam.create_login_profile(&admin, "carol", &Password::new("Carol-rows-Boats-77"), false).await.unwrap();
    let carol = server.browser();
    sign_in_user(server, &carol, "carol", "Carol-rows-Boats-77").await;
    assert_eq!(whoami_code(server, &carol).await, "user:carol");
    let listed = json(server.call(&root, "user_sessions", &[("user_name", "carol")]).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let res = server.call(&root, "end_user_sessions", &[("user_name", "carol")]).await;
    assert!(location(&res).unwrap().starts_with("/users/details/carol?done=sessions&at="));
    assert_eq!(whoami_code(server, &carol).await, "NotSignedIn");
    sign_in_user(server, &carol, "carol", "Carol-rows-Boats-77").await;
    server.iam.update_login_profile(&admin, "carol", Some(&Password::new("Carol-sails-Ships-78")), None).await.unwrap();
    assert_eq!(whoami_code(server, &carol).await, "NotSignedIn");

    // The root user changes its own password: its other sessions end, this one goes on.
    sign_in_root(server, &other, ROOT_PASSWORD).await;
    let fields = [
        ("current_password", ROOT_PASSWORD),
        ("new_password", "Granite-otter-Lamp-4"),
        ("confirm_password", "Granite-otter-Lamp-4"),
    ];
    let res = server.call(&root, "change_my_password", &fields).await;
    assert!(location(&res).unwrap().starts_with("/security-credentials?done=password&at="));
    assert!(whoami_code(server, &root).await.starts_with("user:"));
    assert_eq!(whoami_code(server, &other).await, "NotSignedIn");
    // Signing out ends the record too: the old cookie is worth nothing.
    server.call(&root, "sign_out", &[]).await;
    assert_eq!(whoami_code(server, &root).await, "NotSignedIn");
});

on_both!(the_password_policy_is_edited_within_aws_ranges, |server| {
    let root = server.setup_and_sign_in().await;
    let default = json(server.call(&root, "password_policy", &[]).await).await;
    assert_eq!(default["custom"], false);
    let fields = |min: &str, age: &str| {
        vec![
            ("minimum_password_length", min.to_owned()),
            ("require_uppercase", "on".to_owned()),
            ("require_numbers", "on".to_owned()),
            ("allow_users_to_change_password", "on".to_owned()),
            ("expire_passwords", "on".to_owned()),
            ("max_password_age", age.to_owned()),
            ("hard_expiry", "on".to_owned()),
            ("prevent_reuse", "on".to_owned()),
            ("password_reuse_prevention", "5".to_owned()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let root = root.clone();
        async move { root.post(server.url("/api/update_password_policy")).form(&f).send().await.unwrap() }
    };
    let short = json(post(fields("5", "90")).await).await;
    assert_eq!(short["code"], "ValidationError");
    assert!(short["message"].as_str().unwrap().contains("between 6 and 128"), "{short}");
    let old = json(post(fields("12", "1096")).await).await;
    assert!(old["message"].as_str().unwrap().contains("between 1 and 1095"), "{old}");
    let nan = json(post(fields("twelve", "90")).await).await;
    assert_eq!(nan["message"], "Minimum password length must be a whole number.");
    let saved = post(fields("12", "90")).await;
    assert!(location(&saved).unwrap().starts_with("/account-settings?done=saved&at="));
    let policy = json(server.call(&root, "password_policy", &[]).await).await;
    assert_eq!(
        (policy["custom"].clone(), policy["minimum_password_length"].clone(), policy["max_password_age"].clone()),
        (Value::Bool(true), Value::from(12), Value::from(90))
    );
    assert_eq!(
        (policy["hard_expiry"].clone(), policy["password_reuse_prevention"].clone()),
        (Value::Bool(true), Value::from(5))
    );
    let check = json(server.call(&root, "check_password", &[("password", "short")]).await).await;
    let unmet = check["unmet"].to_string();
    assert!(unmet.contains("at least 12 characters") && unmet.contains("a number"), "{check}");
    let strong = json(server.call(&root, "check_password", &[("password", "Granite-Otter-Lamp-48")]).await).await;
    assert_eq!(strong["unmet"], serde_json::json!([]));
    assert!(strong["score"].as_u64().unwrap() >= 3, "{strong}");
    let reset = server.call(&root, "delete_password_policy", &[]).await;
    assert!(location(&reset).unwrap().starts_with("/account-settings?done=default&at="));
    assert_eq!(json(server.call(&root, "password_policy", &[]).await).await["custom"], false);
    // Anonymous visitors get no strength oracle.
    let anonymous = json(server.call(&server.browser(), "check_password", &[("password", "x")]).await).await;
    assert_eq!(anonymous["code"], "NotSignedIn");
});

/// The nonce a page's CSP allows, and whether every inline script of the page carries it.
async fn page_nonce(server: &TestServer, path: &str) -> (String, String) {
    let res = reqwest::get(server.url(path)).await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let body = res.text().await.unwrap();
    let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap().to_owned();
    assert!(!script_src.contains("unsafe-inline"), "{csp}");
    let nonce = script_src.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).unwrap().to_owned();
    (nonce, body)
}

on_both!(inline_scripts_run_only_with_this_response_nonce, |server| {
    for path in ["/signin", "/no-such-page"] {
        let (nonce, body) = page_nonce(server, path).await;
        assert!(nonce.len() >= 22, "{nonce}");
        let scripts = body.matches("<script").count();
        assert!(scripts > 0, "{path}: the hydration scripts are inline");
        assert_eq!(body.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "{path}: every script has the nonce");
        let (again, _) = page_nonce(server, path).await;
        assert_ne!(nonce, again, "a new nonce every response");
    }
});

on_both!(a_browser_that_signed_in_before_is_not_held_up_by_strangers, |server| {
    let root = server.setup_and_sign_in().await;
    let stranger = server.browser();
    for _ in 0..=iam_core::sign_in::FREE_FAILURES {
        sign_in_root(server, &stranger, "Wrong-password-1").await;
    }
    assert_eq!(sign_in_root(server, &stranger, ROOT_PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // The root user's own browser carries its device cookie: straight in.
    server.call(&root, "sign_out", &[]).await;
    let res = sign_in_root(server, &root, ROOT_PASSWORD).await;
    assert_eq!(location(&res).as_deref(), Some("/"));
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("portcullis-device="));
    let cookie = cookie.expect("a device cookie").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
});
