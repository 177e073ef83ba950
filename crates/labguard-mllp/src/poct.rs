//! POCT1-A2 connections from glucose meters and their docking stations: labguard-poct's
//! sans-I/O [`HostConversation`] fed one XML document at a time (cut from the stream by
//! [`Splitter`]), its replies written back in order.
//!
//! The device is bound on HEL.R01: its `DEV.device_id` must be the enrollment's name or
//! sending application (a TLS peer's certificate already names one enrollment; a legacy
//! peer's source address may carry several). Each observation message is mapped (patient
//! results with `PT.patient_id` as the MRN, QC as control readings), filed through the
//! [`Writer`](crate::writer::Writer), and acknowledged AA only after the commit (AE when it
//! failed: the meter keeps its results and sends them again). A message is filed under an
//! id from the SHA-256 of its content without the header, so a resend after a lost AA is
//! filed once. Deadlines: the conversation's own response timeout, the listener's idle
//! timeout, and a whole-conversation deadline.

use std::sync::Arc;

use chrono::Utc;
use labguard_core::Id;
use labguard_poct::{
    map_observations, AnalyteMap, DeviceState, HostConfig, HostConversation, HostEvent,
    Observations, Splitter,
};
use labguard_store::{Enrollment, Inbound, OperatorStanding, QcReading};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::handler::Peer;
use crate::listen::{peer_ip, refuse, still_enrolled, Door, Shared};
use crate::plausibility;

/// The id an observation message is filed under: its content without `<HDR>…</HDR>`
/// (whose control id and creation time change when a meter resends).
pub fn message_id(raw: &[u8]) -> String {
    let body: Vec<u8> = match (find(raw, b"<HDR>"), find(raw, b"</HDR>")) {
        (Some(a), Some(b)) if b > a => raw
            .get(..a)
            .unwrap_or_default()
            .iter()
            .chain(raw.get(b + 6..).unwrap_or_default())
            .copied()
            .collect(),
        _ => raw.to_vec(),
    };
    let h = hex::encode(labguard_crypto::sha256(&body));
    format!("poct-{}", h.get(..40).unwrap_or(&h))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The enrollment a HEL.R01's device id names, among `candidates`.
pub fn bind<'a>(device_id: &str, candidates: &'a [Enrollment]) -> Option<&'a Enrollment> {
    let id = device_id.trim();
    candidates.iter().find(|e| {
        e.is_active()
            && !id.is_empty()
            && (e.name.eq_ignore_ascii_case(id) || e.sending_app.eq_ignore_ascii_case(id))
    })
}

