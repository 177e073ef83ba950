//! KEV catalog, CycloneDX VEX corpus and CSAF VEX fixture.

use labguard_devices::advisory::{parse_kev_json, parse_vex, VexStatus, VexVersion};
use labguard_devices::sbom::{parse_sbom, Component, ComponentKind};

fn read(path: &str) -> Vec<u8> {
    let p = format!("{}/testdata/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn kev_catalog_from_cisa() {
    let kev = parse_kev_json(&read("kev/known_exploited_vulnerabilities.json")).unwrap();
    assert!(kev.warnings.is_empty(), "{:?}", kev.warnings);
    assert_eq!(kev.len(), 1404);
    assert_eq!(kev.catalog_version, "2025.08.25");
    let log4shell = kev.get("cve-2021-44228").unwrap();
    assert_eq!(log4shell.vendor_project, "Apache");
    assert_eq!(log4shell.product, "Log4j2");
    assert!(log4shell.known_ransomware_use);
    assert_eq!(log4shell.date_added.unwrap().to_string(), "2021-12-10");
    assert_eq!(log4shell.due_date.unwrap().to_string(), "2021-12-24");
    assert!(!kev.contains("CVE-1999-0000"));
}

#[test]
fn kev_problems_are_reported() {
    let bad = br#"{"count": 3, "vulnerabilities": [
        {"cveID": "CVE-2020-0001", "dateAdded": "2020-13-45"},
        {"cveID": "NOT-A-CVE"},
        {"vendorProject": "missing cve"}]}"#;
    let kev = parse_kev_json(bad).unwrap();
    assert_eq!(kev.len(), 1);
    assert_eq!(kev.warnings.len(), 3, "{:?}", kev.warnings);
    assert!(parse_kev_json(b"{}").is_err());
    assert!(parse_kev_json(b"[1]").is_err());
}

