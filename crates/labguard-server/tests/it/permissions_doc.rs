//! docs/permissions.md must say exactly what `Role::permissions()` does.

use labguard_core::Role;

#[test]
fn permissions_doc_matches_the_code() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/permissions.md"
    ))
    .unwrap();
    let mut lines = doc.lines().filter(|l| l.starts_with('|'));
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let roles: Vec<Role> = header[1..]
        .iter()
        .map(|c| Role::from_code(c).unwrap())
        .collect();
    assert_eq!(
        roles,
        Role::ALL.to_vec(),
        "the table's columns must be every role, in order"
    );
    lines.next(); // |---|
    let mut seen = 0;
    for line in lines {
        let cells: Vec<&str> = line
            .split('|')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let perm: labguard_core::Permission = serde_json::from_value(serde_json::json!(cells[0]))
            .unwrap_or_else(|_| panic!("unknown permission {}", cells[0]));
        for (i, role) in roles.iter().enumerate() {
            let documented = cells[i + 1] == "yes";
            assert_eq!(
                documented,
                role.allows(perm),
                "docs/permissions.md: {} for {role}",
                cells[0]
            );
        }
        seen += 1;
    }
    let all: std::collections::BTreeSet<_> =
        Role::ALL.iter().flat_map(|r| r.permissions()).collect();
    assert!(seen >= all.len(), "every permission must have a row");
}
