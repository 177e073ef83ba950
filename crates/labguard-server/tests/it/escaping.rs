//! Every page that shows a staff member's name or a device's name shows it escaped: an
//! account whose display name, and a device whose name, manufacturer and model, carry a
//! script tag and a double quote are created, and each page is fetched over HTTPS from the
//! real listener (curl), signed in as that account. The raw payload must appear nowhere;
//! its escaped form must appear on every page (so the page did show the field).

use labguard_core::Role;
use labguard_devices::device::{Asset, DeviceKind};
use labguard_identity::HashParams;
use labguard_store::Actor;
use labguard_testkit::free_port;
use labguard_testkit::https::{call, Who};
use labguard_testkit::server::*;

const PAYLOAD: &str = "<script>alert(1)</script>\"x";
/// askama escapes with numeric character references.
const ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;&#34;x";

#[test]
fn names_with_markup_are_escaped_on_every_page() {
    let env = env("sqlite", "escaping");
    let op = Actor::operator();
    // A security officer sees every page that lists staff or devices but the account
    // list, which is the administrator's.
    let mut who = Vec::new();
    for (user, role) in [
        ("mallory", Role::SecurityOfficer),
        ("trent", Role::Administrator),
    ] {
        let (_, pw) = labguard_app::accounts::provision_account(
            &env.store,
            &op,
            user,
            PAYLOAD,
            role,
            "someone@example.invalid",
            &HashParams::TESTING,
        )
        .unwrap();
        who.push((user, pw));
    }
    let device = format!("an{PAYLOAD}");
    let a = Asset::new(&device, DeviceKind::Analyzer, PAYLOAD, PAYLOAD);
    env.store.add_asset(&op, &a, None).unwrap();
    let who: Vec<Who> = who
        .iter()
        .map(|(user, pw)| {
            let s = enroll(&env, user, pw);
            Who::Session {
                cookie: s.cookie,
                csrf: s.csrf,
            }
        })
        .collect();
    let (officer, admin) = (&who[0], &who[1]);
    // Two phishing campaigns named with the payload (not launched, so no trend chart; its
    // labels are checked in ui_training's unit test): the list and the report show the name.
    let mut campaigns = Vec::new();
    for _ in 0..2 {
        let Who::Session { cookie, csrf } = officer else {
            unreachable!()
        };
        let s = Session {
            cookie: cookie.clone(),
            csrf: csrf.clone(),
            totp_secret: String::new(),
        };
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/phishing/campaigns",
            Some(&s),
            &serde_json::json!({"name": PAYLOAD, "template": "vendor-firmware",
                "to": ["security-officer"], "smtp": "smtp://127.0.0.1:9",
                "from": "service@example.invalid", "base_url": "https://127.0.0.1:8443"}),
        ));
        assert_eq!(st, axum::http::StatusCode::CREATED, "{v}");
        campaigns.push(v["campaign_id"].as_str().unwrap().to_string());
    }

    let k = labguard_server::tls::sealed_self_signed(&env.store, env._dir.path()).unwrap();
    let tls = labguard_server::tls::server_config_pem(&k.cert_pem, &k.key_pem).unwrap();
    let port = free_port();
    env.rt.spawn(labguard_server::serve_until(
        env.state.clone(),
        ([127, 0, 0, 1], port).into(),
        tls,
        labguard_server::listener::Limits::default(),
        std::future::pending(),
    ));
    let base = format!("https://127.0.0.1:{port}");
    let device_path: String = device
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let pages = [
        "/app".to_string(),
        "/dashboard".into(),
        "/audit".into(),
        "/access-review".into(),
        "/training".into(),
        "/phishing".into(),
        "/hygiene".into(),
        "/compliance".into(),
        "/devices".into(),
        format!("/devices/{device_path}"),
        "/privacy".into(),
        format!("/phishing/{}", campaigns[0]),
    ];
    let pages = pages
        .iter()
        .map(|p| (p.as_str(), officer))
        .chain([("/accounts", admin), ("/app", admin)]);
    for (page, who) in pages {
        let mut r = call("GET", &format!("{base}{page}"), Some(who), None);
        for _ in 0..50 {
            if r.status != 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            r = call("GET", &format!("{base}{page}"), Some(who), None);
        }
        assert_eq!(r.status, 200, "{page}: {}", r.body);
        assert!(
            !r.body.contains("<script>alert(1)") && !r.body.contains(PAYLOAD),
            "{page} shows the payload raw"
        );
        assert!(
            r.body.contains(ESCAPED),
            "{page} does not show the name escaped: {}",
            r.body
        );
    }
    // The device pages show the device's own fields escaped, not only the header's name:
    // name, manufacturer and model.
    let r = call(
        "GET",
        &format!("{base}/devices/{device_path}"),
        Some(officer),
        None,
    );
    assert!(
        r.body.contains(&format!("<h1>an{ESCAPED}</h1>")),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("<dd>{ESCAPED} {ESCAPED}</dd>")));
    let r = call("GET", &format!("{base}/devices"), Some(officer), None);
    assert!(r.body.contains(&format!("<td>{ESCAPED} {ESCAPED}</td>")));
    assert!(r.body.contains(&format!(">an{ESCAPED}</a>")));
    let r = call("GET", &format!("{base}/phishing"), Some(officer), None);
    assert!(
        r.body.contains(&format!("\">{ESCAPED}</a></td>")),
        "{}",
        r.body
    );
    let r = call(
        "GET",
        &format!("{base}/phishing/{}", campaigns[0]),
        Some(officer),
        None,
    );
    assert!(
        r.body.contains(&format!("<h1>{ESCAPED}</h1>")),
        "{}",
        r.body
    );
    // The accounts page lists the display name in the table, too.
    let r = call("GET", &format!("{base}/accounts"), Some(admin), None);
    assert!(r.body.contains(&format!("<td>{ESCAPED}</td>")));
}
