use std::process::Command;

use labguard_identity::totp::{self, provisioning_qr_svg, provisioning_uri, step_at, verify};
use labguard_identity::{TotpError, TotpSecret};

/// The RFC 6238 appendix B SHA-1 key: the ASCII digits "1234567890" twice.
const RFC_KEY: &[u8; 20] = b"12345678901234567890";

/// RFC 6238 appendix B, SHA-1 column: (time, 8-digit code).
const RFC_VECTORS: [(u64, &str); 6] = [
    (59, "94287082"),
    (1_111_111_109, "07081804"),
    (1_111_111_111, "14050471"),
    (1_234_567_890, "89005924"),
    (2_000_000_000, "69279037"),
    (20_000_000_000, "65353130"),
];

fn rfc_secret() -> TotpSecret {
    TotpSecret::from_random_bytes(*RFC_KEY)
}

/// A 6-digit code is the 8-digit one mod 10^6, i.e. its last six digits.
#[test]
fn rfc6238_vectors_truncated_to_six_digits() {
    let secret = rfc_secret();
    for (time, code8) in RFC_VECTORS {
        let code6 = &code8[2..];
        assert_eq!(
            verify(&secret, code6, time, None),
            Ok(time / 30),
            "t={time}"
        );
    }
}

#[test]
fn rfc6238_eight_digit_vectors_through_totp_rs() {
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(8)
        .with_secret(RFC_KEY.to_vec())
        .build()
        .unwrap();
    for (time, code8) in RFC_VECTORS {
        assert_eq!(totp.generate(time).to_string(), code8, "t={time}");
    }
}

#[test]
fn one_step_of_skew_either_way() {
    let secret = rfc_secret();
    let now = 1_234_567_890;
    let step = step_at(now);
    // Codes of the neighbouring steps, from the vector times shifted by whole steps.
    let code_at = |t: u64| {
        totp_rs::Builder::new()
            .with_secret(RFC_KEY.to_vec())
            .build()
            .unwrap()
            .generate(t)
            .to_string()
    };
    assert_eq!(verify(&secret, &code_at(now - 30), now, None), Ok(step - 1));
    assert_eq!(verify(&secret, &code_at(now + 30), now, None), Ok(step + 1));
    assert_eq!(
        verify(&secret, &code_at(now - 60), now, None),
        Err(TotpError::Invalid)
    );
    assert_eq!(
        verify(&secret, &code_at(now + 60), now, None),
        Err(TotpError::Invalid)
    );
}

#[test]
fn a_used_step_is_never_accepted_again() {
    let secret = rfc_secret();
    let (t, code) = (1_111_111_111, "050471");
    let step = verify(&secret, code, t, None).unwrap();
    assert_eq!(
        verify(&secret, code, t, Some(step)),
        Err(TotpError::Replayed)
    );
    // Still refused a few seconds later, within the same step.
    assert_eq!(
        verify(&secret, code, t + 5, Some(step)),
        Err(TotpError::Replayed)
    );
    // After a later step was used, an earlier (still in-window) code is refused too.
    assert_eq!(
        verify(&secret, code, t + 30, Some(step + 1)),
        Err(TotpError::Replayed)
    );
    // A wrong code is Invalid, not Replayed.
    assert_eq!(
        verify(&secret, "000000", t, Some(step)),
        Err(TotpError::Invalid)
    );
}

#[test]
fn code_format() {
    let secret = rfc_secret();
    let t = 1_111_111_111;
    assert_eq!(verify(&secret, "050 471", t, None), Ok(t / 30));
    for bad in ["", "05047", "0504711", "05047a", "+50471", "٠٥٠٤٧١"] {
        assert_eq!(
            verify(&secret, bad, t, None),
            Err(TotpError::CodeFormat),
            "{bad:?}"
        );
    }
}

#[test]
fn early_times_do_not_underflow() {
    let secret = rfc_secret();
    // Time 59 is step 1; step 0 is in the window and must not wrap around.
    assert_eq!(verify(&secret, "287082", 59, None), Ok(1));
    assert_eq!(verify(&secret, "287082", 0, None), Ok(1));
}

#[test]
fn provisioning_uri_names_issuer_and_account() {
    let secret = rfc_secret();
    let uri = provisioning_uri(&secret, "jsmith@riverside.example").unwrap();
    assert_eq!(
        uri.as_str(),
        "otpauth://totp/labguard:jsmith%40riverside.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=labguard"
    );
    // totp-rs parses it back to the same settings.
    let parsed = totp_rs::Totp::from_url(uri.as_str()).unwrap();
    assert_eq!(parsed.secret().as_bytes(), RFC_KEY);
    assert_eq!(parsed.digits(), 6);
    assert_eq!(parsed.step(), 30);
    assert_eq!(parsed.issuer(), Some("labguard"));
    assert_eq!(parsed.account_name(), "jsmith@riverside.example");

    assert_eq!(
        provisioning_uri(&secret, "a:b").map(|_| ()),
        Err(TotpError::AccountName)
    );
    assert_eq!(
        provisioning_uri(&secret, "  ").map(|_| ()),
        Err(TotpError::AccountName)
    );
}

