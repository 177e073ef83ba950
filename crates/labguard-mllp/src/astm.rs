//! ASTM E1381/E1394 connections: labguard-astm's sans-I/O [`Receiver`] fed from the
//! socket, one byte at a time (so a sender that does not wait for replies loses nothing
//! while a message awaits its decision), its replies written back in order.
//!
//! Messages before the one holding the L record are only buffered and acknowledged at
//! once; the one holding the L record is acknowledged only after the whole transmission
//! was parsed, bound to the device's enrollment (H-5 sender name), mapped and committed
//! through the [`Writer`](crate::writer::Writer), and refused with NAK if the commit
//! failed (the instrument repeats the frame). EOT, an abort or a closed connection before
//! that drops what was buffered: nothing is filed half. The stored original is the
//! transmission's record text, under an id derived from its SHA-256, so a repeated
//! transmission is filed once.
//!
//! Deadlines: the LIS1-A link timers (the receiver's `deadline`), the listener's idle
//! timeout between transmissions, and a whole-transmission deadline from ENQ to EOT; a
//! transmission larger than the configured maximum closes the connection.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use labguard_astm::frame::{ACK, ENQ};
use labguard_astm::{parse, Abort, Event, IdFor, Limits, MappingOptions, Receiver};
use labguard_core::Id;
use labguard_store::{Enrollment, Inbound, QcReading};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::handler::Peer;
use crate::listen::{peer_ip, refuse, still_enrolled, Door, Shared};
use crate::plausibility;

/// A transmission refused before the store: the enrollment concerned (if known) and the
/// reason code audited.
pub type Refusal = Box<(Option<Enrollment>, &'static str)>;

/// The stable id a transmission is filed under (dedup key with the device id).
pub fn transmission_id(text: &[u8]) -> String {
    let h = hex::encode(labguard_crypto::sha256(text));
    format!("astm-{}", h.get(..40).unwrap_or(&h))
}

/// True when `message` (part of `transmission`) holds the L record, or the transmission
/// cannot be one (it does not open with an H record), so it is decided now.
fn ends_transmission(transmission: &[u8], message: &[u8]) -> bool {
    if transmission.first() != Some(&b'H') {
        return true;
    }
    let Some(&delim) = transmission.get(1) else {
        return true;
    };
    message
        .split(|b| *b == b'\r' || *b == b'\n')
        .any(|line| line.first() == Some(&b'L') && line.get(1) == Some(&delim))
}

/// Parses a complete transmission from one of `candidates` (the TLS device, or the
/// legacy enrollments of the source address), binds it to the enrollment its H-5 sender
/// name names, and maps it into what the store files. Pure: no sockets, no store.
pub fn decide(text: &[u8], candidates: &[Enrollment]) -> Result<Box<Inbound>, Refusal> {
    let first = || candidates.first().cloned();
    let t = parse(text).map_err(|_| Box::new((first(), "unparsable")))?;
    if !t.is_complete() {
        return Err(Box::new((first(), "unparsable")));
    }
    let sender = t.header().sender_name().unwrap_or_default();
    let sender = sender.trim();
    let device = candidates
        .iter()
        .find(|e| {
            e.is_active()
                && !sender.is_empty()
                && (e.name.eq_ignore_ascii_case(sender)
                    || e.sending_app.eq_ignore_ascii_case(sender))
        })
        .ok_or_else(|| Box::new((first(), "sender-mismatch")))?;
    let mut patient_mrns = Vec::new();
    let mut specimen_accessions = Vec::new();
    let mapped = t.to_records(&MappingOptions::default(), &mut |what| {
        let id = Id::new_v4();
        match what {
            IdFor::Patient { mrn } => patient_mrns.push((id, mrn.to_string())),
            IdFor::Specimen { accession } => specimen_accessions.push((id, accession.to_string())),
            // A patient only the specimen names: the result is held as unknown-patient
            // rather than dropped.
            IdFor::PatientOfSpecimen { .. } | IdFor::Order { .. } | IdFor::Result => {}
        }
        Some(id)
    });
    let now = Utc::now();
    let records = mapped.value;
    let qc = records
        .qc
        .iter()
        .filter_map(|o| {
            Some(QcReading {
                lot: o
                    .lot
                    .clone()
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or_else(|| o.control.clone()),
                level: o
                    .level
                    .clone()
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or_else(|| "1".into()),
                analyte: o.analyte.clone()?,
                units: o.units.clone(),
                value: o
                    .value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())?,
                observed_at: o.observed_at.unwrap_or(now),
            })
        })
        .collect();
    let holds = records
        .lab
        .results
        .iter()
        .map(|r| plausibility::check(r, &device.analytes))
        .collect();
    Ok(Box::new(Inbound {
        device_id: device.id,
        actor: device.actor(),
        control_id: transmission_id(text),
        raw: text.to_vec(),
        specimens: records.lab.specimens,
        orders: records.lab.orders,
        results: records.lab.results,
        holds,
        patient_mrns,
        specimen_accessions,
        qc,
    }))
}

