//! Campaign sending against a real SMTP server on 127.0.0.1 (the testkit's sink): pacing,
//! the domain allow-list, retries with backoff while the server is down or answers 4xx,
//! give-ups, and never two copies to one recipient.

use std::cell::{Cell, RefCell};

use chrono::{DateTime, Duration, TimeZone, Utc};
use labguard_core::{Id, Role, Staff};
use labguard_mail::{create_campaign, launch, CampaignSpec, LaunchOptions, Outcome, Pace};
use labguard_store::{Actor, DataDir, NewRecipient, Store, StoreOptions};
use labguard_testkit::sink::{Rule, Sink};
use labguard_training::phishing::{tokens_in_text, TargetGroup};

/// A clock that moves only when the sender sleeps; `on_sleep` lets a test change the world
/// (start the SMTP server) while the sender waits.
struct FakePace<'a> {
    now: Cell<DateTime<Utc>>,
    sleeps: RefCell<Vec<std::time::Duration>>,
    on_sleep: Box<dyn Fn(usize) + 'a>,
}

impl<'a> FakePace<'a> {
    fn new(on_sleep: impl Fn(usize) + 'a) -> Self {
        FakePace {
            now: Cell::new(t0()),
            sleeps: RefCell::default(),
            on_sleep: Box::new(on_sleep),
        }
    }
}

impl Pace for FakePace<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.now.get()
    }
    fn sleep(&self, d: std::time::Duration) {
        self.now
            .set(self.now.get() + Duration::from_std(d).unwrap_or_default());
        self.sleeps.borrow_mut().push(d);
        (self.on_sleep)(self.sleeps.borrow().len());
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap()
}

fn store(dir: &tempfile::TempDir) -> Store {
    DataDir::sqlite(dir.path().join("data"))
        .init(StoreOptions {
            node: "test".into(),
            ..StoreOptions::default()
        })
        .unwrap()
}

fn add(store: &Store, name: &str, email: &str, role: Role) -> Staff {
    let s = Staff {
        id: Id::new_v4(),
        username: name.into(),
        display_name: format!("{name} Example"),
        role,
        email: email.into(),
        active: true,
    };
    store.add_staff(&Actor::operator(), &s).unwrap();
    s
}

fn spec(smtp_url: String, per_minute: u32, max_attempts: u32) -> CampaignSpec {
    CampaignSpec {
        name: "courier".into(),
        template_id: "courier-delivery".into(),
        target: TargetGroup::AllStaff,
        from_address: "dispatch@lab.example.org".into(),
        smtp_url,
        base_url: "https://labguard.lab.example.org:8443".into(),
        allowed_domains: vec![],
        per_minute,
        window_start: t0(),
        window_end: t0() + Duration::hours(8),
        max_attempts,
    }
}

fn opts() -> LaunchOptions {
    LaunchOptions {
        lab_name: "Northside Lab".into(),
        backoff_base: Duration::seconds(60),
        backoff_max: Duration::hours(1),
        timeout: std::time::Duration::from_secs(10),
    }
}

