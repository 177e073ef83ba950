//! The lab's devices: what each one is, where it sits and how it talks.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::cpe::Cpe;
use crate::sbom::{Component, ComponentKind};

/// What kind of device an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    /// Hematology, chemistry or immunoassay analyzer.
    Analyzer,
    /// Centrifuge.
    Centrifuge,
    /// Point-of-care glucose meter.
    GlucoseMeter,
    /// Staff workstation.
    Workstation,
    /// Server (LIS, middleware, interface engine).
    Server,
    /// Switch, router, firewall, access point.
    Network,
    /// Phone or tablet.
    Mobile,
    /// Anything else.
    Other,
}

/// How a device exchanges data with the lab information system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Connectivity {
    /// HL7 v2 over MLLP inside TLS (mutually authenticated where the device supports it).
    Hl7MllpTls,
    /// HL7 v2 over plain-TCP MLLP: a legacy instrument link with no authentication or
    /// encryption, so anyone on the segment can read or inject results.
    Hl7MllpPlain,
    /// Some other network protocol.
    Other,
    /// Not connected to any network.
    None,
}

impl Connectivity {
    /// True when the device sits on a network.
    pub fn is_networked(self) -> bool {
        self != Connectivity::None
    }

    /// True when the link cannot authenticate its peer (legacy plain-TCP instruments).
    pub fn has_weak_authentication(self) -> bool {
        self == Connectivity::Hl7MllpPlain
    }
}

/// A measure recorded against a device that reduces the risk of its open vulnerabilities,
/// such as network segmentation or an allow-listing firewall rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompensatingControl {
    /// What the control is, for people.
    pub description: String,
    /// When it was recorded or last verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_on: Option<NaiveDate>,
}

impl CompensatingControl {
    /// A control with no verification date.
    pub fn new(description: impl Into<String>) -> Self {
        CompensatingControl {
            description: description.into(),
            verified_on: None,
        }
    }
}

/// One device in the lab's inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// The lab's own identifier for the device (inventory tag); unique in the fleet.
    pub id: String,
    /// Kind of device.
    pub kind: DeviceKind,
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Firmware or software version as the device reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// CPE of the device firmware, when the vendor publishes advisories by CPE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe: Option<Cpe>,
    /// Room or bench.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// IP address or host name, if networked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_address: Option<String>,
    /// Person or team responsible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// How it talks to the LIS.
    pub connectivity: Connectivity,
    /// Whether the device keeps patient data (PHI) at rest.
    pub stores_phi: bool,
    /// Date after which the vendor no longer ships fixes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_support_end: Option<NaiveDate>,
    /// Compensating controls in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compensating_controls: Vec<CompensatingControl>,
}

impl Asset {
    /// An asset with the required fields; the rest start empty, not networked, no PHI.
    pub fn new(
        id: impl Into<String>,
        kind: DeviceKind,
        manufacturer: impl Into<String>,
        model: impl Into<String>,
    ) -> Asset {
        Asset {
            id: id.into(),
            kind,
            manufacturer: manufacturer.into(),
            model: model.into(),
            serial: None,
            firmware_version: None,
            cpe: None,
            location: None,
            network_address: None,
            owner: None,
            connectivity: Connectivity::None,
            stores_phi: false,
            vendor_support_end: None,
            compensating_controls: Vec::new(),
        }
    }

    /// True when the device can be reached over a network.
    pub fn is_network_exposed(&self) -> bool {
        self.connectivity.is_networked() || self.network_address.is_some()
    }

    /// True when the vendor's support ended on or before `today`.
    pub fn is_out_of_support(&self, today: NaiveDate) -> bool {
        self.vendor_support_end.is_some_and(|end| end <= today)
    }

    /// The device's own firmware as a component, so firmware advisories published by CPE
    /// match even without an SBOM. `None` when neither a CPE nor a firmware version is known.
    pub fn firmware_component(&self) -> Option<Component> {
        if self.cpe.is_none() && self.firmware_version.is_none() {
            return None;
        }
        let mut c = Component::new(ComponentKind::Firmware, self.model.clone());
        c.version = self.firmware_version.clone().or_else(|| {
            self.cpe
                .as_ref()
                .and_then(|p| p.version().map(str::to_string))
        });
        c.supplier = Some(self.manufacturer.clone());
        c.cpe = self.cpe.clone();
        c.bom_ref = Some(format!("asset:{}", self.id));
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_connectivity_use_kebab_case() {
        assert_eq!(
            serde_json::to_string(&DeviceKind::GlucoseMeter).unwrap(),
            "\"glucose-meter\""
        );
        assert_eq!(
            serde_json::to_string(&Connectivity::Hl7MllpPlain).unwrap(),
            "\"hl7-mllp-plain\""
        );
        assert!(Connectivity::Hl7MllpPlain.has_weak_authentication());
        assert!(!Connectivity::Hl7MllpTls.has_weak_authentication());
        assert!(!Connectivity::None.is_networked());
    }

    #[test]
    fn asset_round_trips_and_exposes_firmware() {
        let mut a = Asset::new("LAB-AN-01", DeviceKind::Analyzer, "Acme", "HemaLyzer 5");
        a.firmware_version = Some("4.2.0".into());
        a.cpe = Some(Cpe::parse("cpe:2.3:o:acme:hemalyzer_firmware:4.2.0:*:*:*:*:*:*:*").unwrap());
        a.connectivity = Connectivity::Hl7MllpPlain;
        a.vendor_support_end = NaiveDate::from_ymd_opt(2024, 12, 31);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Asset>(&json).unwrap(), a);
        assert!(a.is_network_exposed());
        assert!(a.is_out_of_support(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()));
        let fw = a.firmware_component().unwrap();
        assert_eq!(fw.version.as_deref(), Some("4.2.0"));
        assert_eq!(fw.kind, ComponentKind::Firmware);
    }
}
