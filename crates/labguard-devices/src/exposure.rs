//! Classifying what an exposure check saw on a device: which open services are risky
//! for a lab device (clear-text remote access, file sharing, HL7 without TLS) and whether
//! TLS ports accept TLS 1.2 or 1.3. The probing itself happens at the edge (labguard-mllp);
//! this module only judges observations.

use serde::{Deserialize, Serialize};

/// What a port is expected to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// Telnet: clear-text remote shell.
    Telnet,
    /// FTP: clear-text file transfer and passwords.
    Ftp,
    /// HTTP without TLS.
    Http,
    /// HTTPS (TLS expected).
    Https,
    /// SMB / Windows file sharing.
    Smb,
    /// NetBIOS session service.
    Netbios,
    /// VNC remote desktop.
    Vnc,
    /// Microsoft RDP.
    Rdp,
    /// HL7 v2 over MLLP; must be inside TLS.
    Hl7Mllp,
    /// SSH.
    Ssh,
}

impl Service {
    /// Whether the check should try a TLS handshake on this port.
    pub fn tls_expected(self) -> bool {
        matches!(self, Service::Https | Service::Hl7Mllp)
    }
}

/// One port to probe and what it is taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// TCP port.
    pub port: u16,
    /// Expected service.
    pub service: Service,
}

/// The default list: well-known ports of services risky on a lab device, plus the TLS
/// and HL7 ports whose protection is checked.
pub fn default_ports() -> Vec<PortSpec> {
    use Service::*;
    [
        (21, Ftp),
        (22, Ssh),
        (23, Telnet),
        (80, Http),
        (139, Netbios),
        (443, Https),
        (445, Smb),
        (2575, Hl7Mllp),
        (2576, Hl7Mllp),
        (3389, Rdp),
        (5900, Vnc),
        (8080, Http),
        (8443, Https),
    ]
    .into_iter()
    .map(|(port, service)| PortSpec { port, service })
    .collect()
}

/// Which TLS versions a handshake succeeded with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsVersions {
    /// A TLS 1.2-only client completed a handshake.
    pub tls12: bool,
    /// A TLS 1.3-only client completed a handshake.
    pub tls13: bool,
}

impl TlsVersions {
    /// True when neither TLS 1.2 nor 1.3 was accepted.
    pub fn none(self) -> bool {
        !self.tls12 && !self.tls13
    }
}

/// What the probe saw on one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortObservation {
    /// The port and its expected service.
    pub spec: PortSpec,
    /// A TCP connection was accepted.
    pub open: bool,
    /// TLS results, when a handshake was tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsVersions>,
}

/// How bad an exposure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExposureLevel {
    /// Worth knowing, not a problem by itself.
    Info,
    /// Should be looked at.
    Medium,
    /// Should be closed or protected.
    High,
}

/// One judged observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureFinding {
    /// Port.
    pub port: u16,
    /// Service taken to be there.
    pub service: Service,
    /// Severity.
    pub level: ExposureLevel,
    /// What is wrong, for people.
    pub issue: String,
}

/// Judges the observations; closed ports produce nothing. Most severe first.
pub fn classify(observations: &[PortObservation]) -> Vec<ExposureFinding> {
    use ExposureLevel::*;
    let mut out = Vec::new();
    for o in observations.iter().filter(|o| o.open) {
        let port = o.spec.port;
        let tls = o.tls.unwrap_or_default();
        let (level, issue) = match o.spec.service {
            Service::Telnet => (High, "telnet is open: clear-text remote login".to_string()),
            Service::Ftp => (High, "FTP is open: clear-text file transfer and passwords".into()),
            Service::Smb => (High, "SMB file sharing is reachable (ransomware's usual path)".into()),
            Service::Netbios => (High, "NetBIOS session service is reachable".into()),
            Service::Vnc => (High, "VNC remote desktop is reachable".into()),
            Service::Rdp => (Medium, "RDP remote desktop is reachable".into()),
            Service::Http => (Medium, "unencrypted HTTP is served".into()),
            Service::Ssh => (Info, "SSH is open: check it is needed and keys are managed".into()),
            Service::Hl7Mllp if tls.none() => (
                High,
                "HL7/MLLP port accepts plain TCP without TLS: results and patient data travel in clear text".into(),
            ),
            Service::Https if tls.none() => (
                High,
                "TLS port completed no TLS 1.2+ handshake (only older TLS, or not TLS at all)".into(),
            ),
            Service::Hl7Mllp | Service::Https => (Info, versions(tls)),
        };
        out.push(ExposureFinding {
            port,
            service: o.spec.service,
            level,
            issue,
        });
    }
    out.sort_by(|a, b| b.level.cmp(&a.level).then(a.port.cmp(&b.port)));
    out
}

fn versions(tls: TlsVersions) -> String {
    let mut v = Vec::new();
    if tls.tls12 {
        v.push("TLS 1.2");
    }
    if tls.tls13 {
        v.push("TLS 1.3");
    }
    format!("accepts {}", v.join(" and "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(port: u16, service: Service, open: bool, tls: Option<TlsVersions>) -> PortObservation {
        PortObservation {
            spec: PortSpec { port, service },
            open,
            tls,
        }
    }

    #[test]
    fn risky_services_and_tls() {
        let f = classify(&[
            obs(23, Service::Telnet, true, None),
            obs(21, Service::Ftp, false, None),
            obs(2575, Service::Hl7Mllp, true, Some(TlsVersions::default())),
            obs(
                443,
                Service::Https,
                true,
                Some(TlsVersions {
                    tls12: true,
                    tls13: true,
                }),
            ),
            obs(8080, Service::Http, true, None),
        ]);
        let got: Vec<(u16, ExposureLevel)> = f.iter().map(|f| (f.port, f.level)).collect();
        assert_eq!(
            got,
            [
                (23, ExposureLevel::High),
                (2575, ExposureLevel::High),
                (8080, ExposureLevel::Medium),
                (443, ExposureLevel::Info)
            ]
        );
        assert_eq!(f[3].issue, "accepts TLS 1.2 and TLS 1.3");
        assert!(default_ports()
            .iter()
            .any(|p| p.port == 5900 && p.service == Service::Vnc));
    }
}