#[test]
fn paced_only_to_allowed_domains_and_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let op = Actor::operator();
    store
        .set_lab_mail_domains(&op, &["lab.example.org".into()])
        .unwrap();
    let ana = add(&store, "ana", "ana@lab.example.org", Role::Phlebotomist);
    let bo = add(&store, "bo", "bo@lab.example.org", Role::LabTechnologist);
    let cy = add(&store, "cy", "cy@LAB.example.org", Role::FrontDesk);
    let ev = add(
        &store,
        "eve",
        "eve@lab.example.org.evil.net",
        Role::FrontDesk,
    );
    let sink = Sink::start().unwrap();

    // A campaign cannot widen the lab's list.
    let mut wide = spec(sink.url(), 6, 3);
    wide.allowed_domains = vec!["evil.net".into()];
    let err = create_campaign(&store, &op, &wide).unwrap_err().to_string();
    assert!(err.contains("not one of the lab's mail domains"), "{err}");

    let created = create_campaign(&store, &op, &spec(sink.url(), 6, 3)).unwrap();
    assert_eq!(created.recipients, 3);
    assert_eq!(created.refused.len(), 1);
    assert_eq!(created.refused[0].staff_id, ev.id);
    assert!(created.refused[0]
        .reason
        .contains("not one of the lab's configured domains"));

    let pace = FakePace::new(|_| {});
    let report = launch(
        &store,
        &op,
        created.campaign_id,
        &opts(),
        &pace,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(
        (report.sent, report.failed, report.pending),
        (3, 0, 0),
        "{report:?}"
    );
    for s in [&ana, &bo, &cy] {
        let got = sink.received_for(&s.email.to_ascii_lowercase());
        assert_eq!(got.len(), 1, "{}", s.username);
        let text = got[0].decoded();
        assert!(text.contains("Subject: Missed specimen pickup"), "{text}");
        let first = s.display_name.split(' ').next().unwrap();
        assert!(text.contains(&format!("Hello {first},")), "{text}");
        assert!(text.contains("Northside Lab"), "{text}");
        assert_eq!(got[0].mail_from, "dispatch@lab.example.org");
        // Exactly one tracking token per recipient, and different ones.
        let tokens = tokens_in_text(&text, "https://labguard.lab.example.org:8443");
        assert_eq!(tokens.len(), 1, "{}: {text}", s.username);
    }
    assert!(sink.received_for("eve@lab.example.org.evil.net").is_empty());
    // Tokens: 256 random bits each, all different, and never stored in the clear (the
    // database holds only their SHA-256).
    let tokens: Vec<String> = sink
        .received()
        .iter()
        .flat_map(|m| tokens_in_text(&m.decoded(), "https://labguard.lab.example.org:8443"))
        .map(|t| t.as_str().to_string())
        .collect();
    assert_eq!(tokens.len(), 3);
    let distinct: std::collections::BTreeSet<_> = tokens.iter().collect();
    assert_eq!(distinct.len(), 3);
    let db_path = DataDir::sqlite(dir.path().join("data")).db_path();
    let db = std::fs::read(&db_path).unwrap_or_default();
    let wal = std::fs::read(format!("{}-wal", db_path.display())).unwrap_or_default();
    assert!(!db.is_empty());
    for t in &tokens {
        for bytes in [&db, &wal] {
            assert!(
                !bytes.windows(t.len()).any(|w| w == t.as_bytes()),
                "token stored in the clear"
            );
        }
        let digest = labguard_training::phishing::TrackingToken::parse(t)
            .unwrap()
            .digest();
        assert!(
            db.windows(digest.len()).any(|w| w == digest.as_bytes())
                || wal.windows(digest.len()).any(|w| w == digest.as_bytes())
        );
    }
    // Rate: 6 a minute, so attempts are at least 10 s apart on the sender's clock.
    let times: Vec<_> = report.attempts.iter().map(|a| a.at).collect();
    assert_eq!(times.len(), 3);
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= Duration::seconds(10), "{times:?}");
    }
    // Launching again sends nothing more.
    let again = launch(
        &store,
        &op,
        created.campaign_id,
        &opts(),
        &pace,
        &mut |_, _| {},
    )
    .unwrap();
    assert!(again.attempts.is_empty());
    assert_eq!(sink.received().len(), 3);

    // A recipient outside the list that reached the store anyway is refused at send time.
    let c2 = labguard_store::Campaign {
        id: Id::new_v4(),
        ..store.campaign(&op, created.campaign_id).unwrap()
    };
    store
        .create_campaign(
            &op,
            &c2,
            &[NewRecipient {
                staff_id: ev.id,
                role: ev.role,
                email: ev.email.clone(),
                display_name: ev.display_name.clone(),
            }],
        )
        .unwrap();
    let r = launch(&store, &op, c2.id, &opts(), &pace, &mut |_, _| {}).unwrap();
    assert_eq!(r.failed, 1);
    assert!(r.recipients[0]
        .last_error
        .as_deref()
        .unwrap()
        .starts_with("refused: recipient domain"));
    assert_eq!(sink.received().len(), 3, "nothing sent outside the lab");
}

#[test]
fn server_down_is_retried_with_backoff_then_delivers_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let op = Actor::operator();
    add(&store, "ana", "ana@lab.example.org", Role::Phlebotomist);
    // A port with nothing listening: reserve it, then free it.
    let port = labguard_testkit::free_port();
    let created = create_campaign(
        &store,
        &op,
        &spec(format!("smtp://127.0.0.1:{port}"), 60, 5),
    )
    .unwrap();
    let sink: RefCell<Option<Sink>> = RefCell::new(None);
    // The server comes up during the sender's second wait.
    let pace = FakePace::new(|n| {
        if n == 2 && sink.borrow().is_none() {
            *sink.borrow_mut() =
                Some(Sink::bind(format!("127.0.0.1:{port}").parse().unwrap()).unwrap());
        }
    });
    let report = launch(
        &store,
        &op,
        created.campaign_id,
        &opts(),
        &pace,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let a = &report.attempts;
    assert_eq!(a.len(), 3, "{a:?}");
    assert!(!a[0].accepted && !a[1].accepted && a[2].accepted);
    assert!(a[0].error.as_deref().unwrap().contains("cannot reach"));
    // Exponential backoff: 60 s, then 120 s.
    assert!(a[1].at - a[0].at >= Duration::seconds(60));
    assert!(a[2].at - a[1].at >= Duration::seconds(120));
    let deliveries = store.campaign_deliveries(&op, created.campaign_id).unwrap();
    let outcomes: Vec<&str> = deliveries.iter().map(|d| d.outcome.as_str()).collect();
    assert_eq!(outcomes, ["deferred", "deferred", "accepted"]);
    // The sink offers no STARTTLS, so the opportunistic sender went out in the clear, and
    // both the delivery row and the launch report say so.
    let transports: Vec<_> = deliveries.iter().map(|d| d.transport).collect();
    assert_eq!(
        transports,
        [None, None, Some(labguard_store::MailTransport::Plain)]
    );
    assert_eq!(report.sent_without_tls, 1);
    let sink = sink.borrow();
    assert_eq!(sink.as_ref().unwrap().received().len(), 1);
}

