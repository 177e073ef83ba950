use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use labguard_core::Role;
use labguard_training::phishing::*;
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 9, 0, 0).unwrap()
}

fn token(n: u8) -> TrackingToken {
    TrackingToken::from_random([n; 32])
}

fn recipient(n: u128, role: Role) -> Recipient {
    Recipient {
        staff_id: Uuid::from_u128(n),
        role,
        email: format!("u{n}@lab.example.com"),
        display_name: format!("Ana {n}"),
        token_digest: token(n as u8).digest(),
    }
}

#[test]
fn allow_list_blocks_lookalikes() {
    let l = DomainAllowList::new(&["Lab.Example.com", "*.clinic.example.org"]).unwrap();
    assert_eq!(
        l.check("Ana.Lee@LAB.example.COM").unwrap(),
        "Ana.Lee@lab.example.com"
    );
    assert_eq!(l.check("x@lab.example.com.").unwrap(), "x@lab.example.com");
    assert!(l.check("x@draw.clinic.example.org").is_ok());
    for bad in [
        "x@lab.example.com.evil.net",
        "x@evil-lab.example.com",
        "x@sub.lab.example.com",
        "x@clinic.example.org",
        "x@evilclinic.example.org",
        "x@lab.examp1e.com",
    ] {
        assert!(
            matches!(l.check(bad), Err(PhishingError::DomainNotAllowed(_))),
            "{bad}"
        );
    }
    for bad in [
        "x@lab.example.com@evil.net",
        "\"x@lab.example.com\"@evil.net",
        "Ana <x@lab.example.com>",
        "x@lab.example.com\r\nBcc: y@evil.net",
        "x@lаb.example.com", // Cyrillic 'а'
        "@lab.example.com",
        "x..y@lab.example.com",
        "x@lab..example.com",
    ] {
        assert_eq!(l.check(bad), Err(PhishingError::BadAddress), "{bad}");
    }
    assert!(DomainAllowList::new(&["lab.example.com/evil"]).is_err());
    // Settings round-trip through JSON as a plain list and are validated on the way in.
    let json = serde_json::to_string(&l).unwrap();
    assert_eq!(json, r#"["lab.example.com","*.clinic.example.org"]"#);
    assert_eq!(serde_json::from_str::<DomainAllowList>(&json).unwrap(), l);
    assert!(serde_json::from_str::<DomainAllowList>(r#"["evil .com"]"#).is_err());
    assert!(DomainAllowList::new(&["*."]).is_err());
}

#[test]
fn tokens_are_url_safe_canonical_and_bound_to_their_campaign() {
    let tok = TrackingToken::from_random([0xfb; 32]);
    assert_eq!(tok.as_str().len(), 43);
    assert!(tok
        .as_str()
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(TrackingToken::parse(tok.as_str()).unwrap(), tok);
    assert_eq!(format!("{tok:?}"), "TrackingToken(..)");
    let json = serde_json::to_string(&tok).unwrap();
    assert_eq!(serde_json::from_str::<TrackingToken>(&json).unwrap(), tok);
    assert!(serde_json::from_str::<TrackingToken>(r#""not-a-token""#).is_err());
    assert_ne!(token(1).as_str(), token(2).as_str());
    assert_eq!(TrackingToken::parse("short"), Err(PhishingError::BadToken));
    assert_eq!(
        TrackingToken::parse(&"+".repeat(43)),
        Err(PhishingError::BadToken)
    );
    // Non-canonical final character (unused low bits set) is rejected.
    let mut s = tok.as_str().to_string();
    // 0xfb ends in bits 1011; the last char is 1011 + two zero bits = 's'. 't' sets a
    // spare bit: same bytes when decoded leniently, so it must be refused.
    assert_eq!(s.pop(), Some('s'));
    s.push('t');
    assert_eq!(TrackingToken::parse(&s), Err(PhishingError::BadToken));

    let camp_a = Uuid::from_u128(10);
    let camp_b = Uuid::from_u128(11);
    let a = vec![
        recipient(1, Role::Phlebotomist),
        recipient(2, Role::FrontDesk),
    ];
    let b = vec![Recipient {
        token_digest: token(3).digest(),
        ..recipient(1, Role::Phlebotomist)
    }];
    let e = record_event(camp_a, &a, token(2).as_str(), EventKind::Clicked, t0()).unwrap();
    assert_eq!((e.campaign_id, e.staff_id), (camp_a, Uuid::from_u128(2)));
    // Person 1's token from campaign A records nothing in campaign B.
    assert_eq!(
        record_event(camp_b, &b, token(1).as_str(), EventKind::Clicked, t0()),
        Err(PhishingError::UnknownToken)
    );
    assert_eq!(
        record_event(camp_a, &a, token(9).as_str(), EventKind::Opened, t0()),
        Err(PhishingError::UnknownToken)
    );
}

#[test]
fn schedule_respects_rate_and_window() {
    let rs: Vec<Recipient> = (1..=5)
        .map(|n| recipient(n, Role::LabTechnologist))
        .collect();
    let w = SendWindow {
        start: t0(),
        end: t0() + Duration::minutes(3),
        per_minute: 2,
    };
    let s = send_schedule(&rs, &w).unwrap();
    let offs: Vec<i64> = s.iter().map(|x| (x.at - t0()).num_seconds()).collect();
    assert_eq!(offs, [0, 30, 60, 90, 120]);
    let w1 = SendWindow { per_minute: 1, ..w };
    assert_eq!(
        send_schedule(&rs, &w1),
        Err(PhishingError::WindowTooShort {
            needed: 5,
            capacity: 3
        })
    );
    assert_eq!(
        send_schedule(&rs, &SendWindow { per_minute: 0, ..w }),
        Err(PhishingError::ZeroRate)
    );
    assert_eq!(
        send_schedule(&rs, &SendWindow { end: t0(), ..w }),
        Err(PhishingError::EmptyWindow)
    );
    let sent: BTreeSet<Uuid> = [Uuid::from_u128(1)].into();
    let due = sends_due(&s, &sent, t0() + Duration::seconds(60));
    assert_eq!(
        due.iter().map(|d| d.staff_id).collect::<Vec<_>>(),
        [Uuid::from_u128(2), Uuid::from_u128(3)]
    );
}

#[test]
fn templates_render_escaped_with_tracking_urls() {
    let ts = builtin_templates();
    assert_eq!(ts.len(), 3);
    for t in &ts {
        assert!(t.unknown_placeholders().is_empty(), "{}", t.id);
        assert_eq!(t.problems(), Vec::<String>::new(), "{}", t.id);
        assert!(t.html_body.contains("{{pixel}}"), "{}", t.id);
        assert!(t.text_body.contains("{{link}}"), "{}", t.id);
        assert!(t.landing_page_html.contains("{{submit_url}}"), "{}", t.id);
        // No input has a name, so browsers submit no field content.
        assert!(!t.landing_page_html.contains("name="), "{}", t.id);
    }
    let tok = token(4);
    let urls = TrackingUrls::new("https://labguard.lab.example.com/", &tok);
    assert_eq!(
        urls.click,
        format!("https://labguard.lab.example.com/t/c/{}", tok.as_str())
    );
    let ctx = RenderContext {
        display_name: "Ana <b>Lee</b>\r\nBcc: x",
        lab_name: "North & Co Lab",
        urls: &urls,
    };
    let t = builtin_template("courier-delivery").unwrap();
    let m = t.render(&ctx);
    assert!(m.html.contains("Hello Ana,"));
    assert!(m.html.contains("North &amp; Co Lab"));
    assert!(m
        .html
        .contains(&format!("<img src=\"{}\"", urls.open_pixel)));
    assert!(m.text.contains(&urls.click));
    let mut evil = t.clone();
    evil.subject = "Hi {{display_name}} {{unknown}}".into();
    let m = evil.render(&ctx);
    assert_eq!(m.subject, "Hi Ana <b>Lee</b>  Bcc: x {{unknown}}");
    assert_eq!(evil.unknown_placeholders(), ["unknown"]);
    evil.landing_page_html =
        "<form action=\"/x\"><input type=\"password\" NAME=\"pw\"></form>".into();
    evil.text_body = "no link".into();
    assert_eq!(
        evil.problems(),
        [
            "unknown placeholder {{unknown}}",
            "text and HTML bodies must both contain {{link}}",
            "landing page must post to {{submit_url}}",
            "landing page fields must not have a name attribute",
        ]
    );
    let landing = t.render_landing_page(&ctx);
    assert!(landing.contains(&format!("action=\"{}\"", urls.submit)));
    assert!(matches!(
        builtin_template("nope"),
        Err(PhishingError::UnknownTemplate(_))
    ));
    let page = teaching_page_html(&t, "<Lab>");
    assert!(page.contains("&lt;Lab&gt;") && page.contains("<li>"));
}

#[test]
fn report_counts_by_role_time_to_report_and_remedial() {
    let camp = Uuid::from_u128(10);
    let rs = vec![
        recipient(1, Role::Phlebotomist),
        recipient(2, Role::Phlebotomist),
        recipient(3, Role::FrontDesk),
        recipient(4, Role::LabTechnologist),
    ];
    let ev = |n: u128, kind, mins: i64| PhishEvent {
        campaign_id: camp,
        staff_id: Uuid::from_u128(n),
        kind,
        at: t0() + Duration::minutes(mins),
    };
    let mut events: Vec<PhishEvent> = (1..=4).map(|n| ev(n, EventKind::Sent, n as i64)).collect();
    events.extend([
        ev(1, EventKind::Opened, 10),
        ev(1, EventKind::Clicked, 11),
        ev(1, EventKind::Clicked, 12),   // duplicate click
        ev(2, EventKind::Submitted, 20), // submit without pixel/click event still counts
        ev(3, EventKind::Reported, 33),  // sent at +3: 30 min to report
        ev(4, EventKind::Reported, 14),  // sent at +4: 10 min to report; first report at +14
        PhishEvent {
            campaign_id: Uuid::from_u128(99),
            ..ev(4, EventKind::Clicked, 5)
        },
        ev(77, EventKind::Clicked, 5), // not a recipient
    ]);
    let r = campaign_report(camp, "Courier Sept", t0(), &rs, &events);
    assert_eq!(
        r.totals,
        Counts {
            recipients: 4,
            sent: 4,
            opened: 2,
            clicked: 2,
            submitted: 1,
            reported: 2
        }
    );
    assert_eq!(r.by_role[&Role::Phlebotomist].clicked, 2);
    assert_eq!(r.by_role[&Role::FrontDesk].reported, 1);
    assert_eq!(r.by_role[&Role::LabTechnologist].clicked, 0);
    assert_eq!(r.time_to_first_report_secs, Some(14 * 60));
    assert_eq!(r.median_time_to_report_secs, Some(20 * 60));
    assert_eq!(r.remedial, [Uuid::from_u128(1), Uuid::from_u128(2)]);
    let rates = click_rate_by_role(&r);
    assert_eq!(rates[0], (Role::Phlebotomist, 100.0));

    let rules = remedial_rules(&r, &[], "phishing-social-engineering", 14, t0(), |id| id);
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].min_completed_at, Some(t0()));
    // Re-running with the first rule stored adds only the second person.
    let again = remedial_rules(
        &r,
        &rules[..1],
        "phishing-social-engineering",
        14,
        t0(),
        |id| id,
    );
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].target,
        labguard_training::Target::Person(Uuid::from_u128(2))
    );

    let older = campaign_report(
        Uuid::from_u128(9),
        "Firmware June",
        t0() - Duration::days(90),
        &rs,
        &[],
    );
    let tr = trend(&[r.clone(), older]);
    assert_eq!(tr[0].name, "Firmware June");
    assert_eq!(tr[0].click_rate, 0.0);
    assert_eq!(
        (tr[1].click_rate, tr[1].submit_rate, tr[1].report_rate),
        (50.0, 25.0, 50.0)
    );
}

fn staff(n: u128, role: Role, email: &str, active: bool) -> labguard_core::Staff {
    labguard_core::Staff {
        id: Uuid::from_u128(n),
        username: format!("u{n}"),
        display_name: format!("Person {n}"),
        role,
        email: email.into(),
        active,
    }
}

#[test]
fn plan_selects_group_enforces_allow_list_and_dedupes_addresses() {
    let allow = DomainAllowList::new(&["lab.example.com"]).unwrap();
    let people = [
        staff(1, Role::Phlebotomist, "a@lab.example.com", true),
        staff(2, Role::Phlebotomist, "b@lab.example.com.evil.net", true),
        staff(3, Role::Phlebotomist, "A@LAB.example.com", true), // same mailbox as 1
        staff(4, Role::Phlebotomist, "d@lab.example.com", false), // inactive
        staff(5, Role::FrontDesk, "e@lab.example.com", true),    // not in group
        staff(6, Role::Phlebotomist, "f@lab.example.com", true),
    ];
    let mut n = 0u8;
    let plan = plan_recipients(
        &people,
        &TargetGroup::Roles(vec![Role::Phlebotomist]),
        &allow,
        7,
        || {
            n += 1;
            [n; 32]
        },
    );
    let mut ids: Vec<u128> = plan
        .recipients
        .iter()
        .map(|p| p.recipient.staff_id.as_u128())
        .collect();
    ids.sort();
    assert_eq!(ids, [1, 6]);
    assert_eq!(
        plan.rejected,
        [(
            Uuid::from_u128(2),
            PhishingError::DomainNotAllowed("lab.example.com.evil.net".into())
        )]
    );
    assert_eq!(plan.duplicates, [Uuid::from_u128(3)]);
    for p in &plan.recipients {
        assert_eq!(p.recipient.token_digest, p.token.digest());
    }
    assert_ne!(plan.recipients[0].token, plan.recipients[1].token);
    let everyone = plan_recipients(&people, &TargetGroup::AllStaff, &allow, 7, || [9; 32]);
    assert_eq!(everyone.recipients.len(), 3);
}

#[test]
fn tokens_are_found_in_forwarded_reports() {
    let a = token(1);
    let b = token(2);
    let body = format!(
        "> Reschedule: https://lg.lab.example.com/t/c/{a}\n> pixel https://lg.lab.example.com/t/o/{a}\n\
         other https://evil.example/t/c/{b} and https://lg.lab.example.com/t/c/{b}.\n\
         broken https://lg.lab.example.com/t/c/short",
        a = a.as_str(),
        b = b.as_str()
    );
    let found = tokens_in_text(&body, "https://lg.lab.example.com/");
    assert_eq!(found, [a, b]);
    assert!(tokens_in_text(&body, "").is_empty());
}
