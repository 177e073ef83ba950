//! Field encryption throughput at the sizes `openssl speed -evp aes-256-gcm` reports, so the
//! two can be compared as a ratio on the same machine (see `labguard bench crypto`).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use labguard_crypto::{FieldRef, KeyRing};

fn bench(c: &mut Criterion) {
    let mut ring = KeyRing::new(&[1; 32], &[2; 32], &[3; 32]);
    ring.add_data_key(1, &[9; 32]).expect("key");
    let f = FieldRef::new("results", "0b7c6f7e-0000-4000-8000-000000000000", "value");
    let mut g = c.benchmark_group("field");
    for size in [64usize, 1024, 16384] {
        let pt = vec![0x5au8; size];
        let ct = ring.seal(&f, &pt).expect("seal");
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("seal/{size}"), |b| {
            b.iter(|| ring.seal(&f, &pt).expect("seal"))
        });
        g.bench_function(format!("open/{size}"), |b| {
            b.iter(|| ring.open(&f, &ct).expect("open"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
