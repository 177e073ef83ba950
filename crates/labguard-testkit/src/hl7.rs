//! HL7 v2 messages as instruments send them.

/// An ORU^R01 with one result: `app`/`fac` in MSH-3/MSH-4, control id `control`, patient
/// Tamsin Brightwater under `mrn`, one OBX of `code` = `value` `units` (reference 70-99).
pub fn oru_from(
    app: &str,
    fac: &str,
    control: &str,
    mrn: &str,
    code: &str,
    value: &str,
    units: &str,
) -> String {
    format!(
        "MSH|^~\\&|{app}|{fac}|LABGUARD|LAB|20261102093000||ORU^R01^ORU_R01|{control}|P|2.5.1\r\
         PID|1||{mrn}^^^LAB^MR||Brightwater^Tamsin||19800102|F\r\
         OBR|1|PL{control}|FI{control}|2345-7^Glucose^LN|||20261102083000|||||||||^Ordwell^Requisition\r\
         OBX|1|NM|{code}||{value}|{units}|70-99|N|||F|||20261102090000\r"
    )
}

/// An ORU^R01 from CHEM/CORELAB with one glucose result for `mrn`.
pub fn oru(control: &str, mrn: &str, value: &str) -> String {
    oru_from(
        "CHEM",
        "CORELAB",
        control,
        mrn,
        "2345-7^Glucose^LN",
        value,
        "mg/dL",
    )
}

/// An ORU^R01 from `app`/CORELAB for MRN-1 with one glucose of 95 mg/dL, always placer order
/// PL1 (what the CLI tests stream, control id by control id).
pub fn oru_mrn1(app: &str, control: &str) -> String {
    format!(
        "MSH|^~\\&|{app}|CORELAB|LABGUARD|LAB|20261102093000||ORU^R01^ORU_R01|{control}|P|2.5.1\r\
         PID|1||MRN-1^^^LAB^MR||Brightwater^Tamsin||19800102|F\r\
         OBR|1|PL1|FI1|2345-7^Glucose^LN|||20261102083000|||||||||^Ordwell^Requisition\r\
         OBX|1|NM|2345-7^Glucose^LN||95|mg/dL|70-99|N|||F|||20261102090000\r"
    )
}
