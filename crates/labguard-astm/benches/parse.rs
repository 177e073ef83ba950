//! ASTM parse throughput against labguard-hl7 on the same content: one patient, one
//! order, six chemistry results (`testdata/chemistry.astm` and `chemistry-oru.hl7`).
//!
//! `cargo bench -p labguard-astm --bench parse`. Each group runs twice: once reported in
//! bytes/s, once in records/s (ASTM records vs. HL7 segments: 10 vs. 9).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use labguard_astm::{encode, parse, Event, Limits, MappingOptions, Receiver};
use labguard_core::LoincCode;

const ASTM: &[u8] = include_bytes!("../testdata/chemistry.astm");
const HL7: &str = include_str!("../testdata/chemistry-oru.hl7");

fn options() -> MappingOptions {
    let mut o = MappingOptions::default();
    for (code, loinc) in [
        ("GLU", "2345-7"),
        ("NA", "2951-2"),
        ("K", "2823-3"),
        ("CL", "2075-0"),
        ("CREA", "2160-0"),
        ("BUN", "3094-0"),
    ] {
        if let Ok(l) = LoincCode::parse(loinc) {
            o.test_codes.insert(code.to_string(), l);
        }
    }
    o
}

/// Structural parse, touching every field of every record (HL7's parser indexes them
/// all up front; ASTM's splits on demand, so it is made to do the same work).
fn astm_parse() -> usize {
    let Ok(t) = parse(black_box(ASTM)) else {
        return 0;
    };
    t.records()
        .iter()
        .map(|r| r.fields().map(|f| f.raw().len()).sum::<usize>())
        .sum()
}

fn hl7_parse() -> usize {
    let Ok(m) = labguard_hl7::Message::parse(black_box(HL7)) else {
        return 0;
    };
    m.segments()
        .map(|s| {
            (1..=s.field_count())
                .map(|n| s.field(n).raw().len())
                .sum::<usize>()
        })
        .sum()
}

fn astm_map(opts: &MappingOptions) -> usize {
    let Ok(t) = parse(black_box(ASTM)) else {
        return 0;
    };
    let mut n = 0u128;
    let m = t.to_records(opts, &mut |_| {
        n += 1;
        Some(uuid::Uuid::from_u128(n))
    });
    m.value.lab.results.len() + m.problems.len()
}

fn hl7_map() -> usize {
    let Ok(msg) = labguard_hl7::Message::parse(black_box(HL7)) else {
        return 0;
    };
    let Ok(report) = labguard_hl7::LabReport::read(&msg) else {
        return 0;
    };
    let mut n = 0u128;
    let m = report
        .value
        .to_records(&labguard_hl7::MappingOptions::default(), &mut |_| {
            n += 1;
            uuid::Uuid::from_u128(n)
        });
    m.value.results.len() + m.problems.len()
}

/// The link layer: ENQ, ten frames, EOT through a receiver, accepting each message.
fn astm_receive(frames: &[Vec<u8>]) -> usize {
    let mut rx = Receiver::new(Limits::default());
    let now = Duration::ZERO;
    let mut got = rx.feed(&[labguard_astm::frame::ENQ], now).len();
    for f in frames {
        for ev in rx.feed(black_box(f), now) {
            if let Event::Message(m) = ev {
                got += m.len();
                rx.accept(now);
            }
        }
    }
    got
}

fn bench(c: &mut Criterion) {
    let opts = options();
    let records: Vec<&[u8]> = ASTM.split_inclusive(|&b| b == b'\r').collect();
    let frames = encode::transmission(&records);
    let wire: usize = frames.iter().map(Vec::len).sum();
    for (unit, astm_tp, hl7_tp) in [
        (
            "bytes",
            Throughput::Bytes(ASTM.len() as u64),
            Throughput::Bytes(HL7.len() as u64),
        ),
        ("records", Throughput::Elements(10), Throughput::Elements(9)),
    ] {
        let mut g = c.benchmark_group(format!("parse/{unit}"));
        g.throughput(astm_tp.clone());
        g.bench_function("astm parse", |b| b.iter(astm_parse));
        g.bench_function("astm parse + mapping", |b| b.iter(|| astm_map(&opts)));
        g.throughput(hl7_tp);
        g.bench_function("hl7 parse", |b| b.iter(hl7_parse));
        g.bench_function("hl7 parse + mapping", |b| b.iter(hl7_map));
        g.finish();
    }
    let mut g = c.benchmark_group("link");
    g.throughput(Throughput::Bytes(wire as u64));
    g.bench_function("astm receive (E1381)", |b| b.iter(|| astm_receive(&frames)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