/// The operator ids a message's services name (what [`inbound`]'s `standing` is asked).
pub fn operator_ids(obs: &Observations) -> Vec<String> {
    let mut ids: Vec<String> = obs
        .services
        .iter()
        .filter_map(|s| s.operator_id.clone())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Maps one observation message from `device` into what the store files. A patient
/// reading whose operator `standing` does not know as active staff (or that names no
/// operator) is held for review, which raises the results-held alert. Pure.
pub fn inbound(
    device: &Enrollment,
    raw: &[u8],
    obs: &Observations,
    standing: &dyn Fn(&str) -> OperatorStanding,
) -> Inbound {
    let mapped = map_observations(obs, &device.name, &AnalyteMap::glucose_meters());
    let mut patient_mrns = Vec::new();
    let mut results = Vec::new();
    let mut operator_holds = Vec::new();
    for p in &mapped.patient {
        // A placeholder patient id the store resolves through the MRN (unknown: held).
        let pid = Id::new_v4();
        patient_mrns.push((pid, p.patient_identifier.clone()));
        results.push(p.to_result(Id::new_v4(), pid));
        let op = p.measured.operator_id.as_deref().map(str::trim);
        operator_holds.push(match op {
            Some(id) if !id.is_empty() => standing(id).hold_reason(),
            _ => OperatorStanding::Unknown.hold_reason(),
        });
    }
    let qc = mapped
        .qc
        .iter()
        .filter_map(|q| {
            Some(QcReading {
                lot: q
                    .control_lot
                    .clone()
                    .or_else(|| q.control_name.clone())
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or_else(|| "unnamed".into()),
                level: q
                    .control_level
                    .clone()
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or_else(|| "1".into()),
                analyte: q.measured.analyte.clone(),
                units: q.measured.units.clone(),
                value: q.numeric_value()?,
                observed_at: q.measured.observed_at,
            })
        })
        .collect();
    let holds = results
        .iter()
        .zip(operator_holds)
        .map(|(r, op)| {
            let mut reasons = plausibility::check(r, &device.analytes);
            reasons.extend(op.map(String::from));
            reasons
        })
        .collect();
    Inbound {
        device_id: device.id,
        actor: device.actor(),
        control_id: message_id(raw),
        raw: raw.to_vec(),
        specimens: Vec::new(),
        orders: Vec::new(),
        results,
        holds,
        patient_mrns,
        specimen_accessions: Vec::new(),
        qc,
    }
}

/// What the fleet view shows of a meter: its HEL identity, last DST, docked (no results).
fn status_json(s: &DeviceState) -> serde_json::Value {
    let h = &s.hello;
    json!({
        "protocol": "poct",
        "device_id": h.device_id,
        "vendor": h.vendor_id,
        "model": h.model_id,
        "serial": h.serial_id,
        "sw_version": h.sw_version,
        "docked": s.docked,
        "observations_qty": s.status.as_ref().and_then(|d| d.observations_qty),
        "new_observations_qty": s.status.as_ref().and_then(|d| d.new_observations_qty),
        "condition": s.status.as_ref().and_then(|d| d.condition_cd.clone()),
        "messages_this_docking": s.observation_messages,
    })
}

async fn seen(sh: &Shared, device: Option<&Enrollment>, state: Option<DeviceState>) {
    let (Some(d), Some(state)) = (device, state) else {
        return;
    };
    let (store, id, status) = (sh.store.clone(), d.id, status_json(&state));
    let r = tokio::task::spawn_blocking(move || store.record_device_seen(id, Some(&status))).await;
    if !matches!(r, Ok(Ok(()))) {
        tracing::warn!("could not record the meter's status");
    }
}

/// Each operator id's standing; one the store could not answer for counts as unknown (the
/// reading is then held, never filed unchecked).
async fn operators(sh: &Shared, ids: Vec<String>) -> Vec<(String, OperatorStanding)> {
    let store = sh.store.clone();
    tokio::task::spawn_blocking(move || {
        ids.into_iter()
            .map(|id| {
                let s = store
                    .operator_standing(&id)
                    .unwrap_or(OperatorStanding::Unknown);
                (id, s)
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

async fn resolve_undocked(sh: &Shared, device: Id) {
    let store = sh.store.clone();
    let r = tokio::task::spawn_blocking(move || store.resolve_not_docked(device)).await;
    if !matches!(r, Ok(Ok(_))) {
        tracing::warn!("could not close the meter's not-docked alert");
    }
}

/// Raises the not-docked alerts now and then (cheap: one query when nothing is stale).
pub(crate) async fn undocked_loop(
    sh: Arc<Shared>,
    after: chrono::TimeDelta,
    every: std::time::Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let store = sh.store.clone();
        match tokio::task::spawn_blocking(move || store.alert_undocked_meters(after)).await {
            Ok(Ok(names)) if !names.is_empty() => {
                tracing::warn!(
                    count = names.len(),
                    "meters not docked in time: alert raised"
                );
            }
            Ok(Ok(_)) => {}
            _ => tracing::warn!("could not check for undocked meters"),
        }
    }
}

async fn send<S: AsyncWrite + Unpin>(s: &mut S, out: &[String]) -> std::io::Result<()> {
    for m in out {
        s.write_all(m.as_bytes()).await?;
    }
    s.flush().await
}

/// Serves one POCT1-A2 conversation from `peer`, speaking for one of `candidates`.
pub(crate) async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    peer: Peer,
    candidates: Vec<Enrollment>,
    sh: Arc<Shared>,
) {
    let config = HostConfig::default();
    let silence = sh
        .idle
        .min(config.response_timeout.to_std().unwrap_or(sh.idle));
    let mut splitter = Splitter::new(sh.max.min(config.limits.max_bytes));
    let mut conv = HostConversation::new(config, Utc::now());
    let mut device: Option<Enrollment> = None;
    let mut buf = vec![0u8; 16 * 1024];
    let mut generation = sh.generation.clone();
    let mut shutdown = sh.shutdown.clone();
    let whole = Instant::now() + sh.poct_conversation;
    let why = 'conversation: loop {
        while let Some(m) = splitter.next_message() {
            let raw = match m {
                Ok(raw) => raw,
                Err(e) => {
                    tracing::info!(reason = %e, "closing: unreadable POCT stream");
                    break 'conversation "unreadable stream";
                }
            };
            let out = conv.receive(&raw, Utc::now());
            if send(&mut s, &out.send).await.is_err() {
                return;
            }
            for ev in out.events {
                match ev {
                    HostEvent::Hello(h) => match bind(&h.device_id, &candidates) {
                        Some(d) => {
                            tracing::Span::current().record("device", d.name.as_str());
                            device = Some(d.clone());
                            seen(&sh, device.as_ref(), conv.device_state()).await;
                            resolve_undocked(&sh, d.id).await;
                        }
                        None => {
                            sh.metrics.message(Door::Poct, "refused");
                            refuse(&sh, peer_ip(&peer), candidates.first(), "sender-mismatch");
                            break 'conversation "device id names no enrollment";
                        }
                    },
                    HostEvent::Status(_) => seen(&sh, device.as_ref(), conv.device_state()).await,
                    HostEvent::Observations {
                        control_id,
                        observations,
                    } => {
                        let Some(d) = device.clone() else {
                            break 'conversation "observations before HEL";
                        };
                        let standing = operators(&sh, operator_ids(&observations)).await;
                        let look = |id: &str| {
                            standing
                                .iter()
                                .find(|(o, _)| o.eq_ignore_ascii_case(id))
                                .map_or(OperatorStanding::Unknown, |(_, s)| *s)
                        };
                        let item = inbound(&d, &raw, &observations, &look);
                        let answer = match sh.writer.submit(Box::new(item)).await {
                            Ok(Ok(_)) => {
                                sh.metrics.message(Door::Poct, "filed");
                                tracing::debug!("observation message filed");
                                conv.committed(&control_id, Utc::now())
                            }
                            Ok(Err(f)) if f.denied => {
                                sh.metrics.message(Door::Poct, "refused");
                                refuse(&sh, peer_ip(&peer), Some(&d), "device-revoked");
                                break 'conversation "device revoked";
                            }
                            Ok(Err(f)) => {
                                sh.metrics.message(Door::Poct, "store-failed");
                                tracing::error!(reason = %f.why, "storing POCT observations failed, answered AE");
                                conv.failed(&control_id, Utc::now())
                            }
                            Err(e) => {
                                sh.metrics.message(Door::Poct, "store-failed");
                                tracing::error!(reason = %e, "storing POCT observations failed, answered AE");
                                conv.failed(&control_id, Utc::now())
                            }
                        };
                        let Ok(next) = answer else {
                            continue;
                        };
                        if send(&mut s, &next.send).await.is_err() {
                            return;
                        }
                    }
                    HostEvent::ProtocolError { reason, .. } => {
                        sh.metrics.message(Door::Poct, "rejected");
                        tracing::info!(%reason, "POCT message answered AE");
                    }
                    HostEvent::Finished(f) => {
                        tracing::info!(finish = ?f, "POCT conversation finished");
                    }
                    HostEvent::TopicEnded(_)
                    | HostEvent::OperatorListAccepted
                    | HostEvent::DeviceRefused { .. } => {}
                }
            }
            if conv.is_finished().is_some() {
                break 'conversation "conversation finished";
            }
        }
        let idle = Instant::now() + silence;
        let (until, what) = if whole < idle {
            (whole, "conversation deadline")
        } else {
            (idle, "idle")
        };
        tokio::select! {
            r = tokio::time::timeout_at(until, s.read(&mut buf)) => match r {
                Err(_) => {
                    // The conversation's own response timeout may have ended it first.
                    let out = conv.poll(Utc::now());
                    let _ = send(&mut s, &out.send).await;
                    break what;
                }
                Ok(Ok(0)) => {
                    if splitter.in_message() {
                        tracing::info!("connection closed in the middle of a POCT message");
                    }
                    break "closed by the device";
                }
                Ok(Ok(n)) => splitter.push(buf.get(..n).unwrap_or_default()),
                Ok(Err(_)) => break "read error",
            },
            _ = generation.changed() => {
                if !still_enrolled(&sh, &peer) {
                    break "device certificate revoked";
                }
            }
            _ = shutdown.changed() => break "shutdown",
        }
    };
    // Undocked: what the fleet view's "last seen" and not-docked alert read.
    let state = conv.device_state().map(|mut st| {
        st.docked = false;
        st
    });
    seen(&sh, device.as_ref(), state).await;
    tracing::info!(reason = why, "closing");
    let _ = s.shutdown().await;
}
