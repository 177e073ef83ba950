use chrono::{Duration, TimeZone, Utc};
use labguard_core::Role;
use labguard_training::chart::{bar_chart, line_chart, Series};
use labguard_training::{hygiene_panel, AccountFacts};
use uuid::Uuid;

#[test]
fn hygiene_panel_counts() {
    let now = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
    let acct = |n: u128, role, mfa, bl, last: Option<i64>| AccountFacts {
        staff_id: Uuid::from_u128(n),
        role,
        active: true,
        mfa_enrolled: mfa,
        failed_blocklist_at_last_change: bl,
        last_sign_in: last.map(|d| now - Duration::days(d)),
        created_at: now - Duration::days(400),
    };
    let mut gone = acct(5, Role::Phlebotomist, false, true, None);
    gone.active = false;
    let p = hygiene_panel(
        &[
            acct(1, Role::Phlebotomist, true, false, Some(1)),
            acct(2, Role::FrontDesk, false, true, Some(10)),
            acct(3, Role::Auditor, false, false, Some(91)),
            acct(4, Role::LabTechnologist, true, false, None),
            gone,
        ],
        90,
        now,
    );
    assert_eq!((p.active_accounts, p.mfa_enrolled), (4, 2));
    assert_eq!(p.mfa_coverage_percent, 50.0);
    assert_eq!(p.phi_without_mfa, [Uuid::from_u128(2)]);
    assert_eq!(p.blocklist_failures, [Uuid::from_u128(2)]);
    assert_eq!(p.dormant, [Uuid::from_u128(3), Uuid::from_u128(4)]);
    assert_eq!(hygiene_panel(&[], 90, now).mfa_coverage_percent, 100.0);
}

#[test]
fn bar_chart_escapes_and_scales() {
    let svg = bar_chart(
        "Clicks <by> role",
        &[
            ("front-desk".into(), 50.0),
            ("<script>".into(), f64::NAN),
            ("x".into(), 100.0),
        ],
        Some(100.0),
        "%",
    );
    assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
    assert!(svg.contains("<title>Clicks &lt;by&gt; role</title>"));
    assert!(!svg.contains("<script>"));
    assert_eq!(svg.matches("<rect ").count(), 3);
    // Plot is 220 px high from y=36: 50% -> height 110, 100% -> 220, NaN -> 0.
    assert!(svg.contains("height=\"110.0\""), "{svg}");
    assert!(svg.contains("height=\"220.0\""));
    assert!(svg.contains("height=\"0.0\""));
    // Value labels above the bars (50% bar top is y=146, label at 142).
    assert!(
        svg.contains("y=\"142.0\" text-anchor=\"middle\">50%</text>"),
        "{svg}"
    );
}

#[test]
fn line_chart_has_one_polyline_per_series() {
    let svg = line_chart(
        "Trend",
        &["Jan".into(), "Apr".into()],
        &[
            Series {
                name: "clicked %".into(),
                values: vec![40.0, 20.0],
            },
            Series {
                name: "reported & more".into(),
                values: vec![10.0, f64::INFINITY],
            },
        ],
        Some(100.0),
        "%",
    );
    assert_eq!(svg.matches("<polyline").count(), 2);
    assert_eq!(svg.matches("<circle").count(), 4);
    assert!(svg.contains("reported &amp; more"));
    assert!(!svg.contains("inf") && !svg.contains("NaN"));
    // x of point 0 is 48 + 288*0.5 = 192; 40% of 220 px plot -> y = 36 + 220 - 88 = 168.
    assert!(svg.contains("192.0,168.0"), "{svg}");
}
