//! The host (labguard) side of one POCT1-A conversation, sans-I/O.
//!
//! The caller owns the connection: it feeds each message the device sent to
//! [`HostConversation::receive`], writes every string in [`Output::send`] back, and acts
//! on [`Output::events`]. Time comes in as `now`; [`HostConversation::poll`] applies the
//! response timeout. The flow (POCT1-A basic profile, device-initiated):
//!
//! ```text
//! device HEL.R01 -> host ACK          device DST.R01 -> host ACK, REQ.R01 (ROBS)
//! device ACK (for the REQ)            device OBS.R01/R02 ... -> host ACK after commit
//! device EOT.R01 (OBS) -> host ACK    host OPL.R01 -> device ACK (if configured)
//! host EOT.R01 (OPL) -> device ACK    host END.R01
//! ```
//!
//! An observation message is acknowledged only after the caller reports it stored
//! ([`HostConversation::committed`]): a device deletes or marks results as sent when it
//! receives AA, so an AA before the commit could lose results. A retransmitted message
//! (same control id) is not delivered twice: if it is stored its AA is sent again, if it
//! is still being stored nothing is sent. Unexpected or unreadable messages get an AE that
//! says why, without echoing content; after `max_errors` of them the host ends.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use thiserror::Error;

use crate::message::{
    Ack, AckCode, Body, DeviceStatus, Header, Hello, Message, MessageType, Observations,
    OperatorList,
};
use crate::xml::{self, Limits};

#[derive(Debug, Clone, PartialEq)]
pub struct HostConfig {
    pub limits: Limits,
    /// How long to wait for the device's next message.
    pub response_timeout: Duration,
    /// Request observations even when DST.R01 reports no new ones.
    pub always_request: bool,
    /// Sent after the observation topic when set (the staff allowed to test).
    pub operators: Option<OperatorList>,
    /// Error ACKs sent before the host gives up on the conversation.
    pub max_errors: u32,
    /// Observation messages awaiting commit at once; more get AE (the device resends).
    pub max_pending: usize,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            limits: Limits::default(),
            response_timeout: Duration::seconds(60),
            always_request: false,
            operators: None,
            max_errors: 5,
            max_pending: 16,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The host sent END.R01 after every topic.
    Normal,
    /// The device sent END.R01.
    DeviceEnded,
    /// The device went silent for longer than `response_timeout`.
    TimedOut,
    /// Too many unexpected or unreadable messages.
    TooManyErrors,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    Hello(Hello),
    Status(DeviceStatus),
    /// Store these, then call `committed(control_id)` (or `failed`).
    Observations {
        control_id: String,
        observations: Observations,
    },
    TopicEnded(String),
    OperatorListAccepted,
    /// The device answered one of the host's messages with AE or AR.
    DeviceRefused {
        message: MessageType,
        code: AckCode,
    },
    /// A message the host could not use; `reason` names the problem, never content.
    ProtocolError {
        message: Option<MessageType>,
        reason: String,
    },
    Finished(Finish),
}

/// What to write to the device and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    pub send: Vec<String>,
    pub events: Vec<HostEvent>,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CommitError {
    #[error("no observation message with that control id awaits commit")]
    NotPending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitHello,
    AwaitStatus,
    AwaitRequestAck,
    Observations,
    AwaitOplAck,
    AwaitOplEotAck,
    /// Every topic is done; END waits for the last commits.
    Draining,
    Done(Finish),
}

impl State {
    fn describe(self) -> &'static str {
        match self {
            State::AwaitHello => "waiting for HEL.R01",
            State::AwaitStatus => "waiting for DST.R01",
            State::AwaitRequestAck => "waiting for the ACK of REQ.R01",
            State::Observations => "receiving observations",
            State::AwaitOplAck => "waiting for the ACK of OPL.R01",
            State::AwaitOplEotAck => "waiting for the ACK of EOT.R01",
            State::Draining => "ending",
            State::Done(_) => "finished",
        }
    }
}