#[test]
fn refusals_are_retried_reported_and_never_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let op = Actor::operator();
    add(&store, "ana", "ana@lab.example.org", Role::Phlebotomist);
    add(&store, "bo", "bo@lab.example.org", Role::LabTechnologist);
    add(&store, "cy", "cy@lab.example.org", Role::FrontDesk);
    add(&store, "di", "di@lab.example.org", Role::Pathologist);
    let sink = Sink::start().unwrap();
    // Ana: greylisted once. Bo: always 4xx. Cy: no such user. Di: the connection drops
    // after the message was handed over.
    sink.set_rule(
        "ana@lab.example.org",
        Rule::RefuseRcpt {
            reply: "451 4.7.1 greylisted".into(),
            times: 1,
        },
    );
    sink.set_rule(
        "bo@lab.example.org",
        Rule::RefuseRcpt {
            reply: "452 4.2.2 mailbox full".into(),
            times: u32::MAX,
        },
    );
    sink.set_rule(
        "cy@lab.example.org",
        Rule::RefuseRcpt {
            reply: "550 5.1.1 no such user".into(),
            times: u32::MAX,
        },
    );
    sink.set_rule("di@lab.example.org", Rule::DropAfterData);
    let created = create_campaign(&store, &op, &spec(sink.url(), 120, 3)).unwrap();
    let pace = FakePace::new(|_| {});
    let report = launch(
        &store,
        &op,
        created.campaign_id,
        &opts(),
        &pace,
        &mut |_, _| {},
    )
    .unwrap();
    let by = |e: &str| {
        report
            .recipients
            .iter()
            .find(|r| r.email == e)
            .unwrap()
            .clone()
    };
    assert_eq!(by("ana@lab.example.org").outcome, Outcome::Sent);
    assert_eq!(by("ana@lab.example.org").attempts, 2);
    let bo = by("bo@lab.example.org");
    assert_eq!((bo.outcome, bo.attempts), (Outcome::Failed, 3));
    assert!(bo
        .last_error
        .unwrap()
        .starts_with("gave up after 3 attempts"));
    let cy = by("cy@lab.example.org");
    assert_eq!(
        (cy.outcome, cy.attempts),
        (Outcome::Failed, 1),
        "5xx is not retried"
    );
    let di = by("di@lab.example.org");
    assert_eq!((di.outcome, di.attempts), (Outcome::Unconfirmed, 1));
    assert_eq!((report.sent, report.failed, report.unconfirmed), (1, 2, 1));

    // Relaunch (as after a crash): nobody is mailed again.
    let before = sink.received().len();
    let again = launch(
        &store,
        &op,
        created.campaign_id,
        &opts(),
        &pace,
        &mut |_, _| {},
    )
    .unwrap();
    assert!(again.attempts.is_empty());
    assert_eq!(sink.received().len(), before);
    for who in ["ana@lab.example.org", "di@lab.example.org"] {
        assert_eq!(sink.received_for(who).len(), 1, "{who}");
    }
    assert!(sink.received_for("bo@lab.example.org").is_empty());
}

#[test]
fn required_tls_is_not_downgraded() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let op = Actor::operator();
    add(&store, "ana", "ana@lab.example.org", Role::Phlebotomist);
    let sink = Sink::start().unwrap();
    let created = create_campaign(
        &store,
        &op,
        &spec(format!("{}?tls=required", sink.url()), 60, 3),
    )
    .unwrap();
    let pace = FakePace::new(|_| {});
    let report = launch(
        &store,
        &op,
        created.campaign_id,
        &opts(),
        &pace,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(report.failed, 1);
    assert!(report.recipients[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("STARTTLS"));
    assert!(sink.received().is_empty());
}
