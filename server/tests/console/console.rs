use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Db, ROOT_EMAIL, ROOT_PASSWORD, TestServer};
use crate::on_both;

/// The session cookie a response sets (there may be a device cookie beside it).
fn set_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("portcullis=") || c.starts_with("__Host-portcullis="))
        .map(str::to_owned)
}

async fn error_of(res: reqwest::Response) -> Value {
    let text = res.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not a JSON error: {text}"))
}

on_both!(health_and_readiness_answer, |server| {
    let client = reqwest::Client::new();
    let res = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"), "every response names its request");
    let res = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ready");
});

on_both!(the_setup_link_works_once, |server| {
    let client = server.browser();
    let page = client.get(server.url("/setup?token=not-the-token")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("This setup link is no longer valid."));
    let token = server.setup_token();
    let page = client.get(server.url(&format!("/setup?token={token}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Create account"), "the real link shows the form");

    let fields = |alias: &'static str, password: &'static str| {
        vec![
            ("token", token.clone()),
            ("account_alias", alias.to_owned()),
            ("email", ROOT_EMAIL.to_owned()),
            ("password", password.to_owned()),
            ("confirm_password", password.to_owned()),
        ]
    };
    let weak =
        client.post(server.url("/api/complete_setup")).form(&fields("example-corp", "weakpass")).send().await.unwrap();
    assert!(!weak.status().is_success());
    assert_eq!(error_of(weak).await["code"], "PasswordPolicyViolation");

    let ok = client
        .post(server.url("/api/complete_setup"))
        .form(&fields("example-corp", ROOT_PASSWORD))
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_success() || ok.status().is_redirection(), "{}", ok.status());
    let again =
        client.post(server.url("/api/complete_setup")).form(&fields("other-corp", ROOT_PASSWORD)).send().await.unwrap();
    assert_eq!(error_of(again).await["message"], "This setup link is no longer valid.");
    let page = client.get(server.url(&format!("/setup?token={token}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("This setup link is no longer valid."));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_prints_no_link_once_set_up() {
    let server = TestServer::start(Db::Sqlite).await.unwrap();
    assert!(server.setup_link.is_some());
    let server = server.restart().await;
    assert!(server.setup_link.is_some(), "still not set up: a new link");
    server.setup_and_sign_in().await;
    let server = server.restart().await;
    assert!(server.setup_link.is_none());
    let key = server.data_dir.join("secret.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    server.finish().await;
}

on_both!(sign_in_failures_all_look_alike, |server| {
    let root = server.setup_and_sign_in().await;
    let create = server
        .call(
            &root,
            "create_user",
            &[("user_name", "alice"), ("console_access", "on"), ("console_password", "Alice-password-1")],
        )
        .await;
    assert!(create.status().is_success() || create.status().is_redirection());

    let client = server.browser();
    let attempts: [&[(&str, &str)]; 5] = [
        &[("kind", "root"), ("email", ROOT_EMAIL), ("password", "Wrong-password-1")],
        &[("kind", "root"), ("email", "nobody@example.com"), ("password", ROOT_PASSWORD)],
        &[("kind", "iam"), ("account", "example-corp"), ("user_name", "alice"), ("password", "Wrong-password-1")],
        &[("kind", "iam"), ("account", "example-corp"), ("user_name", "nobody"), ("password", "Alice-password-1")],
        &[("kind", "iam"), ("account", "no-such-corp"), ("user_name", "alice"), ("password", "Alice-password-1")],
    ];
    let mut bodies = Vec::new();
    for fields in attempts {
        let res = server.call(&client, "sign_in", fields).await;
        assert!(set_cookie(&res).is_none(), "a failed sign-in starts no session");
        bodies.push((res.status(), res.text().await.unwrap()));
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert!(bodies[0].1.contains("Your authentication information is incorrect. Please try again."));

    let ok = server
        .call(
            &client,
            "sign_in",
            &[("kind", "iam"), ("account", "EXAMPLE-CORP"), ("user_name", "alice"), ("password", "Alice-password-1")],
        )
        .await;
    assert!(ok.status().is_success() || ok.status().is_redirection(), "{}", ok.status());
});

on_both!(sessions_are_cycled_protected_and_ended, |server| {
    let client = server.browser();
    server.complete_setup(&client).await;
    let signed_out = client.get(server.url("/users?filter=a")).send().await.unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_out.headers()["location"], "/signin?return_to=/users%3Ffilter%3Da");

    let res =
        server.call(&client, "sign_in", &[("kind", "root"), ("email", ROOT_EMAIL), ("password", ROOT_PASSWORD)]).await;
    let cookie = set_cookie(&res).expect("a session cookie");
    assert!(cookie.starts_with("portcullis="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");

    let home = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    for header in ["content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"] {
        assert!(home.headers().contains_key(header), "missing {header}");
    }
    assert_eq!(home.headers()["cache-control"], "no-store");
    let who = server.call(&client, "whoami", &[]).await;
    let who: Value = who.json().await.unwrap();
    assert_eq!(who["display_name"], ROOT_EMAIL);
    assert_eq!(who["is_root"], true);

    // A second sign-in in the same browser gets a new session id.
    let again =
        server.call(&client, "sign_in", &[("kind", "root"), ("email", ROOT_EMAIL), ("password", ROOT_PASSWORD)]).await;
    let cycled = set_cookie(&again).expect("a cycled cookie");
    assert_ne!(cookie.split(';').next(), cycled.split(';').next());

    let res = server.call(&client, "sign_out", &[]).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(client.get(server.url("/")).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    let who = server.call(&client, "whoami", &[]).await;
    assert_eq!(error_of(who).await["code"], "NotSignedIn");

    // The old cookie, replayed by hand, is dead too.
    let replay = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let old = cycled.split(';').next().unwrap().to_owned();
    let res = replay.get(server.url("/")).header("cookie", old).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
});

on_both!(cross_site_and_oversized_requests_are_refused, |server| {
    let plain = reqwest::Client::new();
    let fields = [("kind", "root"), ("email", ROOT_EMAIL), ("password", ROOT_PASSWORD)];
    let cross = plain
        .post(server.url("/api/sign_in"))
        .header("sec-fetch-site", "cross-site")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let bare = plain.post(server.url("/api/sign_in")).form(&fields).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    let foreign = plain
        .post(server.url("/api/sign_in"))
        .header("origin", "https://evil.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let own = plain
        .post(server.url("/api/sign_in"))
        .header("origin", format!("http://localhost:{}", server.addr.port()))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_ne!(own.status(), StatusCode::FORBIDDEN, "the console's own origin passes");

    let big = "x".repeat(2 * 1024 * 1024);
    let res = server
        .browser()
        .post(server.url("/api/sign_in"))
        .form(&[("kind", "root"), ("email", big.as_str())])
        .send()
        .await;
    // The server answers 413 from the Content-Length alone and may close the connection before
    // the client has written the body, which the client then reports as a broken pipe.
    match res {
        Ok(res) => assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    let health = plain.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "the server lives on");
    let raw = raw_post_status(server.addr, "/api/sign_in", 2 * 1024 * 1024).await;
    assert_eq!(raw, 413);
});

on_both!(the_users_slice_works_over_http, |server| {
    let root = server.setup_and_sign_in().await;
    let res = server
        .call(
            &root,
            "create_user",
            &[
                ("user_name", "bob"),
                ("path", "/ops/"),
                ("tags[0][key]", "team"),
                ("tags[0][value]", "platform"),
                ("tags[1][key]", ""),
                ("tags[1][value]", ""),
            ],
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let dup = server.call(&root, "create_user", &[("user_name", "BOB")]).await;
    let dup = error_of(dup).await;
    assert_eq!(dup["code"], "EntityAlreadyExists");
    assert_eq!(dup["message"], "User with name BOB already exists.");
    let bad = error_of(server.call(&root, "create_user", &[("user_name", "no spaces")]).await).await;
    assert_eq!(bad["code"], "ValidationError");

    let list: Value = server.call(&root, "list_users", &[("filter", "O")]).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["user_name"], "bob");
    assert_eq!(list["items"][0]["groups"]["Ok"], 0);
    assert_eq!(list["items"][0]["mfa"]["Ok"], serde_json::json!([]));
    let user: Value = server.call(&root, "get_user", &[("user_name", "bob")]).await.json().await.unwrap();
    assert_eq!(user["path"], "/ops/");
    assert_eq!(user["tags"], serde_json::json!([{ "key": "team", "value": "platform" }]));

    let page = root.get(server.url("/users/details/bob")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(":user/ops/bob"), "the detail page renders on the server");
    let page = root.get(server.url("/users")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("href=\"/users/details/bob\""));
    // A user may be named like one of the section's pages; its page is still its own.
    let made: Value = server.call(&root, "create_user", &[("user_name", "create")]).await.json().await.unwrap();
    assert_eq!(made["user_name"], "create");
    let page = root.get(server.url("/users/details/create")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(":user/create"), "the user named `create` has its page");

    let unconfirmed =
        error_of(server.call(&root, "delete_user", &[("user_name", "bob"), ("confirmation", "bo")]).await).await;
    assert_eq!(unconfirmed["code"], "ValidationError");
    let res = server.call(&root, "delete_user", &[("user_name", "bob"), ("confirmation", "bob")]).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let gone = error_of(server.call(&root, "get_user", &[("user_name", "bob")]).await).await;
    assert_eq!(gone["code"], "NoSuchEntity");
    assert_eq!(gone["message"], "The user with name bob cannot be found.");

    // The list: sorted by another column, a page size from those offered, and bulk delete.
    for name in ["u-1", "u-2", "u-3"] {
        server.call(&root, "create_user", &[("user_name", name)]).await;
    }
    let newest: Value = server
        .call(&root, "list_users", &[("sort", "created"), ("desc", "true"), ("size", "50")])
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> =
        newest["items"].as_array().unwrap().iter().map(|u| u["user_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["u-3", "u-2", "u-1", "create"]);
    let fields = [("names[0]", "u-1"), ("names[4]", "U-2"), ("names[7]", "nobody"), ("confirmation", "delete")];
    let partial = error_of(server.call(&root, "delete_users", &fields).await).await;
    assert_eq!(partial["code"], "NoSuchEntity");
    assert!(partial["message"].as_str().unwrap().starts_with("Deleted u-1, U-2. Not deleted: nobody:"), "{partial}");
    let fields = [("names[0]", "u-3"), ("confirmation", "delete")];
    let res = server.call(&root, "delete_users", &fields).await;
    let back = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap();
    assert!(back.starts_with("/users?deleted=u-3&done=users-deleted"), "{back}");
    let left: Value = server.call(&root, "list_users", &[]).await.json().await.unwrap();
    assert_eq!(left["total"], 1, "{left}");
});

on_both!(the_create_user_wizard_copies_permissions_and_reports_what_it_could_not_do, |server| {
    let root = server.setup_and_sign_in().await;
    let readonly = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    // The template: a group, a managed policy, an inline policy.
    server.call(&root, "create_group", &[("group_name", "devs")]).await;
    let fields = [("user_name", "tpl"), ("permissions", "policies"), ("policies[0]", readonly), ("boundary", readonly)];
    let made: Value = server.call(&root, "create_user", &fields).await.json().await.unwrap();
    assert_eq!(made["done"], serde_json::json!(["Attach policy IAMReadOnlyAccess"]), "{made}");
    assert_eq!(made["console_password"], Value::Null);
    server.call(&root, "add_user_to_groups", &[("user_name", "tpl"), ("groups[0]", "devs")]).await;
    let document =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;
    let fields = [
        ("entity_kind", "user"),
        ("entity_name", "tpl"),
        ("policy_name", "buckets"),
        ("policy_document", document),
        ("create", "true"),
    ];
    server.call(&root, "put_inline_policy", &fields).await;

    // A copy with an autogenerated password: groups, policies and the boundary, as AWS copies.
    let fields = [
        ("user_name", "copy"),
        ("console_access", "on"),
        ("password_kind", "autogenerated"),
        ("permissions", "copy"),
        ("copy_from", "tpl"),
    ];
    let made: Value = server.call(&root, "create_user", &fields).await.json().await.unwrap();
    assert_eq!(
        made["done"],
        serde_json::json!([
            "Enable console access",
            "Add to group devs",
            "Attach policy IAMReadOnlyAccess",
            "Add inline policy buckets"
        ]),
        "{made}"
    );
    assert_eq!(made["failed"], serde_json::json!([]));
    assert_eq!(made["password_generated"], true);
    assert_eq!(made["password_reset_required"], false);
    assert!(made["sign_in_url"].as_str().unwrap().ends_with("/signin?account=example-corp"), "{made}");
    let password = made["console_password"].as_str().unwrap().to_owned();
    assert_eq!(password.chars().count(), 20);
    let granted: Value = server.call(&root, "user_permissions", &[("user_name", "copy")]).await.json().await.unwrap();
    let names: Vec<&str> =
        granted["policies"].as_array().unwrap().iter().map(|p| p["policy_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["IAMReadOnlyAccess", "buckets"], "{granted}");
    let boundary: Value = server
        .call(&root, "permissions_boundary", &[("entity_kind", "user"), ("entity_name", "copy")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(boundary, readonly, "the boundary is copied");
    // The password it was shown signs in.
    let client = server.browser();
    let fields = [("kind", "iam"), ("account", "example-corp"), ("user_name", "copy"), ("password", password.as_str())];
    let res = server.call(&client, "sign_in", &fields).await;
    assert!(set_cookie(&res).is_some(), "the generated password signs in: {}", res.status());

    // A policy that cannot be attached does not undo the user: it is reported with AWS's code.
    let fields =
        [("user_name", "partly"), ("permissions", "policies"), ("policies[0]", "arn:aws:iam::aws:policy/NoSuchPolicy")];
    let made: Value = server.call(&root, "create_user", &fields).await.json().await.unwrap();
    assert_eq!(made["failed"][0]["step"], "Attach policy NoSuchPolicy", "{made}");
    assert_eq!(made["failed"][0]["code"], "NoSuchEntity");
    let user = server.call(&root, "get_user", &[("user_name", "partly")]).await;
    assert!(user.status().is_success());

    // What can be known before the user exists is checked first: nothing is made.
    let fields = [("user_name", "orphan"), ("permissions", "copy"), ("copy_from", "nobody")];
    let refused = error_of(server.call(&root, "create_user", &fields).await).await;
    assert_eq!(refused["code"], "NoSuchEntity", "{refused}");
    let fields = [("user_name", "orphan"), ("permissions", "copy")];
    assert_eq!(error_of(server.call(&root, "create_user", &fields).await).await["code"], "ValidationError");
    let fields =
        [("user_name", "orphan"), ("console_access", "on"), ("password_kind", "custom"), ("console_password", "short")];
    assert_eq!(error_of(server.call(&root, "create_user", &fields).await).await["code"], "PasswordPolicyViolation");
    // A plain form post (no wasm) could never show a made-up password.
    let res = server
        .plain_post(
            &root,
            "create_user",
            &[("user_name", "orphan"), ("console_access", "on"), ("password_kind", "autogenerated")],
        )
        .await;
    let to = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(!to.starts_with("/users/details/"), "refused, not sent to a user's page: {to}");
    let gone = error_of(server.call(&root, "get_user", &[("user_name", "orphan")]).await).await;
    assert_eq!(gone["code"], "NoSuchEntity");
    // With a typed password it works, and the user's page says how it went.
    let res = server
        .plain_post(
            &root,
            "create_user",
            &[("user_name", "plain"), ("console_access", "on"), ("console_password", "Plain-password-9!x")],
        )
        .await;
    let to = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(to.starts_with("/users/details/plain?done=user-created&"), "{to}");
    assert!(!res.text().await.unwrap().contains("Plain-password-9!x"), "the password is not sent back");
    // The page without the wasm shows every step: what is chosen under any option is taken.
    let res = server
        .plain_post(
            &root,
            "create_user",
            &[("user_name", "plain2"), ("permissions", "groups"), ("policies[0]", readonly)],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let granted: Value = server.call(&root, "user_permissions", &[("user_name", "plain2")]).await.json().await.unwrap();
    assert_eq!(granted["policies"][0]["policy_name"], "IAMReadOnlyAccess", "{granted}");
});

on_both!(iam_users_see_access_denied, |server| {
    let root = server.setup_and_sign_in().await;
    server
        .call(
            &root,
            "create_user",
            &[("user_name", "carol"), ("console_access", "on"), ("console_password", "Carol-password-1")],
        )
        .await;
    let carol = server.browser();
    let res = server
        .call(
            &carol,
            "sign_in",
            &[("kind", "iam"), ("account", "example-corp"), ("user_name", "carol"), ("password", "Carol-password-1")],
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let who: Value = server.call(&carol, "whoami", &[]).await.json().await.unwrap();
    assert_eq!(who["display_name"], "carol");
    let denied = error_of(server.call(&carol, "list_users", &[]).await).await;
    assert_eq!(denied["code"], "AccessDenied");
    assert!(denied["message"].as_str().unwrap().contains(":user/carol is not authorized to perform: iam:ListUsers"));

    // Deleting carol ends her console session at its next request.
    server.call(&root, "delete_user", &[("user_name", "carol"), ("confirmation", "carol")]).await;
    assert_eq!(error_of(server.call(&carol, "whoami", &[]).await).await["code"], "NotSignedIn");
});

on_both!(inline_policies_are_created_edited_and_removed_from_the_console, |server| {
    let root = server.setup_and_sign_in().await;
    server.call(&root, "create_user", &[("user_name", "dana")]).await;
    let allow = |action: &str| {
        format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#)
    };
    let put = |name: &'static str, document: String, create: bool| {
        let root = root.clone();
        async move {
            let mut fields = vec![
                ("entity_kind", "user".to_owned()),
                ("entity_name", "dana".to_owned()),
                ("policy_name", name.to_owned()),
                ("policy_document", document),
            ];
            if create {
                fields.push(("create", "true".to_owned()));
            }
            root.post(server.url("/api/put_inline_policy")).form(&fields).send().await.unwrap()
        }
    };
    let res = put("read", allow("iam:GetUser"), true).await;
    assert_eq!(res.status(), StatusCode::OK);
    let back = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap();
    assert!(back.starts_with("/users/details/dana?done=policy-saved&at="), "back to the user's page: {back}");

    // A new policy never overwrites one of the same name; an edit does.
    let dup = error_of(put("READ", allow("iam:ListUsers"), true).await).await;
    assert_eq!(dup["code"], "EntityAlreadyExists");
    assert_eq!(put("read", allow("iam:ListUsers"), false).await.status(), StatusCode::OK);
    // AWS's messages for a bad document, and the sum of a user's inline policies.
    let malformed = error_of(put("bad", r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned(), true).await).await;
    assert_eq!(malformed["code"], "MalformedPolicyDocument");
    let big = allow(&format!("iam:{}", "A".repeat(2_000)));
    let too_big = error_of(put("big", big, true).await).await;
    assert_eq!(too_big["code"], "LimitExceeded", "{too_big}");

    let fields = [("entity_kind", "user"), ("entity_name", "dana")];
    let listed: Value = server.call(&root, "inline_policies", &fields).await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["policy_name"], "read");
    assert!(listed[0]["document"]["Ok"].as_str().unwrap().contains("iam:ListUsers"), "the edit was kept");
    let odd = error_of(server.call(&root, "inline_policies", &[("entity_kind", "bucket"), ("entity_name", "x")]).await);
    assert_eq!(odd.await["code"], "ValidationError");

    let removed = [("entity_kind", "user"), ("entity_name", "dana"), ("policy_name", "read")];
    assert_eq!(server.call(&root, "delete_inline_policy", &removed).await.status(), StatusCode::OK);
    let again = error_of(server.call(&root, "delete_inline_policy", &removed).await).await;
    assert_eq!(again["code"], "NoSuchEntity");
    let listed: Value = server.call(&root, "inline_policies", &fields).await.json().await.unwrap();
    assert_eq!(listed, serde_json::json!([]));
});

on_both!(the_account_alias_names_the_absolute_sign_in_url, |server| {
    let root = server.setup_and_sign_in().await;
    // The public origin on loopback names `localhost` (WebAuthn wants a host name).
    let origin = server.url("").replace("127.0.0.1", "localhost");
    let origin = origin.trim_end_matches('/');
    let shown: Value = server.call(&root, "account_alias", &[]).await.json().await.unwrap();
    assert_eq!(shown["alias"], "example-corp");
    assert_eq!(shown["sign_in_url"], format!("{origin}/signin?account=example-corp"));
    let account_id = shown["account_id"].as_str().unwrap().to_owned();

    let res = server.call(&root, "set_account_alias", &[("alias", "new-corp")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let back = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap();
    assert!(back.starts_with("/account-settings?done=alias&at="), "{back}");
    let who: Value = server.call(&root, "whoami", &[]).await.json().await.unwrap();
    assert_eq!(who["sign_in_url"], format!("{origin}/signin?account=new-corp"), "the dashboard's URL follows");
    let bad = error_of(server.call(&root, "set_account_alias", &[("alias", "Not--ok")]).await).await;
    assert_eq!(bad["code"], "ValidationError");

    let wrong = error_of(server.call(&root, "delete_account_alias", &[("alias", "example-corp")]).await).await;
    assert_eq!(wrong["code"], "NoSuchEntity", "only the alias there is");
    let res = server.call(&root, "delete_account_alias", &[("alias", "new-corp")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let shown: Value = server.call(&root, "account_alias", &[]).await.json().await.unwrap();
    assert_eq!(shown["alias"], Value::Null);
    assert_eq!(shown["sign_in_url"], format!("{origin}/signin?account={account_id}"), "the account id without one");
});

on_both!(access_keys_are_created_once_described_deactivated_and_deleted, |server| {
    let root = server.setup_and_sign_in().await;
    server.call(&root, "create_user", &[("user_name", "kim")]).await;
    let made = server.call(&root, "create_access_key", &[("user_name", "kim"), ("description", "ci runner")]).await;
    let made: Value = made.json().await.unwrap();
    let (id, secret) = (made["access_key_id"].as_str().unwrap(), made["secret_access_key"].as_str().unwrap());
    assert!(id.starts_with("AKIA") && secret.len() == 40, "{made}");
    assert_eq!(made["description_error"], Value::Null);

    let listed: Value = server.call(&root, "access_keys", &[("user_name", "kim")]).await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["access_key_id"], id);
    assert_eq!((&listed[0]["status"], &listed[0]["description"]), (&Value::from("Active"), &Value::from("ci runner")));
    assert_eq!(listed[0]["last_used"], Value::Null, "never used");
    assert!(!listed.to_string().contains(secret), "the secret is answered once only");
    let user: Value = server.call(&root, "get_user", &[("user_name", "kim")]).await.json().await.unwrap();
    assert_eq!(user["tags"], serde_json::json!([{ "key": id, "value": "ci runner" }]), "kept as AWS keeps it");

    // Refused before a key exists: a description a tag cannot hold; a plain form post (the page not
    // yet interactive), whose answer, the secret, the browser would never show; root's description.
    let bad = [("user_name", "kim"), ("description", "Bob's laptop!")];
    assert_eq!(error_of(server.call(&root, "create_access_key", &bad).await).await["code"], "ValidationError");
    let plain = root
        .post(server.url("/api/create_access_key"))
        .header("accept", "text/html")
        .form(&[("user_name", "kim")])
        .send()
        .await
        .unwrap();
    assert!(!plain.status().is_success() || plain.status().is_redirection(), "{}", plain.status());
    let root_described = error_of(server.call(&root, "create_access_key", &[("description", "mine")]).await).await;
    assert_eq!(root_described["code"], "ValidationError");
    let listed: Value = server.call(&root, "access_keys", &[("user_name", "kim")]).await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "none of those made a key");

    server.call(&root, "create_access_key", &[("user_name", "kim")]).await;
    let third = error_of(server.call(&root, "create_access_key", &[("user_name", "kim")]).await).await;
    assert_eq!(third["code"], "LimitExceeded");

    let off = [("user_name", "kim"), ("access_key_id", id), ("status", "Inactive")];
    let res = server.call(&root, "set_access_key_status", &off).await;
    let back = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap();
    assert!(back.starts_with("/users/details/kim?done=key-deactivated&at="), "{back}");
    let odd = error_of(server.call(&root, "set_access_key_status", &[("access_key_id", id), ("status", "Off")]).await);
    assert_eq!(odd.await["code"], "ValidationError");
    let unconfirmed = [("user_name", "kim"), ("access_key_id", id), ("confirmation", "AKIA")];
    assert_eq!(error_of(server.call(&root, "delete_access_key", &unconfirmed).await).await["code"], "ValidationError");
    let confirmed = [("user_name", "kim"), ("access_key_id", id), ("confirmation", id)];
    assert_eq!(server.call(&root, "delete_access_key", &confirmed).await.status(), StatusCode::OK);
    let listed: Value = server.call(&root, "access_keys", &[("user_name", "kim")]).await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "the second key stays");
    let user: Value = server.call(&root, "get_user", &[("user_name", "kim")]).await.json().await.unwrap();
    assert_eq!(user["tags"], serde_json::json!([]), "its description went with it");
    // Root's own keys: no user, no tags.
    let own: Value = server.call(&root, "access_keys", &[]).await.json().await.unwrap();
    assert_eq!(own, serde_json::json!([]));
});

/// Sends only the head of a POST with a large Content-Length and reads the status line.
async fn raw_post_status(addr: std::net::SocketAddr, path: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nSec-Fetch-Site: same-origin\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64];
    let n = stream.read(&mut buf).await.unwrap();
    let line = String::from_utf8_lossy(&buf[..n]).to_string();
    line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_client_address_is_audited_and_request_ids_are_the_servers() {
    let server = TestServer::start_with(Db::Sqlite, &["--trusted-proxies", "127.0.0.1/32,10.0.0.0/8"]).await.unwrap();
    let client = server.setup_and_sign_in().await;
    // The proxy (this test, on 127.0.0.1) says who the client is; the client tried to plant a hop
    // on the left, and its own request id.
    let res = client
        .post(server.url("/api/create_user"))
        .header("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.7")
        .header("x-request-id", "client-chosen-id")
        .header("user-agent", "proxy-test/1.0")
        .form(&[("user_name", "alice")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let answered = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(answered, "client-chosen-id", "the server names its requests");
    let url = format!("sqlite://{}", server.data_dir.join("portcullis.db").display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let (ip, request_id, client_id): (Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT source_ip, request_id, client_request_id FROM audit_events WHERE action = 'iam:CreateUser'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(ip.as_deref(), Some("203.0.113.9"), "the right-most hop that is not a trusted proxy");
    assert_eq!(request_id.as_deref(), Some(answered.as_str()));
    assert_eq!(client_id.as_deref(), Some("client-chosen-id"), "kept apart");

    // Not from a trusted proxy (no option given): the peer, whatever the header says.
    let plain = TestServer::start(Db::Sqlite).await.unwrap();
    let client = plain.setup_and_sign_in().await;
    let res = client
        .post(plain.url("/api/create_user"))
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-request-id", "bad id with spaces")
        .form(&[("user_name", "bob")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let url = format!("sqlite://{}", plain.data_dir.join("portcullis.db").display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let (ip, client_id): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT source_ip, client_request_id FROM audit_events WHERE action = 'iam:CreateUser'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(client_id, None, "a malformed client id is not kept");
    server.finish().await;
    plain.finish().await;
}

on_both!(groups_are_listed_created_with_members_and_policies_and_deleted_in_bulk, |server| {
    let root = server.setup_and_sign_in().await;
    for user in ["ann", "ben"] {
        server.call(&root, "create_user", &[("user_name", user)]).await;
    }
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    // One form creates the group, adds its users and attaches its policies (sparse indices, as
    // the picker's checkboxes send them).
    let fields = [("group_name", "readers"), ("users[0]", "ann"), ("users[3]", "ben"), ("policies[2]", read_only)];
    let res = server.call(&root, "create_group", &fields).await;
    assert_eq!(res.status(), StatusCode::OK);
    let back = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap();
    assert!(back.starts_with("/groups/details/readers?done=group-created&at="), "{back}");
    let group: Value = server.call(&root, "group_details", &[("group_name", "readers")]).await.json().await.unwrap();
    let members: Vec<&str> =
        group["users"].as_array().unwrap().iter().map(|u| u["user_name"].as_str().unwrap()).collect();
    assert_eq!(members, ["ann", "ben"]);
    let attached: Value = server
        .call(&root, "attached_policies", &[("entity_kind", "group"), ("entity_name", "readers")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(attached[0]["policy_arn"], read_only);
    assert_eq!(attached[0]["aws_managed"], true);

    // What could not be done is said, with the group made anyway (AWS's console does the same).
    let partial =
        error_of(server.call(&root, "create_group", &[("group_name", "writers"), ("users[0]", "nobody")]).await);
    let partial = partial.await;
    assert_eq!(partial["code"], "NoSuchEntity");
    assert!(
        partial["message"].as_str().unwrap().starts_with("Group writers was created, but not all of it: nobody:"),
        "{partial}"
    );
    let dup = error_of(server.call(&root, "create_group", &[("group_name", "READERS")]).await).await;
    assert_eq!(dup["code"], "EntityAlreadyExists");
    let bad = error_of(server.call(&root, "create_group", &[("group_name", "no spaces")]).await).await;
    assert_eq!(bad["code"], "ValidationError");

    // The list: counts per row, the filter, the sort, and pages cut on the server.
    for i in 0..21 {
        server.call(&root, "create_group", &[("group_name", &format!("team-{i:02}"))]).await;
    }
    let list = |fields: &'static [(&'static str, &'static str)]| {
        let root = root.clone();
        async move { server.call(&root, "list_groups", fields).await.json::<Value>().await.unwrap() }
    };
    let first = list(&[]).await;
    assert_eq!((first["total"].as_u64(), first["pages"].as_u64()), (Some(23), Some(2)));
    assert_eq!(first["items"][0]["group_name"], "readers");
    assert_eq!(first["items"][0]["users"]["Ok"], 2);
    assert_eq!(first["items"][0]["policies"]["Ok"], 1);
    let filtered = list(&[("filter", "RITE")]).await;
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["items"][0]["group_name"], "writers");
    let newest = list(&[("sort", "created"), ("desc", "true")]).await;
    assert_eq!(newest["items"][0]["group_name"], "team-20");
    let last = list(&[("page", "9")]).await;
    assert_eq!(
        (last["page"].as_u64(), last["items"].as_array().unwrap().len()),
        (Some(2), 3),
        "clamped to the last page"
    );

    // Members: removed in a batch; a user not in the group is named in the error.
    let res = server.call(&root, "remove_users_from_group", &[("group_name", "readers"), ("names[1]", "ben")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let gone = server.call(&root, "remove_users_from_group", &[("group_name", "readers"), ("names[0]", "ben")]).await;
    let gone = error_of(gone).await;
    assert_eq!(gone["code"], "NoSuchEntity");
    let none = error_of(server.call(&root, "add_users_to_group", &[("group_name", "readers")]).await).await;
    assert_eq!(none["code"], "ValidationError");

    // Bulk delete wants the word, then takes each group with its members and policies.
    let unconfirmed = [("names[0]", "readers"), ("names[5]", "writers"), ("confirmation", "yes")];
    let unconfirmed = error_of(server.call(&root, "delete_groups", &unconfirmed).await).await;
    assert_eq!(unconfirmed["code"], "ValidationError");
    // The same group named twice (IAM names ignore case) is deleted once, not refused the second time.
    let fields =
        [("names[0]", "readers"), ("names[2]", "READERS"), ("names[5]", "writers"), ("confirmation", "delete")];
    let res = server.call(&root, "delete_groups", &fields).await;
    assert_eq!(res.status(), StatusCode::OK);
    let back = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap();
    assert!(back.starts_with("/groups?deleted=readers&deleted=writers&done=groups-deleted"), "{back}");
    let left = list(&[]).await;
    assert_eq!(left["total"], 21);
    let entities: Value = server
        .call(&root, "attached_policies", &[("entity_kind", "user"), ("entity_name", "ann")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(entities, serde_json::json!([]), "ann keeps nothing of the group");

    // One group from its page: the name must be typed.
    let wrong =
        error_of(server.call(&root, "delete_group", &[("group_name", "team-00"), ("confirmation", "team")]).await);
    assert_eq!(wrong.await["code"], "ValidationError");
    let res = server.call(&root, "delete_group", &[("group_name", "team-00"), ("confirmation", "team-00")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let missing = error_of(server.call(&root, "group_details", &[("group_name", "team-00")]).await).await;
    assert_eq!(missing["code"], "NoSuchEntity");

    // A field missing or not of its type is the caller's mistake: 400 and AWS's code, not a 500.
    let res = server.call(&root, "list_groups", &[("page", "-1")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(res).await["code"], "ValidationError");
    let res = server.call(&root, "delete_group", &[("group_name", "team-01")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // A delegate allowed to delete only some groups: the others are named with AWS's refusal,
    // the allowed one is gone, and the list says so.
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*Group*","iam:ListUsers"],
        "Resource":"*"},{"Effect":"Deny","Action":"iam:DeleteGroup","Resource":"arn:aws:iam::*:group/team-02"}]}"#;
    server
        .call(
            &root,
            "create_user",
            &[("user_name", "del"), ("console_access", "on"), ("console_password", "Del-password-9!x")],
        )
        .await;
    let fields = [("entity_kind", "user"), ("entity_name", "del"), ("policy_name", "p"), ("policy_document", policy)];
    assert_eq!(server.call(&root, "put_inline_policy", &fields).await.status(), StatusCode::OK);
    let del = server.browser();
    let fields = [
        ("kind", "iam"),
        ("account", "example-corp"),
        ("user_name", "del"),
        ("password", "Del-password-9!x"),
        ("return_to", ""),
    ];
    let signed = server.call(&del, "sign_in", &fields).await;
    assert!(signed.status().is_success() || signed.status().is_redirection(), "{}", signed.status());
    let fields = [("names[0]", "team-01"), ("names[1]", "team-02"), ("confirmation", "delete")];
    let partial = error_of(server.call(&del, "delete_groups", &fields).await).await;
    assert_eq!(partial["code"], "AccessDenied", "{partial}");
    let message = partial["message"].as_str().unwrap();
    assert!(message.starts_with("Deleted team-01. Not deleted: team-02: "), "{message}");
    assert!(message.contains("iam:DeleteGroup"), "{message}");
    let left = list(&[("filter", "team-0")]).await;
    let names: Vec<&str> =
        left["items"].as_array().unwrap().iter().map(|g| g["group_name"].as_str().unwrap()).collect();
    assert_eq!(names[..2], ["team-02", "team-03"]);
});

on_both!(managed_policies_are_attached_and_detached_and_offered_by_name, |server| {
    let root = server.setup_and_sign_in().await;
    server.call(&root, "create_user", &[("user_name", "cy")]).await;
    let offered: Value = server.call(&root, "policy_choices", &[("filter", "iamread")]).await.json().await.unwrap();
    assert_eq!(offered[0]["policy_name"], "IAMReadOnlyAccess", "{offered}");
    let arn = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    let fields = [("entity_kind", "user"), ("entity_name", "cy"), ("policies[4]", arn)];
    let res = server.call(&root, "attach_policies", &fields).await;
    assert_eq!(res.status(), StatusCode::OK);
    let back = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap();
    assert!(back.starts_with("/users/details/cy?done=policies-attached"), "{back}");
    let bogus = [("entity_kind", "user"), ("entity_name", "cy"), ("policies[0]", "arn:aws:iam::aws:policy/Nope")];
    let bogus = error_of(server.call(&root, "attach_policies", &bogus).await).await;
    assert_eq!(bogus["code"], "NoSuchEntity");
    let fields = [("entity_kind", "user"), ("entity_name", "cy"), ("policy_arn", arn)];
    assert_eq!(server.call(&root, "detach_policy", &fields).await.status(), StatusCode::OK);
    let again = error_of(server.call(&root, "detach_policy", &fields).await).await;
    assert_eq!(again["code"], "NoSuchEntity");
});

on_both!(a_user_joins_and_leaves_groups_from_its_page, |server| {
    let root = server.setup_and_sign_in().await;
    server.call(&root, "create_user", &[("user_name", "dee")]).await;
    for group in ["ops", "devs"] {
        server.call(&root, "create_group", &[("group_name", group)]).await;
    }
    let offered: Value = server.call(&root, "group_choices", &[("filter", "OP")]).await.json().await.unwrap();
    assert_eq!(offered.as_array().unwrap().len(), 1);
    assert_eq!(offered[0]["group_name"], "ops");
    let fields = [("user_name", "dee"), ("groups[0]", "ops"), ("groups[2]", "devs"), ("groups[3]", "ops")];
    let res = server.call(&root, "add_user_to_groups", &fields).await;
    assert_eq!(res.status(), StatusCode::OK);
    let back = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap();
    assert!(back.starts_with("/users/details/dee?done=groups-joined"), "{back}");
    let groups: Value = server.call(&root, "groups_for_user", &[("user_name", "dee")]).await.json().await.unwrap();
    let names: Vec<&str> = groups.as_array().unwrap().iter().map(|g| g["group_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["devs", "ops"]);
    // Part of a batch failing says which part, and the rest is done.
    let fields = [("user_name", "dee"), ("groups[0]", "ops"), ("groups[1]", "nope")];
    let partial = error_of(server.call(&root, "remove_user_from_groups", &fields).await).await;
    assert_eq!(partial["code"], "NoSuchEntity");
    assert!(partial["message"].as_str().unwrap().starts_with("Not removed from every group. nope:"), "{partial}");
    let groups: Value = server.call(&root, "groups_for_user", &[("user_name", "dee")]).await.json().await.unwrap();
    assert_eq!(groups[0]["group_name"], "devs");
    assert_eq!(groups.as_array().unwrap().len(), 1);
    let none = error_of(server.call(&root, "add_user_to_groups", &[("user_name", "dee")]).await).await;
    assert_eq!(none["code"], "ValidationError");
    // A batch is at most 50 names: each is a write of its own.
    let many: Vec<(String, String)> = (0..51).map(|i| (format!("groups[{i}]"), format!("g{i}"))).collect();
    let mut fields: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    fields.push(("user_name", "dee"));
    let too_many = error_of(server.call(&root, "add_user_to_groups", &fields).await).await;
    assert_eq!(
        (too_many["code"].as_str(), too_many["message"].as_str()),
        (Some("ValidationError"), Some("Choose at most 50 at once."))
    );
});

on_both!(roles_are_created_for_each_kind_of_trusted_entity_changed_and_deleted, |server| {
    let root = server.setup_and_sign_in().await;
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    let location =
        |res: &reqwest::Response| res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    // A service: the form's choice becomes AWS's trust policy; policies, boundary, details and tags in one form.
    let fields = [
        ("role[role_name]", "web"),
        ("role[description]", "Web servers"),
        ("role[max_session_seconds]", "14400"),
        ("trust[entity]", "service"),
        ("trust[service]", "ec2.amazonaws.com"),
        ("policies[3]", read_only),
        ("boundary", "arn:aws:iam::aws:policy/PowerUserAccess"),
        ("tags[0][key]", "team"),
        ("tags[0][value]", "web"),
    ];
    let res = server.call(&root, "create_role", &fields).await;
    let (status, back) = (res.status(), location(&res));
    assert_eq!(status, StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let back = back.unwrap();
    assert!(back.starts_with("/roles/details/web?done=role-created&at="), "{back}");
    let role: Value = server.call(&root, "role_details", &[("role_name", "web")]).await.json().await.unwrap();
    assert_eq!(role["trusted"], serde_json::json!(["AWS service: ec2"]));
    assert_eq!(
        (role["max_session_duration"].as_i64(), role["description"].as_str()),
        (Some(14_400), Some("Web servers"))
    );
    assert_eq!(role["permissions_boundary"], "arn:aws:iam::aws:policy/PowerUserAccess");
    assert_eq!(role["tags"], serde_json::json!([{ "key": "team", "value": "web" }]));
    let attached: Value = server
        .call(&root, "attached_policies", &[("entity_kind", "role"), ("entity_name", "web")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(attached[0]["policy_arn"], read_only);

    // Another account, with an external id and MFA required.
    let fields = [
        ("role[role_name]", "partner"),
        ("trust[entity]", "account"),
        ("trust[account]", "other"),
        ("trust[account_id]", "444455556666"),
        ("trust[require_external_id]", "true"),
        ("trust[external_id]", "partner-7"),
        ("trust[require_mfa]", "true"),
    ];
    assert_eq!(server.call(&root, "create_role", &fields).await.status(), StatusCode::OK);
    let role: Value = server.call(&root, "role_details", &[("role_name", "partner")]).await.json().await.unwrap();
    let trust: Value = serde_json::from_str(role["trust_policy"].as_str().unwrap()).unwrap();
    assert_eq!(trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"], "partner-7");
    assert_eq!(role["trusted"], serde_json::json!(["Account: 444455556666"]));
    // A form mistake or a malformed custom policy is AWS's 400, and nothing is made.
    let bad = [("role[role_name]", "x"), ("trust[entity]", "account"), ("trust[account]", "other")];
    let res = server.call(&root, "create_role", &bad).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(res).await["code"], "ValidationError");
    let custom =
        [("role[role_name]", "x"), ("trust[entity]", "custom"), ("trust[custom]", r#"{"Version":"2012-10-17"}"#)];
    let res = server.call(&root, "create_role", &custom).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(res).await["code"], "MalformedPolicyDocument");
    let res = server
        .call(
            &root,
            "create_role",
            &[
                ("role[role_name]", "x"),
                ("trust[entity]", "service"),
                ("trust[service]", "ec2.amazonaws.com"),
                ("role[max_session_seconds]", "43201"),
            ],
        )
        .await;
    assert_eq!(error_of(res).await["code"], "ValidationError");
    assert_eq!(error_of(server.call(&root, "role_details", &[("role_name", "x")]).await).await["code"], "NoSuchEntity");

    // The same form posted by a browser without the wasm (nested `role[...]`, `trust[...]` fields
    // and a checkbox's `true`) is followed to the new role's page.
    let plain = root
        .post(server.url("/api/create_role"))
        .header("accept", "text/html")
        .form(&[
            ("role[role_name]", "plain"),
            ("role[max_session_seconds]", "7200"),
            ("trust[entity]", "account"),
            ("trust[account]", "this"),
            ("trust[require_mfa]", "true"),
            ("tags[0][key]", ""),
            ("tags[0][value]", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(plain.status().is_redirection(), "{}", plain.status());
    assert!(location(&plain).unwrap().starts_with("/roles/details/plain?done=role-created"));
    let role: Value = server.call(&root, "role_details", &[("role_name", "plain")]).await.json().await.unwrap();
    assert!(role["trust_policy"].as_str().unwrap().contains("aws:MultiFactorAuthPresent"), "{role}");
    assert_eq!(role["max_session_duration"], 7200);
    server.call(&root, "delete_role", &[("role_name", "plain"), ("confirmation", "plain")]).await;

    // The list: trusted entities per row, filter, sort.
    let list: Value = server.call(&root, "list_roles", &[("filter", "PART")]).await.json().await.unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["trusted"], serde_json::json!(["Account: 444455556666"]));
    let newest: Value =
        server.call(&root, "list_roles", &[("sort", "created"), ("desc", "true")]).await.json().await.unwrap();
    assert_eq!(newest["items"][0]["role_name"], "partner");
    let page = root.get(server.url("/roles")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("href=\"/roles/details/web\""), "the list renders on the server");
    let page = root.get(server.url("/roles/details/web")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(":role/web") && page.contains("AWS service: ec2"), "the role page renders on the server");

    // Details, trust policy, tags and boundary change from the role's page.
    let fields = [("role_name", "web"), ("description", "Front end"), ("max_session_seconds", "43200")];
    let res = server.call(&root, "update_role", &fields).await;
    assert!(location(&res).unwrap().starts_with("/roles/details/web?done=role-updated"));
    let lambda = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let res = server.call(&root, "update_trust_policy", &[("role_name", "web"), ("document", lambda)]).await;
    assert!(location(&res).unwrap().starts_with("/roles/details/web?done=trust-saved"));
    let big = lambda.replace("lambda.amazonaws.com", &"a".repeat(2_100));
    let too_large =
        error_of(server.call(&root, "update_trust_policy", &[("role_name", "web"), ("document", &big)]).await).await;
    assert_eq!(too_large["code"], "LimitExceeded");
    let fields = [("entity_kind", "role"), ("entity_name", "web"), ("tags[0][key]", "env"), ("tags[0][value]", "prod")];
    assert!(location(&server.call(&root, "add_tags", &fields).await).unwrap().contains("done=tags-saved"));
    let fields = [("entity_kind", "role"), ("entity_name", "web"), ("names[0]", "TEAM")];
    assert!(location(&server.call(&root, "remove_tags", &fields).await).unwrap().contains("done=tags-removed"));
    // Setting a boundary wants a policy: nothing chosen never removes one (that would widen the role).
    let fields = [("entity_kind", "role"), ("entity_name", "web"), ("boundary", "")];
    assert_eq!(error_of(server.call(&root, "set_boundary", &fields).await).await["code"], "ValidationError");
    let fields = [("entity_kind", "role"), ("entity_name", "web"), ("boundary", read_only)];
    assert!(location(&server.call(&root, "set_boundary", &fields).await).unwrap().contains("done=boundary-set"));
    let fields = [("entity_kind", "role"), ("entity_name", "web")];
    let boundary: Value = server.call(&root, "permissions_boundary", &fields).await.json().await.unwrap();
    assert_eq!(boundary, read_only);
    assert!(location(&server.call(&root, "remove_boundary", &fields).await).unwrap().contains("done=boundary-removed"));
    let role: Value = server.call(&root, "role_details", &[("role_name", "web")]).await.json().await.unwrap();
    assert_eq!(
        (role["description"].as_str(), role["max_session_duration"].as_i64()),
        (Some("Front end"), Some(43_200))
    );
    assert_eq!(role["trusted"], serde_json::json!(["AWS service: lambda"]));
    assert_eq!(role["tags"], serde_json::json!([{ "key": "env", "value": "prod" }]));
    assert_eq!(role["permissions_boundary"], Value::Null);
    let no_tag = [("entity_kind", "role"), ("entity_name", "web")];
    assert_eq!(error_of(server.call(&root, "add_tags", &no_tag).await).await["code"], "ValidationError");
    let group_tag = [("entity_kind", "group"), ("entity_name", "web"), ("tags[0][key]", "k")];
    assert_eq!(error_of(server.call(&root, "add_tags", &group_tag).await).await["code"], "ValidationError");

    // A delegate allowed only DeleteRole learns nothing and changes nothing: the first refusal is
    // the read AWS's console makes before deleting.
    let only_delete = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:DeleteRole","iam:ListRoles"],"Resource":"*"}]}"#;
    let fields = [("user_name", "rd"), ("console_access", "on"), ("console_password", "Rd-password-9!x-long")];
    server.call(&root, "create_user", &fields).await;
    let fields =
        [("entity_kind", "user"), ("entity_name", "rd"), ("policy_name", "p"), ("policy_document", only_delete)];
    assert_eq!(server.call(&root, "put_inline_policy", &fields).await.status(), StatusCode::OK);
    let rd = server.browser();
    let fields = [
        ("kind", "iam"),
        ("account", "example-corp"),
        ("user_name", "rd"),
        ("password", "Rd-password-9!x-long"),
        ("return_to", ""),
    ];
    server.call(&rd, "sign_in", &fields).await;
    let refused =
        error_of(server.call(&rd, "delete_role", &[("role_name", "web"), ("confirmation", "web")]).await).await;
    assert_eq!(refused["code"], "AccessDenied");
    assert!(refused["message"].as_str().unwrap().contains("iam:GetRole"), "{refused}");
    let still: Value = server.call(&root, "role_details", &[("role_name", "web")]).await.json().await.unwrap();
    assert_eq!(still["role_name"], "web");
    // Last activity is GetRole's to tell (ListRoles does not): refused, the cell says so.
    let listed: Value = server.call(&rd, "list_roles", &[]).await.json().await.unwrap();
    assert_eq!(listed["items"][0]["last_activity"]["Err"]["code"], "AccessDenied", "{listed}");
    assert_eq!(listed["items"][0]["trusted"], serde_json::json!(["Account: 444455556666"]), "{listed}");

    // Deleting: the name typed on its page, the word in bulk; policies go with the role.
    let wrong =
        error_of(server.call(&root, "delete_role", &[("role_name", "web"), ("confirmation", "we")]).await).await;
    assert_eq!(wrong["code"], "ValidationError");
    let res = server.call(&root, "delete_role", &[("role_name", "web"), ("confirmation", "web")]).await;
    assert!(location(&res).unwrap().starts_with("/roles?deleted=web&done=roles-deleted"));
    let holders: Value = server.call(&root, "list_roles", &[]).await.json().await.unwrap();
    assert_eq!(holders["total"], 1);
    let fields = [("names[0]", "partner"), ("names[1]", "nope"), ("confirmation", "delete")];
    let partial = error_of(server.call(&root, "delete_roles", &fields).await).await;
    assert_eq!(partial["code"], "NoSuchEntity");
    assert!(partial["message"].as_str().unwrap().starts_with("Deleted partner. Not deleted: nope:"), "{partial}");
    let left: Value = server.call(&root, "list_roles", &[]).await.json().await.unwrap();
    assert_eq!(left["total"], 0);
});

on_both!(policies_are_created_versioned_compared_attached_and_deleted, |server| {
    let root = server.setup_and_sign_in().await;
    let location =
        |res: &reqwest::Response| res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let v1 = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:List*","s3:GetObject"],"Resource":"*"}]}"#;
    // The create form without the wasm: nested `policy[...]` fields and tags, followed to the page.
    let plain = root
        .post(server.url("/api/create_policy"))
        .header("accept", "text/html")
        .form(&[
            ("policy[policy_name]", "Readers"),
            ("policy[description]", "Lists IAM, reads S3"),
            ("policy[path]", ""),
            ("policy[document]", v1),
            ("tags[0][key]", "team"),
            ("tags[0][value]", "ops"),
        ])
        .send()
        .await
        .unwrap();
    assert!(plain.status().is_redirection(), "{}", plain.status());
    let back = location(&plain).unwrap();
    let account = back.split("::").nth(1).and_then(|s| s.split(':').next()).unwrap().to_owned();
    let arn = format!("arn:aws:iam::{account}:policy/Readers");
    let href = format!("/policies/details/{}", arn.replace('/', "%2F"));
    assert!(back.starts_with(&format!("{href}?done=policy-created")), "{back}");
    // A malformed document or a taken name is AWS's 400 with AWS's code.
    let bad = [("policy[policy_name]", "Bad"), ("policy[document]", r#"{"Version":"2012-10-17"}"#)];
    let res = server.call(&root, "create_policy", &bad).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(res).await["code"], "MalformedPolicyDocument");
    let again = [("policy[policy_name]", "readers"), ("policy[document]", v1)];
    assert_eq!(error_of(server.call(&root, "create_policy", &again).await).await["code"], "EntityAlreadyExists");

    // The page renders on the server, under the ARN, with AWS's summary by service.
    let page = root.get(server.url(&href)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Lists IAM, reads S3") && page.contains("Customer managed"), "the policy page renders");
    assert!(page.contains("Delete policy"), "a customer policy can be deleted from its page");
    assert!(page.contains("Allow (2 of "), "the summary counts the services");
    assert!(page.contains("Amazon S3") && page.contains("Limited: Read"), "the summary names S3's access level");
    let details: Value = server.call(&root, "policy_details", &[("arn", &arn)]).await.json().await.unwrap();
    let summary = &details["document"]["Ok"][1];
    let iam_row = summary["allow"].as_array().unwrap().iter().find(|r| r["service"].as_str().unwrap().contains("IAM"));
    assert!(iam_row.unwrap()["access"].as_str().unwrap().contains("List"), "{summary}");
    let summary: Value = server
        .call(
            &root,
            "policy_summary",
            &[(
                "document",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:Gett*","Resource":"*"}]}"#,
            )],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary["unrecognized"], serde_json::json!(["s3:Gett*"]));
    // The visual editor's catalogue, fetched as data: signed-in people only.
    let services: Value = server.call(&root, "service_list", &[]).await.json().await.unwrap();
    assert!(services.as_array().unwrap().iter().any(|s| s["prefix"] == "s3" && s["name"] == "Amazon S3"));
    let s3: Value = server.call(&root, "service_actions", &[("prefix", "S3")]).await.json().await.unwrap();
    assert!(
        s3["actions"].as_array().unwrap().iter().any(|a| a[0] == "GetObject" && a[1] == "Read"),
        "{}",
        s3["actions"]
    );
    assert!(s3["resource_types"].as_array().unwrap().iter().any(|r| r[0] == "bucket"));
    assert!(s3["condition_keys"].as_array().unwrap().iter().any(|k| k == "s3:prefix"));
    let unknown = server.call(&root, "service_actions", &[("prefix", "nosuchservice")]).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_of(unknown).await["code"], "NoSuchEntity");
    let long = "x".repeat(65);
    assert_eq!(
        error_of(server.call(&root, "service_actions", &[("prefix", &long)]).await).await["code"],
        "ValidationError"
    );
    let stranger = server.browser();
    assert_eq!(error_of(server.call(&stranger, "service_list", &[]).await).await["code"], "NotSignedIn");
    // A text larger than any policy IAM stores is not walked through (it would cost seconds).
    let statement = r#"{"Effect":"Allow","Action":"*","Resource":"*"},"#;
    let huge = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}{{"Effect":"Allow","Action":"*","Resource":"*"}}]}}"#,
        statement.repeat(400)
    );
    let refused = server.call(&root, "policy_summary", &[("document", &huge)]).await;
    assert_eq!(error_of(refused).await["code"], "LimitExceeded");

    // The list: type and use filters, AWS's labels.
    let list: Value = server.call(&root, "list_policies", &[("kind", "customer")]).await.json().await.unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["kind"], "Customer managed");
    let jobs: Value = server.call(&root, "list_policies", &[("kind", "job")]).await.json().await.unwrap();
    assert!(jobs["items"].as_array().unwrap().iter().all(|p| p["kind"] == "AWS managed - job function"));
    assert!(jobs["total"].as_u64().unwrap() >= 1, "ViewOnlyAccess is a job function");
    let list_page =
        root.get(server.url("/policies?type=customer&used=unused")).send().await.unwrap().text().await.unwrap();
    assert!(list_page.contains(&format!("href=\"{href}\"")), "the list renders on the server");
    // A path made to look like a step up to AWS's policy stays this policy's address.
    let sneaky = [
        ("policy[policy_name]", "AdministratorAccess"),
        ("policy[path]", "/../arn:aws:iam::aws:policy/"),
        ("policy[document]", v1),
    ];
    let back = location(&server.call(&root, "create_policy", &sneaky).await).unwrap();
    assert!(
        back.starts_with(&format!(
            "/policies/details/arn:aws:iam::{account}:policy%2F..%2Farn:aws:iam::aws:policy%2FAdministratorAccess?"
        )),
        "{back}"
    );
    let page = root.get(server.url(&back)).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Customer managed") && page.contains("/../arn:aws:iam::aws:policy/"),
        "the customer's own policy, not AWS's"
    );

    // Edit saves a new version; versions compare side by side; the default changes back.
    let v2 = v1.replace("s3:GetObject", "s3:PutObject");
    let res = server
        .call(&root, "save_policy_version", &[("arn", &arn), ("document", &v2), ("set_as_default", "true")])
        .await;
    assert!(location(&res).unwrap().contains("?tab=versions&done=version-saved-default"));
    let res = server.call(&root, "save_policy_version", &[("arn", &arn), ("document", v1)]).await;
    assert!(location(&res).unwrap().contains("done=version-saved&"));
    let details: Value = server.call(&root, "policy_details", &[("arn", &arn)]).await.json().await.unwrap();
    assert_eq!(details["default_version"], "v2");
    assert_eq!(details["versions"]["Ok"].as_array().unwrap().len(), 3);
    let diff: Value = server
        .call(&root, "compare_versions", &[("arn", &arn), ("left", "v1"), ("right", "v2")])
        .await
        .json()
        .await
        .unwrap();
    let changed: Vec<&Value> = diff.as_array().unwrap().iter().filter(|l| l["change"] != "same").collect();
    assert_eq!(changed.len(), 1, "{diff}");
    assert!(changed[0]["left"].as_str().unwrap().contains("s3:GetObject"));
    assert!(changed[0]["right"].as_str().unwrap().contains("s3:PutObject"));
    let compare_page = root
        .get(server.url(&format!("/policies/details/{arn}?tab=versions&compare=v1&with=v2")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(compare_page.contains("1 line differs between v1 and v2."), "a shared comparison renders");
    assert!(
        location(&server.call(&root, "set_default_version", &[("arn", &arn), ("version_id", "v1")]).await)
            .unwrap()
            .contains("done=default-set")
    );
    let refused = server.call(&root, "delete_policy_versions", &[("arn", &arn), ("names[0]", "v1")]).await;
    assert_eq!(error_of(refused).await["code"], "DeleteConflict", "the default version stays");
    let res = server.call(&root, "delete_policy_versions", &[("arn", &arn), ("names[0]", "v3")]).await;
    assert!(location(&res).unwrap().contains("done=versions-deleted"));
    // A stale edit page that offered room no longer needed deletes nothing (v3 made room already).
    let stale = [("arn", arn.as_str()), ("document", v1), ("delete_version", "v2")];
    assert!(location(&server.call(&root, "save_policy_version", &stale).await).unwrap().contains("done=version-saved"));
    // At AWS's 5 versions, saving makes room by deleting the version chosen, never for a bad document.
    for _ in 0..2 {
        server.call(&root, "save_policy_version", &[("arn", &arn), ("document", v1)]).await;
    }
    let full = error_of(server.call(&root, "save_policy_version", &[("arn", &arn), ("document", v1)]).await).await;
    assert_eq!(full["code"], "LimitExceeded", "{full}");
    let edit_page = root
        .get(server.url(&format!("/policies/edit/{}", arn.replace('/', "%2F"))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(edit_page.contains("Version to delete") && edit_page.contains(">v2<"), "the edit page offers room");
    let bad = [("arn", arn.as_str()), ("document", r#"{"Version":"2012-10-17"}"#), ("delete_version", "v2")];
    assert_eq!(
        error_of(server.call(&root, "save_policy_version", &bad).await).await["code"],
        "MalformedPolicyDocument"
    );
    let room = [("arn", arn.as_str()), ("document", v1), ("delete_version", "v2")];
    assert!(location(&server.call(&root, "save_policy_version", &room).await).unwrap().contains("done=version-saved"));
    let details: Value = server.call(&root, "policy_details", &[("arn", &arn)]).await.json().await.unwrap();
    let ids: Vec<&str> =
        details["versions"]["Ok"].as_array().unwrap().iter().map(|v| v["version_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["v7", "v6", "v5", "v4", "v1"], "v2 made room; the bad document cost nothing");

    // Attached to a user, a group and a role from the policy's page; one detached.
    server.call(&root, "create_user", &[("user_name", "pat")]).await;
    server.call(&root, "create_group", &[("group_name", "Ops")]).await;
    let trust = [("role[role_name]", "svc"), ("trust[entity]", "service"), ("trust[service]", "ec2.amazonaws.com")];
    server.call(&root, "create_role", &trust).await;
    let fields = [("arn", arn.as_str()), ("users[0]", "pat"), ("groups[0]", "Ops"), ("roles[0]", "svc")];
    let res = server.call(&root, "attach_policy_to", &fields).await;
    assert!(location(&res).unwrap().contains("?tab=entities&done=policy-attached"));
    let fields = [("entity_kind", "user"), ("entity_name", "pat"), ("boundary", arn.as_str())];
    server.call(&root, "set_boundary", &fields).await;
    let entities: Value = server.call(&root, "policy_entities", &[("arn", &arn)]).await.json().await.unwrap();
    let rows: Vec<(&str, &str, &str)> = entities
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["name"].as_str().unwrap(), e["attached_as"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("user", "pat", "Permissions policy"),
            ("group", "Ops", "Permissions policy"),
            ("role", "svc", "Permissions policy"),
            ("user", "pat", "Permissions boundary"),
        ]
    );
    let res = server.call(&root, "detach_policy_from", &[("arn", &arn), ("names[0]", "group:Ops")]).await;
    assert!(location(&res).unwrap().contains("done=policy-detached"));
    let entities: Value = server.call(&root, "policy_entities", &[("arn", &arn)]).await.json().await.unwrap();
    assert!(!entities.as_array().unwrap().iter().any(|e| e["name"] == "Ops"), "{entities}");
    let listed: Value = server.call(&root, "list_policies", &[("used", "boundary")]).await.json().await.unwrap();
    assert_eq!(listed["items"][0]["arn"], arn.as_str(), "used as a boundary, as ListPolicies counts");
    let res = server.call(&root, "attach_policy_to", &[("arn", &arn)]).await;
    assert_eq!(error_of(res).await["code"], "ValidationError");

    // Tags on the policy's tags tab.
    let fields =
        [("entity_kind", "policy"), ("entity_name", arn.as_str()), ("tags[0][key]", "env"), ("tags[0][value]", "prod")];
    assert!(location(&server.call(&root, "add_tags", &fields).await).unwrap().contains("?tab=tags&done=tags-saved"));

    // Deleting: the typed name must match; a boundary blocks it; then everything goes.
    let fields = [("arn", arn.as_str()), ("confirmation", "readers")];
    assert_eq!(error_of(server.call(&root, "delete_policy", &fields).await).await["code"], "ValidationError");
    let forged = [("arn", arn.as_str()), ("policy_name", "x"), ("confirmation", "x")];
    assert_eq!(error_of(server.call(&root, "delete_policy", &forged).await).await["code"], "ValidationError");
    let fields = [("arn", arn.as_str()), ("confirmation", "Readers")];
    assert_eq!(error_of(server.call(&root, "delete_policy", &fields).await).await["code"], "DeleteConflict");
    server.call(&root, "remove_boundary", &[("entity_kind", "user"), ("entity_name", "pat")]).await;
    let res = server.call(&root, "delete_policy", &fields).await;
    assert!(location(&res).unwrap().starts_with("/policies?deleted=Readers&done=policies-deleted"));
    assert_eq!(error_of(server.call(&root, "policy_details", &[("arn", &arn)]).await).await["code"], "NoSuchEntity");
    let attached: Value = server
        .call(&root, "attached_policies", &[("entity_kind", "user"), ("entity_name", "pat")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(attached, serde_json::json!([]));
    let attached: Value = server
        .call(&root, "attached_policies", &[("entity_kind", "role"), ("entity_name", "svc")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(attached, serde_json::json!([]));
    // AWS's own policies have no delete or edit.
    let aws = root
        .get(server.url("/policies/details/arn:aws:iam::aws:policy%2Fjob-function%2FViewOnlyAccess"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(aws.contains("AWS managed - job function") && !aws.contains("Delete policy"), "AWS's policy page");
});

on_both!(a_users_page_shows_how_each_policy_is_attached, |server| {
    let root = server.setup_and_sign_in().await;
    let list = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#;
    server.call(&root, "create_user", &[("user_name", "kim")]).await;
    let fields =
        [("group_name", "Auditors"), ("users[0]", "kim"), ("policies[0]", "arn:aws:iam::aws:policy/SecurityAudit")];
    assert_eq!(server.call(&root, "create_group", &fields).await.status(), StatusCode::OK);
    let fields = [
        ("entity_kind", "group"),
        ("entity_name", "Auditors"),
        ("policy_name", "GroupList"),
        ("policy_document", list),
    ];
    server.call(&root, "put_inline_policy", &fields).await;
    let fields =
        [("entity_kind", "user"), ("entity_name", "kim"), ("policies[0]", "arn:aws:iam::aws:policy/ReadOnlyAccess")];
    server.call(&root, "attach_policies", &fields).await;
    let fields = [("entity_kind", "user"), ("entity_name", "kim"), ("policy_name", "Own"), ("policy_document", list)];
    server.call(&root, "put_inline_policy", &fields).await;

    let granted: Value = server.call(&root, "user_permissions", &[("user_name", "kim")]).await.json().await.unwrap();
    let rows: Vec<(&str, &str, Option<&str>)> = granted["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["policy_name"].as_str().unwrap(), p["kind"].as_str().unwrap(), p["group"].as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("ReadOnlyAccess", "AWS managed", None),
            ("Own", "Customer inline", None),
            ("SecurityAudit", "AWS managed - job function", Some("Auditors")),
            ("GroupList", "Customer inline", Some("Auditors")),
        ]
    );
    assert_eq!(granted["refused"], serde_json::json!([]));
    let page = root.get(server.url("/users/details/kim")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Attached via") && page.contains("Group Auditors"), "rendered on the server");

    // A delegate who may not list the group's policies sees that refusal named, not "no policies".
    let delegate = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListAttachedUserPolicies","iam:ListUserPolicies","iam:ListGroupsForUser","iam:ListGroupPolicies"],"Resource":"*"}]}"#;
    let fields = [("user_name", "dee"), ("console_access", "on"), ("console_password", "Dee-password-9!x-long")];
    server.call(&root, "create_user", &fields).await;
    let fields = [("entity_kind", "user"), ("entity_name", "dee"), ("policy_name", "p"), ("policy_document", delegate)];
    server.call(&root, "put_inline_policy", &fields).await;
    let dee = server.browser();
    let fields = [
        ("kind", "iam"),
        ("account", "example-corp"),
        ("user_name", "dee"),
        ("password", "Dee-password-9!x-long"),
        ("return_to", ""),
    ];
    server.call(&dee, "sign_in", &fields).await;
    let granted: Value = server.call(&dee, "user_permissions", &[("user_name", "kim")]).await.json().await.unwrap();
    let names: Vec<&str> =
        granted["policies"].as_array().unwrap().iter().map(|p| p["policy_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ReadOnlyAccess", "Own", "GroupList"], "{granted}");
    assert_eq!(granted["refused"].as_array().unwrap().len(), 1, "{granted}");
    assert_eq!(granted["refused"][0][0], "Managed policies of group Auditors");
    assert_eq!(granted["refused"][0][1]["code"], "AccessDenied");
    let missing = server.call(&root, "user_permissions", &[("user_name", "nobody")]).await;
    assert_eq!(error_of(missing).await["code"], "NoSuchEntity");
});