/// What the caller can show about the device (fleet view, "last docked").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    pub hello: Hello,
    pub status: Option<DeviceStatus>,
    /// True while this conversation is open: a meter talks only while docked.
    pub docked: bool,
    pub last_seen: DateTime<Utc>,
    /// Observation messages delivered in this conversation.
    pub observation_messages: usize,
    pub pending_commits: usize,
}

pub struct HostConversation {
    config: HostConfig,
    state: State,
    next_id: u64,
    last_heard: DateTime<Utc>,
    /// Our message the device must ACK next: its control id and type.
    awaiting: Option<(String, MessageType)>,
    hello: Option<Hello>,
    status: Option<DeviceStatus>,
    pending: Vec<String>,
    acked: BTreeSet<String>,
    delivered: usize,
    errors: u32,
}

impl HostConversation {
    /// A conversation on a connection the device just opened.
    pub fn new(config: HostConfig, now: DateTime<Utc>) -> HostConversation {
        HostConversation {
            config,
            state: State::AwaitHello,
            next_id: 1,
            last_heard: now,
            awaiting: None,
            hello: None,
            status: None,
            pending: Vec::new(),
            acked: BTreeSet::new(),
            delivered: 0,
            errors: 0,
        }
    }

    pub fn is_finished(&self) -> Option<Finish> {
        match self.state {
            State::Done(f) => Some(f),
            _ => None,
        }
    }

    /// Control ids delivered and not yet committed or failed.
    pub fn pending(&self) -> &[String] {
        &self.pending
    }

    pub fn device_state(&self) -> Option<DeviceState> {
        Some(DeviceState {
            hello: self.hello.clone()?,
            status: self.status.clone(),
            docked: self.is_finished().is_none(),
            last_seen: self.last_heard,
            observation_messages: self.delivered,
            pending_commits: self.pending.len(),
        })
    }

    /// One message from the device.
    pub fn receive(&mut self, bytes: &[u8], now: DateTime<Utc>) -> Output {
        let mut out = Output::default();
        if self.is_finished().is_some() {
            return out;
        }
        self.last_heard = now;
        let root = match xml::parse(bytes, &self.config.limits) {
            Ok(r) => r,
            Err(e) => {
                self.error(&mut out, None, None, e.to_string(), now);
                return out;
            }
        };
        let msg = match Message::from_element(&root) {
            Ok(m) => m,
            Err(e) => {
                let id = root.child("HDR").and_then(|h| h.v_owned("HDR.control_id"));
                let kind = MessageType::from_code(&root.name);
                self.error(&mut out, id, kind, e.to_string(), now);
                return out;
            }
        };
        self.dispatch(msg, &mut out, now);
        out
    }

    fn dispatch(&mut self, msg: Message, out: &mut Output, now: DateTime<Utc>) {
        let id = msg.header.control_id.clone();
        let kind = msg.kind();
        match (self.state, msg.body) {
            (_, Body::End(_)) => {
                self.state = State::Done(Finish::DeviceEnded);
                out.events.push(HostEvent::Finished(Finish::DeviceEnded));
            }
            (State::AwaitHello, Body::Hello(h)) => {
                self.ack(out, &id, AckCode::Accept, None, now);
                self.hello = Some(h.clone());
                out.events.push(HostEvent::Hello(h));
                self.state = State::AwaitStatus;
            }
            (State::AwaitStatus, Body::DeviceStatus(s)) => {
                self.ack(out, &id, AckCode::Accept, None, now);
                let new = s.new_observations_qty.unwrap_or(0);
                self.status = Some(s.clone());
                out.events.push(HostEvent::Status(s));
                if new > 0 || self.config.always_request {
                    self.send_own(out, MessageType::Request, Body::Request("ROBS".into()), now);
                    self.state = State::AwaitRequestAck;
                } else {
                    self.after_observations(out, now);
                }
            }
            (State::AwaitRequestAck | State::Observations, Body::Observations(o)) => {
                // Some devices start sending without acknowledging the REQ first.
                self.awaiting = None;
                self.state = State::Observations;
                self.observations(out, id, o, now);
            }
            (State::Observations, Body::EndOfTopic(topic)) => {
                self.ack(out, &id, AckCode::Accept, None, now);
                out.events.push(HostEvent::TopicEnded(topic));
                self.after_observations(out, now);
            }
            (State::AwaitRequestAck | State::AwaitOplAck | State::AwaitOplEotAck, Body::Ack(a)) => {
                self.device_ack(out, a, now);
            }
            (_, Body::Ack(_)) => {
                // An ACK is never answered (that could loop); it is reported and counted.
                out.events.push(HostEvent::ProtocolError {
                    message: Some(MessageType::Ack),
                    reason: format!("unexpected ACK.R01 while {}", self.state.describe()),
                });
                self.count_error(out, now);
            }
            (state, _) => {
                let reason = format!("unexpected {} while {}", kind.code(), state.describe());
                self.error(out, Some(id), Some(kind), reason, now);
            }
        }
    }

