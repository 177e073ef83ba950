//! Parse throughput on the corpus lab result messages (ORU^R01 ×2, OUL^R22 ×1).
//!
//! `cargo bench -p labguard-hl7 --bench parse`. Each group runs twice: once reported in
//! bytes/s, once in messages/s.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use labguard_hl7::{LabReport, MappingOptions, Message};

const MESSAGES: [(&str, &str); 3] = [
    ("LAB-ORU-1", include_str!("../testdata/hl7/LAB-ORU-1.hl7")),
    ("ORU-R01-01", include_str!("../testdata/hl7/ORU-R01-01.hl7")),
    ("OUL-R22-01", include_str!("../testdata/hl7/OUL-R22-01.hl7")),
];

fn parse_all() -> usize {
    MESSAGES
        .iter()
        .map(|(_, m)| Message::parse(black_box(m)).map_or(0, |m| m.len()))
        .sum()
}

fn parse_and_map_all() -> usize {
    let opts = MappingOptions::default();
    let mut n = 0u128;
    let mut ids = |_: labguard_hl7::IdFor<'_>| {
        n += 1;
        uuid::Uuid::from_u128(n)
    };
    let mut total = 0;
    for (_, text) in MESSAGES {
        let Ok(msg) = Message::parse(black_box(text)) else {
            continue;
        };
        let Ok(report) = LabReport::read(&msg) else {
            continue;
        };
        let mapped = report.value.to_records(&opts, &mut ids);
        total += mapped.value.results.len() + mapped.problems.len();
    }
    total
}

fn bench(c: &mut Criterion) {
    let bytes: usize = MESSAGES.iter().map(|(_, m)| m.len()).sum();
    for (unit, tp) in [
        ("bytes", Throughput::Bytes(bytes as u64)),
        ("messages", Throughput::Elements(MESSAGES.len() as u64)),
    ] {
        let mut g = c.benchmark_group(format!("parse/{unit}"));
        g.throughput(tp.clone());
        g.bench_function("zero-copy parse", |b| b.iter(parse_all));
        g.bench_function("parse + typed mapping", |b| b.iter(parse_and_map_all));
        g.finish();
    }
    // Per message, to see how size and shape matter.
    let mut g = c.benchmark_group("parse/per-message");
    for (name, text) in MESSAGES {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| Message::parse(black_box(text)).map(|m| m.len()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
