//! Scan throughput on a synthetic 1M-access stream (30 days, 200 staff, 50,000 patients,
//! care events behind about 70% of accesses), and the size of the state after it.
//! Prints the per-access time's inputs and the state size once before measuring.

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use labguard_core::{Id, Role};
use labguard_privacy::{
    scan, Access, BlindKey, CareEvent, CareKind, Config, MemoryContext, PatientProfile, PatientRef,
    Reason, ScanState, Seen, Shift, StaffProfile,
};
use std::hint::black_box;

const ACCESSES: u64 = 1_000_000;
const STAFF: u64 = 200;
const PATIENTS: u64 = 50_000;

/// A fixed LCG (Knuth's MMIX constants): the same stream every run, no rand dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn patient_ref(n: u64) -> PatientRef {
    PatientRef::new(format!("pt-{:020x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn role(n: u64) -> Role {
    [
        Role::Phlebotomist,
        Role::FrontDesk,
        Role::LabTechnologist,
        Role::Pathologist,
    ][(n % 4) as usize]
}

fn world(rng: &mut Lcg) -> (MemoryContext, Vec<Access>) {
    let mut ctx = MemoryContext::new();
    for s in 0..STAFF {
        ctx.add_staff(StaffProfile {
            id: Id::from_u128(u128::from(s)),
            role: role(s),
            department: Some(format!("dept-{}", s % 8)),
            surname_key: Some(BlindKey([(s % 251) as u8; 32])),
            address_key: Some(BlindKey([(s % 241) as u8; 32])),
            is_also_patient: (s % 10 == 0).then(|| patient_ref(s)),
            shift: Some(Shift {
                days: [true, true, true, true, true, false, false],
                start_minute: 7 * 60,
                end_minute: 19 * 60,
                utc_offset_minutes: 0,
            }),
        });
    }
    for p in 0..PATIENTS {
        ctx.add_patient(PatientProfile {
            patient: patient_ref(p),
            surname_key: Some(BlindKey([(p % 997 % 256) as u8; 32])),
            address_key: None,
            restricted: p % 500 == 0,
            deceased: p % 1000 == 1,
            last_activity: Some(start() - Duration::days((p % 800) as i64)),
        });
    }
    let span = 30 * 24 * 3600;
    let mut stream = Vec::with_capacity(ACCESSES as usize);
    for seq in 0..ACCESSES {
        let at = start() + Duration::seconds((seq * span / ACCESSES) as i64);
        let s = rng.below(STAFF);
        let p = rng.below(PATIENTS);
        let linked = rng.below(10) < 7;
        if linked && seq % 4 == 0 {
            // One care event per four linked accesses keeps the event lists realistic.
            ctx.add_event(CareEvent {
                at: at - Duration::hours(2),
                patient: patient_ref(p),
                kind: CareKind::Order,
                staff: Some(Id::from_u128(u128::from(s))),
                department: Some(format!("dept-{}", s % 8)),
            });
        }
        stream.push(Access {
            seq,
            at,
            staff: Id::from_u128(u128::from(s)),
            role: role(s),
            patient: patient_ref(p),
            what: Seen::Results,
            reason: if linked {
                Reason::Worklist
            } else {
                Reason::Unstated
            },
        });
    }
    (ctx, stream)
}

fn bench(c: &mut Criterion) {
    let mut rng = Lcg(42);
    let (ctx, stream) = world(&mut rng);
    let cfg = Config::default();
    let (state, alerts) = scan(ScanState::default(), &stream, &ctx, &cfg);
    let json = serde_json::to_vec(&state).map(|v| v.len()).unwrap_or(0);
    eprintln!(
        "privacy scan: {} accesses, {} alerts, state ~{} KiB in memory, {} KiB as JSON",
        state.examined,
        alerts.len(),
        state.approx_bytes() / 1024,
        json / 1024
    );
    let mut g = c.benchmark_group("privacy_scan");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ACCESSES));
    g.bench_function("scan_1m_accesses", |b| {
        b.iter(|| scan(ScanState::default(), black_box(&stream), &ctx, &cfg))
    });
    // Steady state: the next 10,000 accesses on a warm 1M-access state, batch by batch
    // as the store runs it.
    let (warm, _) = scan(ScanState::default(), &stream[..990_000], &ctx, &cfg);
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("scan_10k_on_warm_state", |b| {
        b.iter(|| scan(warm.clone(), black_box(&stream[990_000..]), &ctx, &cfg))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