/// One connection's link state.
struct Link {
    rx: Receiver,
    /// The transmission's messages received so far (not yet committed).
    text: Vec<u8>,
    /// When the transmission began (ENQ), while one is open.
    started: Option<Instant>,
    origin: Instant,
    peer: Peer,
    candidates: Vec<Enrollment>,
}

/// Why a connection is closed (for the log), or carry on.
type Step = Result<(), &'static str>;

impl Link {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    async fn send<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) -> Step {
        s.write_all(bytes).await.map_err(|_| "write failed")?;
        s.flush().await.map_err(|_| "write failed")
    }

    /// Feeds one byte and acts on what the receiver says.
    async fn byte<S: AsyncWrite + Unpin>(&mut self, s: &mut S, b: u8, sh: &Shared) -> Step {
        let events = self.rx.feed(&[b], self.now());
        // An ENQ answered with ACK opens a transmission (or restarts one whose sender
        // lost our ACK): what was buffered is dropped, as the receiver dropped it.
        if b == ENQ && events.iter().any(|e| *e == Event::Send(vec![ACK])) {
            self.text.clear();
            self.started = Some(Instant::now());
        }
        for ev in events {
            match ev {
                Event::Send(bytes) => Self::send(s, &bytes).await?,
                Event::Message(m) => {
                    let (reply, close) = self.message(m, sh).await?;
                    for ev in reply {
                        if let Event::Send(bytes) = ev {
                            Self::send(s, &bytes).await?;
                        }
                    }
                    if close {
                        return Err("transmission refused");
                    }
                }
                Event::EndOfTransmission | Event::Aborted(Abort::EotBeforeDecision) => {
                    if !self.text.is_empty() {
                        tracing::info!(
                            "ASTM transmission ended before its L record; nothing filed"
                        );
                    }
                    self.text.clear();
                    self.started = None;
                }
                Event::Aborted(why) => {
                    tracing::info!(reason = %why, "ASTM transfer aborted");
                    return Err("transfer aborted");
                }
                Event::Delivered | Event::Contention { .. } => {}
            }
        }
        Ok(())
    }

    /// A message handed up: buffered and acknowledged, or (holding the L record) decided,
    /// filed, and only then acknowledged. Returns the receiver's reply and whether the
    /// connection is then closed (a refused sender gets its NAK and no second try).
    async fn message(
        &mut self,
        m: Vec<u8>,
        sh: &Shared,
    ) -> Result<(Vec<Event>, bool), &'static str> {
        let before = self.text.len();
        if before + m.len() > sh.max {
            return Err("transmission larger than the maximum");
        }
        self.text.extend_from_slice(&m);
        if !ends_transmission(&self.text, &m) {
            return Ok((self.rx.accept(self.now()), false));
        }
        let addr = peer_ip(&self.peer);
        let inbound = match decide(&self.text, &self.candidates) {
            Ok(i) => i,
            Err(refused) => {
                let (device, why) = *refused;
                sh.metrics.message(Door::Astm, "refused");
                refuse(sh, addr, device.as_ref(), why);
                // NAK, and no second try on this connection.
                return self.refuse_and_close();
            }
        };
        let device = self
            .candidates
            .iter()
            .find(|e| e.id == inbound.device_id)
            .cloned();
        match sh.writer.submit(inbound).await {
            Ok(Ok(_)) => {
                sh.metrics.message(Door::Astm, "filed");
                tracing::debug!("transmission filed");
                self.text.clear();
                Ok((self.rx.accept(self.now()), false))
            }
            Ok(Err(f)) if f.denied => {
                sh.metrics.message(Door::Astm, "refused");
                refuse(sh, addr, device.as_ref(), "device-revoked");
                self.refuse_and_close()
            }
            Ok(Err(f)) => {
                sh.metrics.message(Door::Astm, "store-failed");
                tracing::error!(reason = %f.why, "storing an ASTM transmission failed, answered NAK");
                self.text.truncate(before);
                Ok((self.rx.refuse(self.now()), false))
            }
            Err(e) => {
                sh.metrics.message(Door::Astm, "store-failed");
                tracing::error!(reason = %e, "storing an ASTM transmission failed, answered NAK");
                self.text.truncate(before);
                Ok((self.rx.refuse(self.now()), false))
            }
        }
    }

    fn refuse_and_close(&mut self) -> Result<(Vec<Event>, bool), &'static str> {
        self.text.clear();
        Ok((self.rx.refuse(self.now()), true))
    }

    /// The earliest deadline and what it is.
    fn deadline(&self, sh: &Shared, last_read: Instant) -> (Instant, &'static str) {
        let mut d = (last_read + sh.idle, "idle");
        if let Some(start) = self.started {
            let t = start + sh.transmission;
            if t < d.0 {
                d = (
                    t,
                    "transmission not complete within the transmission deadline",
                );
            }
        }
        if let Some(t) = self.rx.deadline() {
            let t = self.origin + t;
            if t < d.0 {
                d = (t, "link timer");
            }
        }
        d
    }
}

