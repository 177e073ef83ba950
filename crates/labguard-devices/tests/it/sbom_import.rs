//! Every SBOM in the test data imports; exact figures for a few.

use labguard_devices::sbom::{parse_sbom, ComponentKind, SbomFormat};

fn read(path: &str) -> Vec<u8> {
    let p = format!("{}/testdata/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// All JSON files under testdata/cyclonedx, recursively.
fn cyclonedx_files() -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cyclonedx"),
        &mut out,
    );
    out.sort();
    out
}

#[test]
fn every_cyclonedx_document_in_the_corpus_imports() {
    let files = cyclonedx_files();
    assert_eq!(files.len(), 44, "corpus changed");
    for f in files {
        let sbom = parse_sbom(&std::fs::read(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(sbom.format, SbomFormat::CycloneDx);
        assert!(
            sbom.warnings.is_empty(),
            "{}: {:?}",
            f.display(),
            sbom.warnings
        );
    }
}

#[test]
fn dropwizard_counts_and_purls() {
    let s = parse_sbom(&read("cyclonedx/SBOM/dropwizard-1.3.15/bom.json")).unwrap();
    assert_eq!(s.spec_version, "1.2");
    assert_eq!(s.components.len(), 167);
    assert_eq!(
        s.components.iter().filter(|c| c.purl.is_some()).count(),
        167
    );
    assert_eq!(
        s.serial_number.as_deref(),
        Some("urn:uuid:b4f2954f-a96d-4578-9509-1ae2d6476209")
    );
    let first = &s.components[0];
    assert_eq!(first.name, "jackson-annotations");
    assert_eq!(first.version.as_deref(), Some("2.9.10"));
    let purl = first.purl.as_ref().unwrap();
    assert_eq!(
        purl.package_name(),
        "com.fasterxml.jackson.core:jackson-annotations"
    );
    assert_eq!(
        purl.to_string(),
        "pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.9.10?type=jar"
    );
    let root = s.root.as_ref().unwrap();
    assert_eq!(
        (root.name.as_str(), root.version.as_deref()),
        ("dropwizard-parent", Some("1.3.15"))
    );
}

#[test]
fn juice_shop_keycloak_and_laravel_counts() {
    let j = parse_sbom(&read("cyclonedx/SBOM/juice-shop/v11.1.2/bom.json")).unwrap();
    assert_eq!(j.components.len(), 840);
    let lodash: Vec<String> = j
        .components
        .iter()
        .filter(|c| c.name == "lodash")
        .map(|c| c.purl.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(lodash, ["pkg:npm/lodash@4.17.19", "pkg:npm/lodash@2.4.2"]);
    assert!(j
        .components
        .iter()
        .any(|c| c.kind == ComponentKind::Framework));

    let k = parse_sbom(&read("cyclonedx/SBOM/keycloak-10.0.2/bom.json")).unwrap();
    assert_eq!(k.components.len(), 903);
    assert!(k
        .components
        .iter()
        .any(|c| c.purl.as_ref().is_some_and(|p| p.to_string()
            == "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.1?type=jar")));

    let l = parse_sbom(&read("cyclonedx/SBOM/laravel-7.12.0/bom.1.4.json")).unwrap();
    assert_eq!(l.spec_version, "1.4");
    assert_eq!(l.components.len(), 62);
    let fw = l.components.iter().find(|c| c.name == "framework").unwrap();
    assert_eq!(
        fw.purl.as_ref().unwrap().package_name(),
        "laravel/framework"
    );
    assert_eq!(fw.effective_version(), Some("v7.30.6"));
}

#[test]
fn hardware_bom_reads_devices() {
    let h = parse_sbom(&read("cyclonedx/HBOM/PCIe-SATA-adapter-board/bom.json")).unwrap();
    assert_eq!(h.components.len(), 6);
    assert!(h.components.iter().all(|c| c.kind == ComponentKind::Device));
    assert_eq!(h.components[0].supplier.as_deref(), Some("Samtec"));
    assert_eq!(
        h.root.as_ref().unwrap().bom_ref.as_deref(),
        Some("pcie-sata-adaptor-board")
    );
}

#[test]
fn nested_cyclonedx_16_with_cpes_and_bad_ids() {
    let s = parse_sbom(&read("lab/analyzer-firmware.cdx-1.6.json")).unwrap();
    assert_eq!(s.spec_version, "1.6");
    assert_eq!(s.document_version, Some(3));
    let names: Vec<&str> = s.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "hemalyzer-firmware",
            "linux-kernel",
            "lodash",
            "deep-child",
            "bad-ids"
        ]
    );
    let parents: Vec<Option<usize>> = s.components.iter().map(|c| c.parent).collect();
    assert_eq!(parents, [None, Some(0), Some(0), Some(2), None]);
    assert_eq!(s.components[0].kind, ComponentKind::Firmware);
    assert_eq!(
        s.components[1].cpe.as_ref().unwrap().product(),
        Some("linux_kernel")
    );
    assert_eq!(
        s.root.as_ref().unwrap().supplier.as_deref(),
        Some("Example Diagnostics")
    );
    // One nameless component, one bad purl, one bad CPE.
    assert_eq!(s.warnings.len(), 3, "{:?}", s.warnings);
    assert!(s.components[4].purl.is_none() && s.components[4].cpe.is_none());
}

#[test]
fn spdx_23_fixture() {
    let s = parse_sbom(&read("spdx/glucose-dock-2.3.spdx.json")).unwrap();
    assert_eq!(s.format, SbomFormat::Spdx);
    assert_eq!(s.spec_version, "SPDX-2.3");
    let root = s.root.as_ref().unwrap();
    assert_eq!(root.name, "gm-dock-firmware");
    assert_eq!(root.kind, ComponentKind::Firmware);
    assert_eq!(root.supplier.as_deref(), Some("Example Diagnostics"));
    assert_eq!(
        root.cpe.as_ref().unwrap().vendor(),
        Some("example_diagnostics")
    );
    assert_eq!(s.components.len(), 4);
    let openssl = &s.components[0];
    assert_eq!(
        openssl.purl.as_ref().unwrap().version.as_deref(),
        Some("3.0.11-1~deb12u2")
    );
    assert_eq!(openssl.cpe.as_ref().unwrap().product(), Some("openssl"));
    assert_eq!(
        s.components[2].purl.as_ref().unwrap().to_string(),
        "pkg:pypi/pyserial@3.5"
    );
    assert_eq!(s.components[3].version, None);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    for bad in [
        &b""[..],
        b"null",
        b"[]",
        b"{",
        b"{\"bomFormat\":\"CycloneDX\"}",
        b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.1\"}",
        b"{\"bomFormat\":\"SWID\"}",
        b"{\"spdxVersion\":\"SPDX-3.0\"}",
        b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.4\",\"components\":{}}",
    ] {
        let e = parse_sbom(bad).unwrap_err();
        assert!(!e.to_string().is_empty());
    }
    // A UTF-8 byte-order mark is fine.
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\"}");
    assert!(parse_sbom(&with_bom).unwrap().components.is_empty());
}

