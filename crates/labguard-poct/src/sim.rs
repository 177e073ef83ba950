//! A simulated meter: the device side of a POCT1-A conversation, for tests and the demo.
//!
//! It says hello, reports its status, sends its stored observation messages when the host
//! asks (one at a time, or all at once with `pipeline`), keeps a message until the host
//! accepts it with AA (as a real meter marks results sent only then), acknowledges the
//! operator list and stops at END.R01.

use chrono::{DateTime, Utc};

use crate::host::message;
use crate::message::{Ack, AckCode, Body, DeviceStatus, Hello, Message, Observations, Operator};
use crate::xml::Limits;
use crate::PoctError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SimState {
    Idle,
    SentHello,
    SentStatus,
    Sending,
    SentEot,
    Ended,
}

pub struct DeviceSim {
    hello: Hello,
    /// Stored observation messages not yet accepted, oldest first.
    stored: Vec<Observations>,
    /// Control ids of sent, unanswered observation messages and their `stored` index.
    in_flight: Vec<(String, usize)>,
    next_id: u64,
    state: SimState,
    awaiting: Option<String>,
    /// Send every observation message without waiting for ACKs.
    pub pipeline: bool,
    /// Operators the host sent.
    pub operators: Vec<Operator>,
    /// AE/AR the host answered with.
    pub refusals: Vec<Ack>,
    accepted: Vec<bool>,
}

impl DeviceSim {
    pub fn new(hello: Hello, stored: Vec<Observations>) -> DeviceSim {
        let accepted = vec![false; stored.len()];
        DeviceSim {
            hello,
            stored,
            in_flight: Vec::new(),
            next_id: 1,
            state: SimState::Idle,
            awaiting: None,
            pipeline: false,
            operators: Vec::new(),
            refusals: Vec::new(),
            accepted,
        }
    }

    /// Observation messages the host has accepted (AA), by position.
    pub fn accepted(&self) -> &[bool] {
        &self.accepted
    }

    pub fn ended(&self) -> bool {
        self.state == SimState::Ended
    }

    /// HEL.R01, opening the conversation.
    pub fn start(&mut self, now: DateTime<Utc>) -> String {
        self.state = SimState::SentHello;
        self.send(Body::Hello(self.hello.clone()), now)
    }

    /// The meter's replies to one host message.
    pub fn receive(&mut self, bytes: &[u8], now: DateTime<Utc>) -> Result<Vec<String>, PoctError> {
        let msg = Message::parse(bytes, &Limits::default())?;
        let mut out = Vec::new();
        match msg.body {
            Body::Ack(a) => self.on_ack(a, &mut out, now),
            Body::Request(code) if code == "ROBS" => {
                out.push(self.ack(&msg.header.control_id, now));
                self.state = SimState::Sending;
                if self.pipeline {
                    for i in 0..self.stored.len() {
                        out.push(self.send_obs(i, now));
                    }
                } else if !self.stored.is_empty() {
                    out.push(self.send_obs(0, now));
                }
                if self.in_flight.is_empty() {
                    out.push(self.eot(now));
                }
            }
            Body::OperatorList(l) => {
                self.operators.extend(l.operators);
                out.push(self.ack(&msg.header.control_id, now));
            }
            Body::EndOfTopic(_) => out.push(self.ack(&msg.header.control_id, now)),
            Body::End(_) => self.state = SimState::Ended,
            _ => {}
        }
        Ok(out)
    }

    fn on_ack(&mut self, a: Ack, out: &mut Vec<String>, now: DateTime<Utc>) {
        if a.type_cd != AckCode::Accept {
            self.refusals.push(a.clone());
        }
        let id = a.ack_control_id.clone().unwrap_or_default();
        if let Some(pos) = self.in_flight.iter().position(|(c, _)| *c == id) {
            let (_, index) = self.in_flight.remove(pos);
            if a.type_cd == AckCode::Accept {
                if let Some(flag) = self.accepted.get_mut(index) {
                    *flag = true;
                }
            }
            if !self.pipeline && index + 1 < self.stored.len() {
                out.push(self.send_obs(index + 1, now));
                return;
            }
            if self.in_flight.is_empty() {
                out.push(self.eot(now));
            }
            return;
        }
        if self.awaiting.as_deref() != Some(id.as_str()) {
            return;
        }
        self.awaiting = None;
        match self.state {
            SimState::SentHello => {
                let new = self.stored.len() as u64;
                let status = DeviceStatus {
                    status_dttm: Some(now.to_rfc3339()),
                    observations_qty: Some(new),
                    new_observations_qty: Some(new),
                    new_events_qty: Some(0),
                    condition_cd: Some("R".into()),
                };
                self.state = SimState::SentStatus;
                out.push(self.send(Body::DeviceStatus(status), now));
            }
            SimState::SentEot => self.state = SimState::Idle,
            _ => {}
        }
    }

    fn send_obs(&mut self, index: usize, now: DateTime<Utc>) -> String {
        let body = Body::Observations(self.stored.get(index).cloned().unwrap_or_default());
        let id = self.control_id();
        self.in_flight.push((id.clone(), index));
        message(id, body, now)
    }

    fn eot(&mut self, now: DateTime<Utc>) -> String {
        self.state = SimState::SentEot;
        self.send(Body::EndOfTopic("OBS".into()), now)
    }

    fn ack(&mut self, id: &str, now: DateTime<Utc>) -> String {
        let id = Some(id.to_string());
        let own = self.control_id();
        message(
            own,
            Body::Ack(Ack {
                type_cd: AckCode::Accept,
                ack_control_id: id,
                note_txt: None,
            }),
            now,
        )
    }

    /// A message that the host must acknowledge.
    fn send(&mut self, body: Body, now: DateTime<Utc>) -> String {
        let id = self.control_id();
        self.awaiting = Some(id.clone());
        message(id, body, now)
    }

    fn control_id(&mut self) -> String {
        // Device ids differ from the host's in tests, so a mixed-up ACK is visible.
        let id = format!("D{}", self.next_id);
        self.next_id += 1;
        id
    }
}