    /// The device's ACK of the message we sent last.
    fn device_ack(&mut self, out: &mut Output, a: Ack, now: DateTime<Utc>) {
        let Some((want, what)) = self.awaiting.clone() else {
            return;
        };
        if a.ack_control_id.as_deref() != Some(want.as_str()) {
            out.events.push(HostEvent::ProtocolError {
                message: Some(MessageType::Ack),
                reason: "ACK.R01 names a control id the host is not waiting on".into(),
            });
            self.count_error(out, now);
            return;
        }
        self.awaiting = None;
        if a.type_cd != AckCode::Accept {
            out.events.push(HostEvent::DeviceRefused {
                message: what,
                code: a.type_cd,
            });
        }
        match self.state {
            State::AwaitRequestAck if a.type_cd == AckCode::Accept => {
                self.state = State::Observations
            }
            State::AwaitRequestAck => self.after_observations(out, now),
            State::AwaitOplAck => {
                if a.type_cd == AckCode::Accept {
                    out.events.push(HostEvent::OperatorListAccepted);
                }
                self.send_own(
                    out,
                    MessageType::EndOfTopic,
                    Body::EndOfTopic("OPL".into()),
                    now,
                );
                self.state = State::AwaitOplEotAck;
            }
            _ => self.finish_or_drain(out, now),
        }
    }

    fn observations(&mut self, out: &mut Output, id: String, o: Observations, now: DateTime<Utc>) {
        if self.acked.contains(&id) {
            // A retransmission of a stored message: the device missed our AA.
            self.ack(out, &id, AckCode::Accept, None, now);
            return;
        }
        if self.pending.contains(&id) {
            return;
        }
        if self.pending.len() >= self.config.max_pending {
            let note = "too many observation messages awaiting storage; resend later";
            self.ack(out, &id, AckCode::Error, Some(note), now);
            return;
        }
        self.pending.push(id.clone());
        self.delivered += 1;
        out.events.push(HostEvent::Observations {
            control_id: id,
            observations: o,
        });
    }

