//! The observation objects of OBS.R01/R02: `SVC` with its `PT` or `CTC`, `OBS`, `OPR`
//! and `RGT`, parsed and encoded.

use super::{Control, Observation, Reagent, Service};
use crate::xml::{Element, Writer};
use crate::PoctError;

pub(super) fn service(svc: &Element) -> Result<Service, PoctError> {
    let mut out = Service {
        role_cd: svc.v_owned("SVC.role_cd").unwrap_or_else(|| "OBS".into()),
        observation_dttm: svc.v_owned("SVC.observation_dttm"),
        status_cd: svc.v_owned("SVC.status_cd"),
        operator_id: svc.child("OPR").and_then(|o| o.v_owned("OPR.operator_id")),
        ..Service::default()
    };
    for child in &svc.children {
        match child.name.as_str() {
            "PT" => {
                out.patient_id = child.v_owned("PT.patient_id");
                for o in child.children_named("OBS") {
                    out.observations.push(observation(o)?);
                }
            }
            "CTC" => {
                out.control = Some(Control {
                    name: child.v_owned("CTC.name"),
                    lot_number: child.v_owned("CTC.lot_number"),
                    level_cd: child.v_owned("CTC.level_cd"),
                    expiration_date: child.v_owned("CTC.expiration_date"),
                });
                for o in child.children_named("OBS") {
                    out.observations.push(observation(o)?);
                }
            }
            "OBS" => out.observations.push(observation(child)?),
            "RGT" => out.reagents.push(Reagent {
                name: child.v_owned("RGT.name"),
                lot_number: child.v_owned("RGT.lot_number"),
                expiration_date: child.v_owned("RGT.expiration_date"),
            }),
            _ => {}
        }
    }
    Ok(out)
}

fn observation(obs: &Element) -> Result<Observation, PoctError> {
    let id = obs.child("OBS.observation_id").ok_or(PoctError::Missing {
        element: "OBS.observation_id",
    })?;
    let value = obs.child("OBS.value");
    let owned = |v: Option<&str>| v.map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    Ok(Observation {
        observation_id: owned(id.attr("V")).ok_or(PoctError::Missing {
            element: "OBS.observation_id",
        })?,
        code_system: owned(id.attr("SN")),
        display_name: owned(id.attr("DN")),
        value: owned(value.and_then(|v| v.attr("V"))),
        units: owned(value.and_then(|v| v.attr("U"))),
        method_cd: obs.v_owned("OBS.method_cd"),
        interpretation_cd: obs.v_owned("OBS.interpretation_cd"),
        normal_range: obs.v_owned("OBS.normal_lo-hi_limit"),
    })
}

pub(super) fn encode_service(w: &mut Writer, s: &Service) {
    w.open("SVC")
        .v("SVC.role_cd", &s.role_cd)
        .v_opt("SVC.observation_dttm", s.observation_dttm.as_deref())
        .v_opt("SVC.status_cd", s.status_cd.as_deref());
    // Observations go under the patient or the control material, as devices send them.
    let container = if s.patient_id.is_some() {
        w.open("PT").v_opt("PT.patient_id", s.patient_id.as_deref());
        Some("PT")
    } else if let Some(c) = &s.control {
        w.open("CTC")
            .v_opt("CTC.name", c.name.as_deref())
            .v_opt("CTC.lot_number", c.lot_number.as_deref())
            .v_opt("CTC.level_cd", c.level_cd.as_deref())
            .v_opt("CTC.expiration_date", c.expiration_date.as_deref());
        Some("CTC")
    } else {
        None
    };
    for o in &s.observations {
        encode_observation(w, o);
    }
    if let Some(c) = container {
        w.close(c);
    }
    if let (Some(c), true) = (&s.control, s.patient_id.is_some()) {
        w.open("CTC")
            .v_opt("CTC.name", c.name.as_deref())
            .v_opt("CTC.lot_number", c.lot_number.as_deref())
            .v_opt("CTC.level_cd", c.level_cd.as_deref())
            .v_opt("CTC.expiration_date", c.expiration_date.as_deref())
            .close("CTC");
    }
    if let Some(op) = &s.operator_id {
        w.open("OPR").v("OPR.operator_id", op).close("OPR");
    }
    for r in &s.reagents {
        w.open("RGT")
            .v_opt("RGT.name", r.name.as_deref())
            .v_opt("RGT.lot_number", r.lot_number.as_deref())
            .v_opt("RGT.expiration_date", r.expiration_date.as_deref())
            .close("RGT");
    }
    w.close("SVC");
}

fn encode_observation(w: &mut Writer, o: &Observation) {
    let mut id: Vec<(&str, &str)> = Vec::new();
    if let Some(sn) = &o.code_system {
        id.push(("SN", sn));
    }
    if let Some(dn) = &o.display_name {
        id.push(("DN", dn));
    }
    w.open("OBS")
        .v_with("OBS.observation_id", &o.observation_id, &id);
    if o.value.is_some() || o.units.is_some() {
        let units: Vec<(&str, &str)> = o.units.iter().map(|u| ("U", u.as_str())).collect();
        w.v_with("OBS.value", o.value.as_deref().unwrap_or(""), &units);
    }
    w.v_opt("OBS.method_cd", o.method_cd.as_deref())
        .v_opt("OBS.interpretation_cd", o.interpretation_cd.as_deref())
        .v_opt("OBS.normal_lo-hi_limit", o.normal_range.as_deref())
        .close("OBS");
}
