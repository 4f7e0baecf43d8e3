mod common;
use common::*;
use hoopauth_emulator::EmulatorConfig;
use serde_json::json;

#[tokio::test]
async fn authorization_redirect_carries_code_and_state() {
    let r = emu(EmulatorConfig::default()).await;
    for path in ["/oauth/chooselocation", "/v2/oauth/chooselocation"] {
        let q = form(&[
            ("response_type", "code"),
            ("client_id", r.client_id()),
            ("redirect_uri", "https://app.example/cb?x=1"),
            ("scope", "contacts.readonly"),
            ("state", "a b&c"),
        ]);
        let resp = get(&r, &format!("{path}?{q}"), &[]).await;
        assert_eq!(resp.status, 302);
        let loc = resp.header("location").unwrap();
        assert!(loc.starts_with("https://app.example/cb?x=1&code="), "{loc}");
        let p = query_pairs(loc);
        assert_eq!(qget(&p, "x"), Some("1"));
        assert_eq!(qget(&p, "state"), Some("a b&c"));
        assert_eq!(qget(&p, "code").unwrap().len(), 40);
    }
    // No state given → none in the redirect; plain redirect gets `?`.
    let q = form(&[
        ("response_type", "code"),
        ("client_id", r.client_id()),
        ("redirect_uri", REDIRECT),
        ("scope", "contacts.readonly"),
    ]);
    let resp = get(&r, &format!("/oauth/chooselocation?{q}"), &[]).await;
    let loc = resp.header("location").unwrap();
    assert!(loc.starts_with(&format!("{REDIRECT}?code=")), "{loc}");
    assert_eq!(qget(&query_pairs(loc), "state"), None);
}

#[tokio::test]
async fn authorization_validates_parameters() {
    let r = emu(EmulatorConfig::default()).await;
    let good = [
        ("response_type", "code"),
        ("client_id", r.client_id()),
        ("redirect_uri", REDIRECT),
        ("scope", "contacts.readonly"),
    ];
    let bad: [(usize, &str); 5] = [
        (0, "token"),
        (1, "someone-else"),
        (2, "/relative/cb"),
        (2, "ftp://x.example/cb"),
        (3, "   "),
    ];
    for (i, v) in bad {
        let mut q = good.to_vec();
        q[i].1 = v;
        let resp = get(&r, &format!("/oauth/chooselocation?{}", form(&q)), &[]).await;
        assert_eq!(resp.status, 400, "{i}={v}");
        let b = resp.json();
        assert_eq!(b["statusCode"], 400);
        assert_eq!(b["error"], "Bad Request");
        assert!(b["message"].is_string());
    }
    let mut q = good.to_vec();
    q.push(("location_id", "loc_nope"));
    let resp = get(&r, &format!("/oauth/chooselocation?{}", form(&q)), &[]).await;
    assert_eq!(resp.status, 400);
}

#[tokio::test]
async fn deny_mode_redirects_with_access_denied() {
    let r = emu(EmulatorConfig {
        deny: true,
        ..Default::default()
    })
    .await;
    let q = form(&[
        ("response_type", "code"),
        ("client_id", r.client_id()),
        ("redirect_uri", REDIRECT),
        ("scope", "contacts.readonly"),
        ("state", "s1"),
    ]);
    let resp = get(&r, &format!("/oauth/chooselocation?{q}"), &[]).await;
    assert_eq!(resp.status, 302);
    let loc = resp.header("location").unwrap();
    assert_eq!(
        loc,
        format!("{REDIRECT}?error=access_denied&error_description=The+user+denied+access&state=s1")
    );
    // Switch deny off at run time.
    let c = post_json(&r, "/_emulator/control", &[], &json!({"deny": false})).await;
    assert_eq!(c.status, 200);
    assert_eq!(c.json()["deny"], false);
    authorize(&r, "contacts.readonly", None).await;
}

#[tokio::test]
async fn exchange_body_shape_location_and_company() {
    let r = emu(EmulatorConfig::default()).await;
    let b = install(&r, SCOPES, Some("loc_2"), "Location").await;
    let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    let mut keys = keys;
    keys.sort();
    assert_eq!(
        keys,
        [
            "access_token",
            "companyId",
            "expires_in",
            "isBulkInstallation",
            "locationId",
            "refresh_token",
            "scope",
            "token_type",
            "userId",
            "userType"
        ]
    );
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 86399);
    assert_eq!(b["scope"], SCOPES);
    assert_eq!(b["userType"], "Location");
    assert_eq!(b["locationId"], "loc_2");
    assert_eq!(b["companyId"], "comp_1");
    assert_eq!(b["isBulkInstallation"], false);
    assert!(s(&b, "userId").starts_with("user_"));
    assert_ne!(s(&b, "access_token"), s(&b, "refresh_token"));

    let c = install(&r, "locations.readonly", None, "Company").await;
    assert_eq!(c["userType"], "Company");
    assert!(c.get("locationId").is_none());
    assert_eq!(c["companyId"], "comp_1");
    assert_eq!(c["approvedLocations"], json!(["loc_1"]));
    assert_eq!(c["scope"], "locations.readonly");
    let st = stats(&r).await;
    assert_eq!(st["resources"]["loc_2"]["token_exchanges"], 1);
    assert_eq!(st["totals"]["token_exchanges"], 2);
}

