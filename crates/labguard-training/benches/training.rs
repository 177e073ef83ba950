//! Throughput of the hot paths the server hits per request or per daily job.

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use labguard_core::Role;
use labguard_training::builtin::builtin_source;
use labguard_training::phishing::{campaign_report, EventKind, PhishEvent, Recipient};
use labguard_training::quiz::{answer_key, grade, present};
use labguard_training::{builtin_courses, Course};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let Some(src) = builtin_source("phishing-social-engineering") else {
        return;
    };
    c.bench_function("parse_course_markdown", |b| {
        b.iter(|| Course::parse_markdown(black_box(src)))
    });
    let Ok(courses) = builtin_courses() else {
        return;
    };
    let course = &courses[0];
    c.bench_function("present_and_grade", |b| {
        let key = answer_key(course, 7);
        b.iter(|| {
            black_box(present(course, 7));
            grade(course, 7, black_box(&key))
        })
    });
    c.bench_function("render_lessons_html", |b| b.iter(|| course.learner_view()));

    let t0 = Utc
        .with_ymd_and_hms(2026, 9, 1, 9, 0, 0)
        .single()
        .unwrap_or_default();
    let camp = uuid::Uuid::from_u128(1);
    let recipients: Vec<Recipient> = (0..2000u128)
        .map(|n| Recipient {
            staff_id: uuid::Uuid::from_u128(n),
            role: Role::ALL[(n % 7) as usize],
            email: format!("u{n}@lab.example.com"),
            display_name: format!("User {n}"),
            token_digest: String::new(),
        })
        .collect();
    let events: Vec<PhishEvent> = recipients
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            let kinds: &[EventKind] = match i % 4 {
                0 => &[EventKind::Sent, EventKind::Opened, EventKind::Clicked],
                1 => &[EventKind::Sent, EventKind::Reported],
                _ => &[EventKind::Sent],
            };
            kinds.iter().map(move |k| PhishEvent {
                campaign_id: camp,
                staff_id: r.staff_id,
                kind: *k,
                at: t0 + Duration::seconds(i as i64),
            })
        })
        .collect();
    c.bench_function("campaign_report_2000_recipients", |b| {
        b.iter(|| {
            campaign_report(
                camp,
                "bench",
                t0,
                black_box(&recipients),
                black_box(&events),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
