use labguard_hl7::*;
fn main() {
    for f in std::env::args().skip(1) {
        let bytes = std::fs::read(&f).unwrap();
        let text = decode(&bytes).unwrap();
        let msg = Message::parse(&text).unwrap();
        println!(
            "== {f}: {} segments, problems {:?}",
            msg.len(),
            msg.problems()
        );
        match LabReport::read(&msg) {
            Err(p) => println!("  not a lab report: {p}"),
            Ok(r) => {
                for p in &r.problems {
                    println!("  read problem: {p}");
                }
                let mut n = 0u128;
                let m = r.value.to_records(&MappingOptions::default(), &mut |_| {
                    n += 1;
                    uuid::Uuid::from_u128(n)
                });
                for p in &m.problems {
                    println!("  map problem: {p}");
                }
                println!("{:#?}", m.value);
            }
        }
    }
}
