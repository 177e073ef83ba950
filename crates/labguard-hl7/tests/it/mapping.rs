//! Mapping rules on hand-written messages: statuses, flags, fallbacks, ids, PHI-free
//! problems, and a hostile-size message.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use labguard_core::{AbnormalFlag, ContainerType, Id, ResultStatus};
use labguard_hl7::{
    IdFor, LabRecords, LabReport, Mapped, MappingOptions, Message, ProblemKind, Record,
};

fn msg(body: &str) -> String {
    format!(
        "MSH|^~\\&|LIS|LAB|LG|CLINIC|20240301120000||ORU^R01^ORU_R01|C1|P|2.5.1\r\
         PID|1||MRN-7^^^LAB^MR~999^^^SSA^SS||Roe^Rita||19700203|F|||1 Main St^^Town^ST^12345||^PRN^PH^^1^555^1234567\r\
         {body}"
    )
}

fn map_with(text: &str, opts: MappingOptions) -> Mapped<LabRecords> {
    let m = Message::parse(text).expect("parses");
    let report = LabReport::read(&m).expect("lab report");
    let mut known: HashMap<String, Id> = HashMap::new();
    let mut mapped = report.value.to_records(&opts, &mut |what| {
        let key = match what {
            IdFor::Patient { mrn } => format!("p:{mrn}"),
            IdFor::Specimen { accession } => format!("s:{accession}"),
            IdFor::Order { placer, filler } => format!("o:{placer:?}:{filler:?}"),
            IdFor::Result => format!("r:{}", known.len()),
        };
        let next = Id::from_u128(known.len() as u128 + 1);
        *known.entry(key).or_insert(next)
    });
    let mut all = report.problems;
    all.append(&mut mapped.problems);
    mapped.problems = all;
    mapped
}

fn map(text: &str) -> Mapped<LabRecords> {
    map_with(text, MappingOptions::default())
}

const OBR: &str = "OBR|1|P1|F1|24331-1^Lipid panel^LN|||20240301100000+0100|||||||||D123^Who^Doc\r";

fn obx(set: u32, code: &str, value: &str, flag: &str, status: &str) -> String {
    format!(
        "OBX|{set}|NM|{code}^Name^LN||{value}|mg/dL|0-10|{flag}|||{status}|||20240301103000+0100\r"
    )
}

#[test]
fn statuses_and_corrections() {
    let mut body = String::from(OBR);
    for (i, st) in ["F", "C", "P", "R", "S", "A", "I"].iter().enumerate() {
        body.push_str(&obx(i as u32 + 1, "2093-3", "5", "N", st));
    }
    for st in ["X", "D", "W", "Q", ""] {
        body.push_str(&obx(9, "2093-3", "5", "N", st));
    }
    let m = map(&msg(&body));
    let got: Vec<_> = m.value.results.iter().map(|r| r.status).collect();
    use ResultStatus::*;
    assert_eq!(
        got,
        [
            Final,
            Corrected,
            Preliminary,
            Preliminary,
            Preliminary,
            Corrected,
            Preliminary
        ]
    );
    let kinds: Vec<_> = m
        .problems
        .iter()
        .map(|p| (p.location.field, p.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (Some(11), ProblemKind::NoResult),
            (Some(11), ProblemKind::NoResult),
            (Some(11), ProblemKind::NoResult),
            (Some(11), ProblemKind::UnknownCode { table: "0085" }),
            (Some(11), ProblemKind::MissingValue),
        ]
    );
}