#[tokio::test]
async fn code_is_single_use_and_bound_to_redirect_uri() {
    let r = emu(EmulatorConfig::default()).await;
    let not_found =
        json!({"error": "UnAuthorized!", "error_description": "Authorization code not found"});
    let code = authorize(&r, SCOPES, None).await;
    // Wrong redirect_uri: refused, and the code is not burnt by it.
    for wrong in [Some("http://127.0.0.1:9/other"), None] {
        let mut f = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        if let Some(w) = wrong {
            f.push(("redirect_uri", w));
        }
        let resp = token(&r, &f).await;
        assert_eq!(resp.status, 401);
        assert_eq!(resp.json(), not_found);
    }
    let f = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(token(&r, &f).await.status, 200);
    let again = token(&r, &f).await;
    assert_eq!(again.status, 401);
    assert_eq!(again.json(), not_found);
    let unknown = token(
        &r,
        &[
            ("grant_type", "authorization_code"),
            ("code", "nope"),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(unknown.json(), not_found);
    let st = stats(&r).await;
    assert_eq!(st["resources"]["loc_1"]["invalid_grants"], 3);
    assert_eq!(st["resources"]["unknown"]["invalid_grants"], 1);
}

#[tokio::test]
async fn code_expires() {
    let r = emu(EmulatorConfig {
        code_ttl_secs: 0,
        ..Default::default()
    })
    .await;
    let code = authorize(&r, SCOPES, None).await;
    let resp = token(
        &r,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json()["error_description"],
        "Authorization code not found"
    );
}

#[tokio::test]
async fn token_endpoint_rejects_bad_clients_grants_and_content_types() {
    let r = emu(EmulatorConfig::default()).await;
    let resp = post_form(
        &r,
        "/oauth/token",
        &[],
        &[
            ("client_id", r.client_id()),
            ("client_secret", "wrong"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json(),
        json!({"error": "invalid_client", "error_description": "Invalid client credentials"})
    );
    let resp = token(&r, &[("grant_type", "password")]).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json(), json!({"error": "unsupported_grant_type"}));
    let resp = post_json(
        &r,
        "/oauth/token",
        &[],
        &json!({"grant_type": "client_credentials"}),
    )
    .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["statusCode"], 400);
}

#[tokio::test]
async fn client_credentials_and_location_token() {
    let r = emu(EmulatorConfig::default()).await;
    let resp = token(
        &r,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "locations.readonly contacts.readonly"),
        ],
    )
    .await;
    assert_eq!(resp.status, 200);
    let company = resp.json();
    assert_eq!(company["userType"], "Company");
    assert_eq!(
        company["approvedLocations"],
        json!(["loc_1", "loc_2", "loc_3"])
    );
    let agency = s(&company, "access_token");
    let auth = bearer(&agency);

    let resp = post_form(
        &r,
        "/oauth/locationToken",
        &[("Authorization", &auth), VERSION],
        &[("companyId", "comp_1"), ("locationId", "loc_3")],
    )
    .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    let b = resp.json();
    assert_eq!(b["userType"], "Location");
    assert_eq!(b["locationId"], "loc_3");
    assert_eq!(b["companyId"], "comp_1");
    assert_eq!(b["scope"], "locations.readonly contacts.readonly");
    // As the platform answers (GetLocationAccessTokenSuccessfulResponseDto): no refresh
    // token; a location token that comes due is minted again from the company token.
    assert!(b.get("refresh_token").is_none(), "{b}");
    // The new location token works for its location.
    let loc_auth = bearer(&s(&b, "access_token"));
    let ok = get(
        &r,
        "/contacts/?locationId=loc_3",
        &[("Authorization", &loc_auth), VERSION],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Errors: no bearer, location token as bearer, wrong company, foreign location.
    let resp = post_form(
        &r,
        "/oauth/locationToken",
        &[],
        &[("companyId", "comp_1"), ("locationId", "loc_3")],
    )
    .await;
    assert_eq!(
        (resp.status, resp.json()),
        (401, json!({"statusCode": 401, "message": "Invalid JWT"}))
    );
    let resp = post_form(
        &r,
        "/oauth/locationToken",
        &[("Authorization", &loc_auth)],
        &[("companyId", "comp_1"), ("locationId", "loc_3")],
    )
    .await;
    assert_eq!(resp.status, 401);
    let resp = post_form(
        &r,
        "/oauth/locationToken",
        &[("Authorization", &auth)],
        &[("companyId", "comp_2"), ("locationId", "loc_3")],
    )
    .await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.json()["error"], "Forbidden");
    let resp = post_form(
        &r,
        "/oauth/locationToken",
        &[("Authorization", &auth)],
        &[("companyId", "comp_1"), ("locationId", "loc_9")],
    )
    .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"], "Bad Request");
    let resp = post_form(
        &r,
        "/oauth/locationToken",
        &[("Authorization", &auth)],
        &[("companyId", "comp_1")],
    )
    .await;
    assert_eq!(resp.status, 400);
    assert!(resp.json()["message"].is_array());
}

#[tokio::test]
async fn unknown_routes_and_methods_are_404() {
    let r = emu(EmulatorConfig::default()).await;
    let resp = get(&r, "/nope", &[]).await;
    assert_eq!(resp.status, 404);
    assert_eq!(
        resp.json(),
        json!({"statusCode": 404, "message": "Cannot GET /nope", "error": "Not Found"})
    );
    let resp = request(r.addr(), "DELETE", "/oauth/token", &[], b"").await;
    assert_eq!(resp.status, 404);
    let resp = get(&r, "/oauth/token", &[]).await;
    assert_eq!(resp.status, 404);
}
