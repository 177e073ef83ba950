//! `AuditEntry::decode` on arbitrary bytes: never panics, agrees with the
//! allocation-free `check_encoded`, and accepts only canonical encodings.
#![no_main]

use labguard_audit::AuditEntry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = AuditEntry::decode(data);
    assert_eq!(
        AuditEntry::check_encoded(data),
        decoded.as_ref().map(|_| ()).map_err(Clone::clone)
    );
    if let Ok(entry) = decoded {
        assert_eq!(entry.encode(), data, "accepted a non-canonical encoding");
        assert_eq!(entry.validate(), Ok(()));
    }
});