#[test]
fn abnormal_flags_never_hide_an_unknown_flag() {
    let mut body = String::from(OBR);
    let flags = [
        "", "N", "L", "H", "LL", "HH", "A", "AA", "<", ">", "LU", "HU", "POS", "W~H", "ZZ",
    ];
    for (i, f) in flags.iter().enumerate() {
        body.push_str(&obx(i as u32 + 1, "2093-3", "5", f, "F"));
    }
    let m = map(&msg(&body));
    use AbnormalFlag::*;
    let got: Vec<_> = m.value.results.iter().map(|r| r.abnormal_flag).collect();
    assert_eq!(
        got,
        [
            Normal,
            Normal,
            Low,
            High,
            CriticalLow,
            CriticalHigh,
            Abnormal,
            Abnormal,
            Low,
            High,
            CriticalLow,
            CriticalHigh,
            Abnormal,
            High,
            Abnormal
        ]
    );
    assert_eq!(m.problems.len(), 1);
    assert_eq!(
        m.problems[0].kind,
        ProblemKind::UnknownCode { table: "0078" }
    );
    assert_eq!(m.problems[0].dropped, None);
    assert_eq!(m.problems[0].location.occurrence, 15);
}

#[test]
fn loinc_problems_and_order_tests_fallback() {
    let body = "OBR|1|P1|F1|LIPID^Lipid panel^L|||20240301100000|||||||||D1^Doc\r\
        OBX|1|NM|2093-3^Cholesterol^LN||190|mg/dL|<200|N|||F\r\
        OBX|2|NM|2093-4^Bad check digit^LN||1|mg/dL||N|||F\r\
        OBX|3|NM|CHOL^Local^L^2571-8^Triglyceride^LN||120|mg/dL||N|||F\r\
        OBX|4|NM|CHOL^Local only^99LOC||1|mg/dL||N|||F\r\
        OBX|5|NM|||1|mg/dL||N|||F\r";
    let m = map(&msg(body));
    let codes: Vec<_> = m.value.results.iter().map(|r| r.analyte.as_str()).collect();
    assert_eq!(codes, ["2093-3", "2571-8"]); // alternate coding used when it is LN
    let order = &m.value.orders[0];
    let tests: Vec<_> = order.tests.iter().map(|t| t.as_str()).collect();
    assert_eq!(tests, ["2093-3", "2571-8"]);
    assert_eq!(order.ordering_provider, "D1");
    let kinds: Vec<_> = m
        .problems
        .iter()
        .map(|p| (p.location.index, p.location.field, p.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (3, Some(4), ProblemKind::NotLoinc),
            (5, Some(3), ProblemKind::InvalidLoinc),
            (7, Some(3), ProblemKind::NotLoinc),
            (8, Some(3), ProblemKind::MissingValue),
        ]
    );
    let r = &m.value.results[0];
    assert_eq!(
        (r.reference_range.low, r.reference_range.high),
        (None, Some(200.0))
    );
    // No OBX-14: the order's OBR-7, read with the default offset.
    assert_eq!(
        r.observed_at,
        "2024-03-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
}

#[test]
fn default_offset_applies_to_local_times() {
    let body = "OBR|1|P1|F1|2093-3^Chol^LN|||20240301100000|||||||||D1\r\
        OBX|1|NM|2093-3^Cholesterol^LN||190|mg/dL||N|||F\r";
    let opts = MappingOptions {
        default_offset: FixedOffset::east_opt(2 * 3600).unwrap(),
    };
    let m = map_with(&msg(body), opts);
    assert_eq!(
        m.value.results[0].observed_at,
        "2024-03-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        m.value.orders[0].placed_at,
        "2024-03-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
}

#[test]
fn specimen_mapping_and_typed_values() {
    let body = "ORC|RE|P9|F9|||||||||^Nurse^Ann\r\
        OBR|1|P9|F9|2345-7^Glucose^LN|||20240301093000+0100||||||||||||||||||F\r\
        OBX|1|SN|2345-7^Glucose^LN||<^3.5|mmol/L|3.9-5.5|L|||F|||20240301094000+0100||TECH1||ANALYZER-2^LAB\r\
        NTE|1|L|Haemolysed \\T\\ repeated\r\
        SPM|1|ACC-1&LAB^ACC-9&LAB||BLD^Blood^HL70487||FL^Sodium fluoride^HL70371|VP^Venipuncture|LACF^Left antecubital fossa^HL70163|||P||||||20240301091500+0100|20240301092000+0100\r";
    let text = msg(body);
    let m = map(&text);
    assert!(
        m.problems
            .iter()
            .all(|p| p.kind == ProblemKind::MissingValue),
        "{:?}",
        m.problems
    );
    // The only problem: nobody is named as collector (OBR-10).
    assert_eq!(m.problems.len(), 1);
    assert_eq!(m.problems[0].location.field, Some(10));
    assert_eq!(m.problems[0].dropped, Some(Record::Specimen));
    let r = &m.value.results[0];
    assert_eq!((r.value.as_str(), r.units.as_str()), ("<3.5", "mmol/L"));
    assert_eq!(r.abnormal_flag, AbnormalFlag::Low);
    assert_eq!(r.verified_by.as_deref(), Some("TECH1"));
    assert_eq!(r.performing_device.as_deref(), Some("ANALYZER-2"));
    let order = &m.value.orders[0];
    assert_eq!(order.ordering_provider, "Ann Nurse"); // ORC-12 has a name, no id
    assert_eq!(r.order_id, Some(order.id));
    assert_eq!(r.specimen_id, order.specimen_id);
    assert!(r.specimen_id.is_some());

    // With a collector in OBR-10 the specimen maps, its tube told by the additive.
    let with_collector = text.replace(
        "20240301093000+0100|||",
        "20240301093000+0100|||PHLEB7^Draw^Dee",
    );
    let m = map(&with_collector);
    assert!(m.problems.is_empty(), "{:?}", m.problems);
    let s = &m.value.specimens[0];
    assert_eq!(s.accession, "ACC-9");
    assert_eq!(s.collector, "PHLEB7");
    assert_eq!(s.container, ContainerType::Fluoride);
    assert_eq!(s.body_site, "Left antecubital fossa");
    assert_eq!(
        s.collected_at,
        "2024-03-01T08:15:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    let p = &m.value.patients[0];
    assert_eq!(p.mrn, "MRN-7");
    assert_eq!(p.phone.as_deref(), Some("1 555 1234567"));
    assert_eq!(p.address.as_ref().unwrap().postal_code, "12345");
    assert_eq!(m.value.results[0].patient_id, p.id);
}

#[test]
fn problems_never_contain_values() {
    // Every field holds a recognisable marker; none may surface in a problem text.
    let body = "OBR|1|SECRET1|SECRET2|SECRET3^SECRET4^SECRET5|||SECRET6||||||||||SECRET7\r\
        OBX|1|NM|SECRET8^SECRET9^LN||SECRET10|SECRET11|SECRET12|SECRET13|||SECRET14|||SECRET15\r\
        SPM|1|SECRET16||SECRET17|||||||||||||SECRET18\r";
    let text = msg(body).replace("Roe^Rita||19700203", "SECRETNAME^SECRETGIVEN||SECRETDOB");
    let m = map(&text);
    assert!(m.problems.len() >= 6);
    for p in &m.problems {
        let s = p.to_string();
        assert!(!s.contains("SECRET"), "{s}");
        assert!(!format!("{:?}", p).contains("SECRET"), "{p:?}");
    }
}

#[test]
fn several_patients_and_same_ids_for_same_mrn() {
    let body = format!(
        "{OBR}{}PID|2||MRN-8^^^LAB^MR||Poe^Pat||19600101|M\r{}{}PID|3||MRN-7^^^LAB^MR||Roe^Rita||19700203|F\r{OBR}{}",
        obx(1, "2093-3", "1", "N", "F"),
        OBR.replace("P1|F1", "P2|F2"),
        obx(1, "2093-3", "2", "N", "F"),
        obx(1, "2093-3", "3", "N", "F"),
    );
    let m = map(&msg(&body));
    assert!(m.problems.is_empty(), "{:?}", m.problems);
    let pats: Vec<_> = m
        .value
        .results
        .iter()
        .map(|r| (r.value.as_str(), r.patient_id))
        .collect();
    let (p7, p8) = (m.value.patients[0].id, m.value.patients[1].id);
    assert_eq!(pats, [("1", p7), ("2", p8), ("3", p7)]);
    assert_eq!(m.value.patients.len(), 3);
    assert_eq!(m.value.orders[0].id, m.value.orders[2].id); // same placer/filler numbers
}

#[test]
fn no_patient_means_no_results_but_no_panic() {
    let text = format!(
        "MSH|^~\\&|A|B|C|D|20240101||OUL^R22|1|P|2.5.1\r{OBR}{}",
        obx(1, "2093-3", "1", "N", "F")
    );
    let m = map(&text);
    assert!(m.value.results.is_empty());
    assert!(m
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::MissingSegment && p.dropped == Some(Record::Patient)));
    assert!(m.problems.iter().any(|p| p.dropped == Some(Record::Result)));
}

#[test]
fn hostile_size_maps_in_linear_time() {
    // ~1 MiB of alternating ORC/OBR/OBX/SPM: quadratic grouping would take minutes.
    let mut body = String::new();
    let mut n = 0;
    while body.len() < 1 << 20 {
        n += 1;
        body.push_str("ORC|RE\rOBR|1|P|F|2093-3^C^LN\r");
        body.push_str(&obx(1, "2093-3", "1", "N", "F"));
        body.push_str("SPM|1|A\r");
    }
    let text = msg(&body);
    let start = std::time::Instant::now();
    let m = map(&text);
    assert_eq!(m.value.results.len(), n);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

/// A control specimen (SPM-11 `Q`) yields QC results under its lot (SPM-2), and no
/// specimen, order or patient result; a patient specimen beside it maps as before.
#[test]
fn results_on_a_control_specimen_are_qc_not_a_patients() {
    let qc_only = "MSH|^~\\&|CHEM|LAB|LG|CLINIC|20240301120000||ORU^R01^ORU_R01|Q1|P|2.5.1\r\
                   OBR|1|QC1||2345-7^Glucose^LN|||20240301100000\r\
                   OBX|1|NM|2345-7^Glucose^LN||301|mg/dL|||||F|||20240301100500\r\
                   SPM|1|CTL-88A||QC^Control^HL70487|||||||Q^Control specimen^HL70369\r";
    let m = map(qc_only);
    assert!(m.problems.is_empty(), "{:?}", m.problems);
    assert!(m.value.results.is_empty() && m.value.specimens.is_empty());
    assert!(m.value.orders.is_empty());
    assert_eq!(m.value.qc.len(), 1);
    let c = &m.value.qc[0];
    assert_eq!(
        (
            c.lot.as_str(),
            c.analyte.as_str(),
            c.value.as_str(),
            c.units.as_str()
        ),
        ("CTL-88A", "2345-7", "301", "mg/dL")
    );

    let both = msg(&format!(
        "{OBR}{}SPM|1|S-1||BLD|||||||P\r\
         OBR|2|QC2||2345-7^Glucose^LN|||20240301100000\r{}SPM|2|CTL-88B||QC|||||||Q\r",
        obx(1, "2093-3", "5", "N", "F"),
        obx(1, "2345-7", "99", "N", "F"),
    ));
    let m = map(&both);
    assert_eq!(m.value.results.len(), 1, "{:?}", m.problems);
    assert_eq!(m.value.results[0].analyte.as_str(), "2093-3");
    assert_eq!(m.value.qc.len(), 1);
    assert_eq!(m.value.qc[0].lot, "CTL-88B");
    assert_eq!(
        m.value.orders.len(),
        1,
        "the control's order is no patient's"
    );
}