/// Serves one ASTM connection from `peer`, speaking for one of `candidates`.
pub(crate) async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    peer: Peer,
    candidates: Vec<Enrollment>,
    sh: Arc<Shared>,
) {
    let limits = Limits {
        max_message: sh.max,
        ..Limits::default()
    };
    let mut link = Link {
        rx: Receiver::with_timeouts(limits, sh.astm_timeouts),
        text: Vec::new(),
        started: None,
        origin: Instant::now(),
        peer,
        candidates,
    };
    let mut buf = vec![0u8; 16 * 1024];
    let mut generation = sh.generation.clone();
    let mut shutdown = sh.shutdown.clone();
    let mut last_read = Instant::now();
    let why = loop {
        let (until, what) = link.deadline(&sh, last_read);
        tokio::select! {
            r = tokio::time::timeout_at(until, s.read(&mut buf)) => match r {
                Err(_) if what == "link timer" => {
                    let now = link.now();
                    let events = link.rx.poll(now);
                    if let Some(Event::Aborted(a)) = events.first() {
                        tracing::info!(reason = %a, "ASTM transfer aborted");
                        break "link timer expired";
                    }
                }
                Err(_) => break what,
                Ok(Ok(0)) => {
                    if link.started.is_some() && !link.text.is_empty() {
                        tracing::info!(
                            "connection closed in the middle of an ASTM transmission; nothing filed"
                        );
                    }
                    return;
                }
                Ok(Ok(n)) => {
                    last_read = Instant::now();
                    let mut step = Ok(());
                    for &b in buf.get(..n).unwrap_or_default() {
                        step = link.byte(&mut s, b, &sh).await;
                        if step.is_err() {
                            break;
                        }
                    }
                    if let Err(w) = step {
                        break w;
                    }
                }
                Ok(Err(_)) => return,
            },
            _ = generation.changed() => {
                if !still_enrolled(&sh, &link.peer) {
                    break "device certificate revoked";
                }
            }
            _ = shutdown.changed() => return,
        }
    };
    tracing::info!(reason = why, "closing");
    let _ = s.shutdown().await;
}