#[test]
fn secret_encodings() {
    let secret = rfc_secret();
    assert_eq!(
        secret.to_base32().as_str(),
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    );
    let typed = TotpSecret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap();
    assert_eq!(typed, secret);
    assert_eq!(
        TotpSecret::from_base32("not base32!").map(|_| ()),
        Err(TotpError::SecretEncoding)
    );
    assert_eq!(
        TotpSecret::from_bytes(&[1u8; 10]).map(|_| ()),
        Err(TotpError::SecretLength)
    );
    assert!(!format!("{secret:?}").contains("GEZD"));
}

/// Reads the module rectangles back out of the SVG and decodes them with an independent QR
/// decoder, so the test fails if the picture does not carry the provisioning URI.
#[test]
fn qr_svg_decodes_to_the_provisioning_uri() {
    let secret = TotpSecret::from_random_bytes(
        *b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14",
    );
    let svg = provisioning_qr_svg(&secret, "jsmith").unwrap();
    assert!(svg.contains("<svg"));
    // Dark modules on a light background, as scanners expect.
    assert!(svg.contains(r##"<path fill="#000""##), "{}", svg.as_str());
    assert!(svg.contains(r##"fill="#fff"/>"##));
    let attr = |name: &str| -> usize {
        let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let end = start + svg[start..].find('"').unwrap();
        svg[start..end].parse().unwrap()
    };
    let (w, h) = (attr("width"), attr("height"));
    assert!(w >= 240 && h >= 240);

    let d_start = svg.find(" d=\"").unwrap() + 4;
    let d = &svg[d_start..d_start + svg[d_start..].find('"').unwrap()];
    let mut dark = vec![false; w * h];
    // Each rectangle is "M{x} {y}h{w}v{h}H{x}V{y}".
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        let nums: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let (x, y, rw, rh) = (nums[0], nums[1], nums[2], nums[3]);
        for yy in y..y + rh {
            for xx in x..x + rw {
                dark[yy * w + xx] = true;
            }
        }
    }
    let mut img = rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| dark[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(
        content,
        provisioning_uri(&secret, "jsmith").unwrap().as_str()
    );
}

/// Makes sure the Python `pyotp` package is importable, installing it with pip if needed.
fn python_with_pyotp() -> &'static str {
    let has = || {
        Command::new("python3")
            .args(["-c", "import pyotp"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !has() {
        let _ = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "pyotp"])
            .status();
    }
    assert!(
        has(),
        "this test needs Python 3 with pyotp (python3 -m pip install pyotp)"
    );
    "python3"
}

/// Interoperability with an independent implementation, as authenticator apps would be:
/// codes that pyotp computes from our enrolment URI must verify here.
#[test]
fn codes_from_pyotp_verify() {
    let python = python_with_pyotp();
    let secret = TotpSecret::from_random_bytes(*b"labguard-interop-20b");
    let uri = provisioning_uri(&secret, "jsmith@riverside.example").unwrap();
    let times = [
        0_u64,
        59,
        1_700_000_000,
        1_700_000_029,
        1_700_000_030,
        2_000_000_000,
    ];
    let script = "import sys, pyotp\n\
        t = pyotp.parse_uri(sys.argv[1])\n\
        assert t.issuer == 'labguard' and t.name == 'jsmith@riverside.example', (t.issuer, t.name)\n\
        b = pyotp.TOTP(sys.argv[2])\n\
        for s in sys.argv[3:]:\n    \
            n = int(s)\n    \
            assert t.at(n) == b.at(n)\n    \
            print(t.at(n))\n";
    let mut cmd = Command::new(python);
    cmd.arg("-c")
        .arg(script)
        .arg(uri.as_str())
        .arg(secret.to_base32().as_str());
    for t in times {
        cmd.arg(t.to_string());
    }
    let out = cmd.output().expect("run python3");
    assert!(
        out.status.success(),
        "pyotp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let codes: Vec<&str> = stdout.lines().collect();
    assert_eq!(codes.len(), times.len());
    for (t, code) in times.iter().zip(&codes) {
        assert_eq!(code.len(), totp::DIGITS);
        assert_eq!(
            verify(&secret, code, *t, None),
            Ok(t / 30),
            "t={t} code={code}"
        );
        // And a code pyotp made for one step is still refused once that step was used.
        assert_eq!(
            verify(&secret, code, *t, Some(t / 30)),
            Err(TotpError::Replayed)
        );
    }
}