    /// The caller stored the observation message `control_id`: acknowledge it.
    pub fn committed(
        &mut self,
        control_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Output, CommitError> {
        self.take_pending(control_id)?;
        let mut out = Output::default();
        self.acked.insert(control_id.to_string());
        self.ack(&mut out, control_id, AckCode::Accept, None, now);
        self.drained(&mut out, now);
        Ok(out)
    }

    /// The caller could not store `control_id`: AE, so the device keeps it and resends.
    pub fn failed(&mut self, control_id: &str, now: DateTime<Utc>) -> Result<Output, CommitError> {
        self.take_pending(control_id)?;
        let mut out = Output::default();
        let note = "observations not stored; resend later";
        self.ack(&mut out, control_id, AckCode::Error, Some(note), now);
        self.drained(&mut out, now);
        Ok(out)
    }

    fn take_pending(&mut self, control_id: &str) -> Result<(), CommitError> {
        let at = self
            .pending
            .iter()
            .position(|p| p == control_id)
            .ok_or(CommitError::NotPending)?;
        self.pending.remove(at);
        Ok(())
    }

    fn drained(&mut self, out: &mut Output, now: DateTime<Utc>) {
        if self.state == State::Draining && self.pending.is_empty() {
            self.end(out, now);
        }
    }

    /// Applies the response timeout. The device is not waited on while commits are
    /// pending: then it is waiting for us.
    pub fn poll(&mut self, now: DateTime<Utc>) -> Output {
        let mut out = Output::default();
        let waiting_on_device =
            !matches!(self.state, State::Done(_) | State::Draining) && self.pending.is_empty();
        if waiting_on_device && now - self.last_heard > self.config.response_timeout {
            self.state = State::Done(Finish::TimedOut);
            out.events.push(HostEvent::Finished(Finish::TimedOut));
        }
        out
    }

    fn after_observations(&mut self, out: &mut Output, now: DateTime<Utc>) {
        match self.config.operators.clone() {
            Some(list) => {
                self.send_own(
                    out,
                    MessageType::OperatorList,
                    Body::OperatorList(list),
                    now,
                );
                self.state = State::AwaitOplAck;
            }
            None => self.finish_or_drain(out, now),
        }
    }

    fn finish_or_drain(&mut self, out: &mut Output, now: DateTime<Utc>) {
        if self.pending.is_empty() {
            self.end(out, now);
        } else {
            self.state = State::Draining;
        }
    }

    fn end(&mut self, out: &mut Output, now: DateTime<Utc>) {
        let id = self.control_id();
        out.send
            .push(message(id, Body::End(Some("NRM".into())), now));
        self.state = State::Done(Finish::Normal);
        out.events.push(HostEvent::Finished(Finish::Normal));
    }

    fn error(
        &mut self,
        out: &mut Output,
        id: Option<String>,
        kind: Option<MessageType>,
        reason: String,
        now: DateTime<Utc>,
    ) {
        let ack = Ack {
            type_cd: AckCode::Error,
            ack_control_id: id,
            note_txt: Some(reason.clone()),
        };
        let own = self.control_id();
        out.send.push(message(own, Body::Ack(ack), now));
        out.events.push(HostEvent::ProtocolError {
            message: kind,
            reason,
        });
        self.count_error(out, now);
    }

    fn count_error(&mut self, out: &mut Output, now: DateTime<Utc>) {
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            let id = self.control_id();
            out.send
                .push(message(id, Body::End(Some("NRM".into())), now));
            self.state = State::Done(Finish::TooManyErrors);
            out.events.push(HostEvent::Finished(Finish::TooManyErrors));
        }
    }

    fn ack(
        &mut self,
        out: &mut Output,
        id: &str,
        code: AckCode,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) {
        let ack = Ack {
            type_cd: code,
            ack_control_id: Some(id.to_string()),
            note_txt: note.map(str::to_string),
        };
        let own = self.control_id();
        out.send.push(message(own, Body::Ack(ack), now));
    }

    /// Sends a message the device must acknowledge.
    fn send_own(&mut self, out: &mut Output, kind: MessageType, body: Body, now: DateTime<Utc>) {
        let id = self.control_id();
        self.awaiting = Some((id.clone(), kind));
        out.send.push(message(id, body, now));
    }

    fn control_id(&mut self) -> String {
        let id = self.next_id;
        self.next_id += 1;
        id.to_string()
    }
}

/// A POCT1 message with a fresh header.
pub(crate) fn message(control_id: String, body: Body, now: DateTime<Utc>) -> String {
    Message {
        header: Header {
            control_id,
            version_id: Some("POCT1".into()),
            creation_dttm: Some(now.to_rfc3339_opts(SecondsFormat::Secs, false)),
        },
        body,
    }
    .encode()
}