#[test]
fn every_cyclonedx_vex_in_the_corpus_reads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cyclonedx/VEX");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vex"))
            {
                files.push(p);
            }
        }
    }
    assert_eq!(files.len(), 25);
    let mut total = 0;
    for f in files {
        let doc = parse_vex(&std::fs::read(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(
            doc.warnings.is_empty(),
            "{}: {:?}",
            f.display(),
            doc.warnings
        );
        total += doc.statements.len();
    }
    assert_eq!(total, 156);
}

#[test]
fn cyclonedx_vex_not_affected_with_versions_and_bom_links() {
    // Use case 8: several unaffected ranges under one not_affected analysis.
    let doc = parse_vex(&read("cyclonedx/VEX/Use-Cases/Case-8/vex.json")).unwrap();
    assert_eq!(doc.statements.len(), 1);
    let s = &doc.statements[0];
    assert_eq!(
        (s.vulnerability.as_str(), s.status),
        ("CVE-2020-25649", VexStatus::NotAffected)
    );
    assert_eq!(s.justification.as_deref(), Some("code_not_reachable"));
    assert_eq!(s.product.versions.len(), 4);
    let mut product = Component::new(ComponentKind::Application, "Acme Product");
    product.bom_ref = Some("acme-product".into());
    product.version = Some("3.1.0".into());
    assert!(s.covers(&product, &[], None));
    product.version = Some("3.5.0".into());
    assert!(!s.covers(&product, &[], None));
    product.version = Some("5.9.0".into());
    assert!(s.covers(&product, &[], None));

    // Use case 13: BOM-Links name the SBOM by serial number.
    let doc = parse_vex(&read("cyclonedx/VEX/Use-Cases/Case-13/vex.json")).unwrap();
    let na = &doc.statements[0];
    assert_eq!(
        na.product.bom_serial.as_deref(),
        Some("urn:uuid:2c385cf7-e1ee-46e9-a51c-13de1ecb380a")
    );
    let bom1 = parse_sbom(&read("cyclonedx/VEX/Use-Cases/Case-13/bom-1.json")).unwrap();
    let root = bom1.root.as_ref().unwrap();
    assert!(na.covers(root, &[], bom1.serial_number.as_deref()));
    assert!(!na.covers(
        root,
        &[],
        Some("urn:uuid:00000000-0000-0000-0000-000000000000")
    ));
    assert!(!na.covers(root, &[], None));
    let exploitable = doc
        .statements
        .iter()
        .find(|s| s.status == VexStatus::Affected)
        .unwrap();
    assert!(exploitable.product.bom_ref.as_deref() == Some("acme-product-3"));

    // CISA case 1: the statement is about product ABC 4.2, described in the VEX itself.
    let doc = parse_vex(&read(
        "cyclonedx/VEX/CISA-Use-Cases/Case-1/vex-not_affected.json",
    ))
    .unwrap();
    let s = &doc.statements[0];
    assert_eq!(s.justification.as_deref(), Some("code_not_present"));
    assert!(matches!(&s.product.versions[..], [VexVersion::Exact(v)] if v == "4.2"));

    // The purl-named affects entry in VEX/vex.json.
    let doc = parse_vex(&read("cyclonedx/VEX/vex.json")).unwrap();
    let s = &doc.statements[0];
    assert_eq!(s.aliases, ["SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302"]);
    let bom = parse_sbom(&read("cyclonedx/VEX/bom.json")).unwrap();
    let databind = bom
        .components
        .iter()
        .find(|c| c.name == "jackson-databind")
        .unwrap();
    // Its BOM-Link names another SBOM than bom.json, so it covers only that one.
    assert!(!s.covers(
        databind,
        &[bom.root.as_ref().unwrap()],
        bom.serial_number.as_deref()
    ));
    let linked = Some("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79");
    assert!(s.covers(databind, &[bom.root.as_ref().unwrap()], linked));
}

#[test]
fn csaf_vex_fixture() {
    let doc = parse_vex(&read("csaf/hemalyzer-vex-2.0.json")).unwrap();
    // One unknown product id.
    assert_eq!(doc.warnings.len(), 2, "{:?}", doc.warnings);
    let log4 = |status| {
        doc.statements
            .iter()
            .find(|s| s.vulnerability == "CVE-2021-44228" && s.status == status)
            .unwrap()
    };
    let na = log4(VexStatus::NotAffected);
    assert_eq!(
        na.justification.as_deref(),
        Some("vulnerable_code_not_present")
    );
    assert!(na
        .detail
        .as_deref()
        .unwrap()
        .contains("JNDI lookup class is absent"));
    assert_eq!(na.aliases, ["GHSA-jfh8-c2jp-5v3q"]);
    assert_eq!(na.source.as_deref(), Some("EXD-VEX-2025-0007"));
    let mut fw = Component::new(ComponentKind::Firmware, "hemalyzer-firmware");
    fw.version = Some("4.2.0".into());
    fw.cpe = Some(
        labguard_devices::cpe::Cpe::parse(
            "cpe:2.3:o:example_diagnostics:hemalyzer_firmware:4.2.0:*:*:*:*:*:*:*",
        )
        .unwrap(),
    );
    assert!(na.covers(&fw, &[], None));
    assert!(!log4(VexStatus::Affected).covers(&fw, &[], None));
    // The 4.3.0 product has no helper: its name and version identify it.
    let fixed = log4(VexStatus::Fixed);
    assert!(!fixed.covers(&fw, &[], None));
    fw.cpe = None;
    fw.version = Some("4.3.0".into());
    assert!(fixed.covers(&fw, &[], None));
    // The relationship statement is matched against the containing product (4.2.0).
    let lodash = doc
        .statements
        .iter()
        .find(|s| s.vulnerability == "CVE-2020-8203")
        .unwrap();
    assert_eq!(
        lodash.justification.as_deref(),
        Some("vulnerable_code_not_in_execute_path")
    );
    assert!(lodash.product.cpe.is_some());
}

#[test]
fn vex_errors() {
    assert!(parse_vex(b"{}").is_err());
    assert!(parse_vex(b"{\"document\":{\"csaf_version\":\"1.0\"}}").is_err());
    assert!(parse_vex(b"{\"document\":{}}").is_err());
    assert!(parse_vex(b"not json").is_err());
}