#[test]
fn cyclonedx_xml_fixture() {
    let s = parse_sbom(&read("lab/centrifuge.cdx-1.4.xml")).unwrap();
    assert_eq!(s.format, SbomFormat::CycloneDx);
    assert_eq!(s.spec_version, "1.4");
    assert_eq!(s.document_version, Some(2));
    assert_eq!(
        s.serial_number.as_deref(),
        Some("urn:uuid:0b7f3c1e-6a8e-4b1a-9c55-2f4a0d1e7a10")
    );
    let root = s.root.as_ref().unwrap();
    assert_eq!(
        (root.name.as_str(), root.kind.clone()),
        ("Spin 3 centrifuge", ComponentKind::Device)
    );
    assert_eq!(root.supplier.as_deref(), Some("Example Diagnostics"));
    let names: Vec<&str> = s.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "spin3-controller",
            "zlib",
            "uart-driver <vendor>",
            "mbedtls"
        ]
    );
    let parents: Vec<Option<usize>> = s.components.iter().map(|c| c.parent).collect();
    // The nameless middle component is skipped; its child hangs off the firmware.
    assert_eq!(parents, [None, Some(0), Some(0), None]);
    assert_eq!(
        s.components[0].cpe.as_ref().unwrap().product(),
        Some("spin3_controller_firmware")
    );
    assert_eq!(
        s.components[1].purl.as_ref().unwrap().to_string(),
        "pkg:generic/zlib@1.2.11"
    );
    assert_eq!(s.components[3].group.as_deref(), Some("ARMmbed"));
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
}

#[test]
fn bad_xml_is_an_error() {
    for bad in [
        &b"<bom>"[..],
        b"<spdx/>",
        b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"><components>",
        b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"><components><component></bom>",
        b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"><components><component><name>&xxe;</name></component></components></bom>",
        b"<!DOCTYPE bom [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"><components><component><name>&xxe;</name></component></components></bom>",
    ] {
        assert!(parse_sbom(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}
