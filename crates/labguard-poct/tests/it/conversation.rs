//! Whole conversations between the simulated meter and the host, in memory.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, TimeZone, Utc};
use labguard_poct::{
    map_observations, AckCode, AnalyteMap, Body, CommitError, DeviceSim, Finish, Hello, HostConfig,
    HostConversation, HostEvent, Limits, Message, MessageType, Observations, Operator,
    OperatorList,
};

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap() + Duration::seconds(s)
}

fn hello() -> Hello {
    Hello {
        device_id: "GM-0001".into(),
        model_id: Some("GM-200".into()),
        serial_id: Some("SN1234".into()),
        sw_version: Some("3.1.4".into()),
        ..Hello::default()
    }
}

fn observations(file: &str) -> Observations {
    let m = Message::parse(file.as_bytes(), &Limits::default()).unwrap();
    match m.body {
        Body::Observations(o) => o,
        other => panic!("not observations: {other:?}"),
    }
}

fn r01() -> Observations {
    observations(include_str!("../../testdata/obs_r01.xml"))
}

fn r02() -> Observations {
    observations(include_str!("../../testdata/obs_r02.xml"))
}

fn parse(s: &str) -> Message {
    Message::parse(s.as_bytes(), &Limits::default()).unwrap()
}

/// Both sides in memory; messages go back and forth until neither has anything to say.
struct Wire {
    sim: DeviceSim,
    host: HostConversation,
    to_host: VecDeque<String>,
    /// Everything the host sent, parsed, in order.
    host_sent: Vec<Message>,
    events: Vec<HostEvent>,
}

impl Wire {
    fn new(sim: DeviceSim, config: HostConfig) -> Wire {
        Wire {
            sim,
            host: HostConversation::new(config, t(0)),
            to_host: VecDeque::new(),
            host_sent: Vec::new(),
            events: Vec::new(),
        }
    }

    fn start(&mut self) {
        let hel = self.sim.start(t(0));
        self.to_host.push_back(hel);
        self.pump();
    }

    fn deliver(&mut self, out: labguard_poct::Output) {
        self.events.extend(out.events);
        for s in out.send {
            self.host_sent.push(parse(&s));
            for reply in self.sim.receive(s.as_bytes(), t(1)).unwrap() {
                self.to_host.push_back(reply);
            }
        }
    }

    fn pump(&mut self) {
        while let Some(msg) = self.to_host.pop_front() {
            let out = self.host.receive(msg.as_bytes(), t(1));
            self.deliver(out);
        }
    }

    fn commit(&mut self, id: &str) {
        let out = self.host.committed(id, t(2)).unwrap();
        self.deliver(out);
        self.pump();
    }

    /// Control ids of the observation messages delivered so far.
    fn delivered(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                HostEvent::Observations { control_id, .. } => Some(control_id.clone()),
                _ => None,
            })
            .collect()
    }

    fn acks_sent(&self) -> Vec<(AckCode, Option<String>)> {
        self.host_sent
            .iter()
            .filter_map(|m| match &m.body {
                Body::Ack(a) => Some((a.type_cd, a.ack_control_id.clone())),
                _ => None,
            })
            .collect()
    }
}

fn operators() -> OperatorList {
    OperatorList {
        operators: vec![Operator {
            operator_id: "RN-7781".into(),
            name: None,
            access: Some("ALL".into()),
        }],
    }
}

#[test]
fn full_conversation_acknowledges_only_after_commit() {
    let config = HostConfig {
        operators: Some(operators()),
        ..HostConfig::default()
    };
    let mut w = Wire::new(DeviceSim::new(hello(), vec![r01(), r02()]), config);
    w.start();
    assert!(matches!(&w.events[0], HostEvent::Hello(h) if h.device_id == "GM-0001"));
    assert!(matches!(&w.events[1], HostEvent::Status(s) if s.new_observations_qty == Some(2)));
    let kinds: Vec<MessageType> = w.host_sent.iter().map(Message::kind).collect();
    assert_eq!(
        kinds,
        [MessageType::Ack, MessageType::Ack, MessageType::Request]
    );
    // The first OBS arrived, and nothing acknowledged it: it is not stored yet.
    let first = w.delivered();
    assert_eq!(first.len(), 1);
    assert_eq!(w.sim.accepted(), [false, false]);
    assert_eq!(w.host.pending(), first.as_slice());
    assert!(!w
        .acks_sent()
        .contains(&(AckCode::Accept, Some(first[0].clone()))));

    w.commit(&first[0]);
    assert_eq!(w.sim.accepted(), [true, false]);
    let both = w.delivered();
    assert_eq!(both.len(), 2);
    assert!(w.host.is_finished().is_none());
    w.commit(&both[1]);
    assert_eq!(w.sim.accepted(), [true, true]);

    // Then EOT, the operator list, its EOT, and END.
    let tail: Vec<MessageType> = w
        .host_sent
        .iter()
        .rev()
        .take(4)
        .map(Message::kind)
        .collect();
    assert_eq!(
        tail,
        [
            MessageType::End,
            MessageType::EndOfTopic,
            MessageType::OperatorList,
            MessageType::Ack
        ]
    );
    assert_eq!(w.sim.operators, operators().operators);
    assert!(w.sim.ended());
    assert_eq!(w.host.is_finished(), Some(Finish::Normal));
    assert!(w.events.contains(&HostEvent::OperatorListAccepted));
    assert!(w.events.contains(&HostEvent::TopicEnded("OBS".into())));
    let state = w.host.device_state().unwrap();
    assert_eq!(state.hello.serial_id.as_deref(), Some("SN1234"));
    assert!(!state.docked);
    assert_eq!((state.observation_messages, state.pending_commits), (2, 0));
    assert_eq!(state.status.and_then(|s| s.observations_qty), Some(2));
}

#[test]
fn several_pending_messages_commit_in_any_order() {
    let mut sim = DeviceSim::new(hello(), vec![r01(), r02(), r01()]);
    sim.pipeline = true;
    let mut w = Wire::new(sim, HostConfig::default());
    w.start();
    let ids = w.delivered();
    assert_eq!(ids.len(), 3);
    assert_eq!(w.sim.accepted(), [false, false, false]);
    w.commit(&ids[2]);
    assert_eq!(w.sim.accepted(), [false, false, true]);
    w.commit(&ids[0]);
    w.commit(&ids[1]);
    assert_eq!(w.sim.accepted(), [true, true, true]);
    assert_eq!(w.host.is_finished(), Some(Finish::Normal));
    assert!(w.sim.ended());
}

#[test]
fn a_failed_commit_is_an_error_ack_and_the_device_keeps_the_result() {
    let mut w = Wire::new(DeviceSim::new(hello(), vec![r01()]), HostConfig::default());
    w.start();
    let id = w.delivered().remove(0);
    let out = w.host.failed(&id, t(2)).unwrap();
    w.deliver(out);
    w.pump();
    assert_eq!(w.sim.accepted(), [false]);
    assert_eq!(w.sim.refusals.len(), 1);
    assert_eq!(w.sim.refusals[0].type_cd, AckCode::Error);
    assert_eq!(w.host.is_finished(), Some(Finish::Normal));
    assert_eq!(w.host.committed(&id, t(3)), Err(CommitError::NotPending));
}

#[test]
fn commits_out_of_turn_are_refused() {
    let mut w = Wire::new(DeviceSim::new(hello(), vec![r01()]), HostConfig::default());
    w.start();
    assert_eq!(
        w.host.committed("no-such-id", t(2)),
        Err(CommitError::NotPending)
    );
    let id = w.delivered().remove(0);
    w.commit(&id);
    assert_eq!(w.host.committed(&id, t(3)), Err(CommitError::NotPending));
}

/// HEL and DST through, REQ sent: the host now waits for the device's ACK of the REQ.
fn at_request() -> (HostConversation, String) {
    let mut host = HostConversation::new(HostConfig::default(), t(0));
    let mut sim = DeviceSim::new(hello(), vec![r01()]);
    let hel = sim.start(t(0));
    let mut out = host.receive(hel.as_bytes(), t(0));
    let ack = out.send.remove(0);
    let dst = sim.receive(ack.as_bytes(), t(0)).unwrap().remove(0);
    let out = host.receive(dst.as_bytes(), t(0));
    let req = parse(&out.send[1]);
    assert_eq!(req.body, Body::Request("ROBS".into()));
    (host, req.header.control_id)
}

fn ack_of(id: &str, own: &str) -> String {
    format!(
        r#"<ACK.R01><HDR><HDR.control_id V="{own}"/></HDR><ACK><ACK.type_cd V="AA"/><ACK.ack_control_id V="{id}"/></ACK></ACK.R01>"#
    )
}

#[test]
fn an_ack_for_the_wrong_message_is_reported_not_answered() {
    let (mut host, req) = at_request();
    let out = host.receive(ack_of("999", "D9").as_bytes(), t(1));
    assert!(out.send.is_empty(), "an ACK is never answered");
    assert!(matches!(
        &out.events[..],
        [HostEvent::ProtocolError {
            message: Some(MessageType::Ack),
            ..
        }]
    ));
    // The right one still works, and then observations flow.
    let out = host.receive(ack_of(&req, "D10").as_bytes(), t(2));
    assert!(out.events.is_empty() && out.send.is_empty());
    let obs = Message {
        header: labguard_poct::Header {
            control_id: "D11".into(),
            version_id: None,
            creation_dttm: None,
        },
        body: Body::Observations(r01()),
    };
    let out = host.receive(obs.encode().as_bytes(), t(3));
    assert!(out.send.is_empty());
    assert!(
        matches!(&out.events[..], [HostEvent::Observations { control_id, .. }] if control_id == "D11")
    );
    // A retransmission while it is being stored is not delivered twice...
    assert_eq!(
        host.receive(obs.encode().as_bytes(), t(4)),
        Default::default()
    );
    // ...and after the commit it gets the same AA again, still without a second delivery.
    host.committed("D11", t(5)).unwrap();
    let out = host.receive(obs.encode().as_bytes(), t(6));
    assert!(out.events.is_empty());
    let ack = parse(&out.send[0]);
    assert!(
        matches!(ack.body, Body::Ack(a) if a.type_cd == AckCode::Accept && a.ack_control_id.as_deref() == Some("D11"))
    );
}

/// The host's AE for one message: its note and which control id it names.
fn error_ack(host: &mut HostConversation, bytes: &[u8]) -> (Option<String>, String) {
    let out = host.receive(bytes, t(1));
    assert_eq!(out.send.len(), 1, "{out:?}");
    assert!(matches!(out.events[0], HostEvent::ProtocolError { .. }));
    match parse(&out.send[0]).body {
        Body::Ack(a) if a.type_cd == AckCode::Error => {
            (a.ack_control_id, a.note_txt.unwrap_or_default())
        }
        other => panic!("not an AE: {other:?}"),
    }
}

#[test]
fn out_of_order_and_unknown_messages_get_an_error_ack() {
    let mut host = HostConversation::new(HostConfig::default(), t(0));
    let dst = r#"<DST.R01><HDR><HDR.control_id V="7"/></HDR><DST/></DST.R01>"#;
    assert_eq!(
        error_ack(&mut host, dst.as_bytes()),
        (
            Some("7".into()),
            "unexpected DST.R01 while waiting for HEL.R01".into()
        )
    );
    let unknown = r#"<ZZZ.R01><HDR><HDR.control_id V="8"/></HDR></ZZZ.R01>"#;
    assert_eq!(
        error_ack(&mut host, unknown.as_bytes()),
        (Some("8".into()), "unknown message type \"ZZZ.R01\"".into())
    );
    let (id, note) = error_ack(&mut host, b"\x00\x01 not xml <<<");
    assert_eq!(id, None);
    assert!(note.starts_with("malformed XML"), "{note}");
    // The conversation goes on: a hello is still welcome.
    let mut sim = DeviceSim::new(hello(), vec![]);
    let out = host.receive(sim.start(t(2)).as_bytes(), t(2));
    assert!(matches!(out.events[0], HostEvent::Hello(_)));
}

#[test]
fn hostile_messages_are_refused_without_panicking() {
    let mut host = HostConversation::new(HostConfig::default(), t(0));
    let huge = format!(
        r#"<HEL.R01><HDR><HDR.control_id V="1"/></HDR><DEV><DEV.device_id V="{}"/></DEV></HEL.R01>"#,
        "A".repeat(300 * 1024)
    );
    let (id, note) = error_ack(&mut host, huge.as_bytes());
    assert_eq!(id, None);
    assert!(note.contains("over the 262144-byte limit"), "{note}");

    let bomb = format!(
        r#"<?xml version="1.0"?><!DOCTYPE HEL.R01 [<!ENTITY a "aaaaaaaaaa">{}]><HEL.R01><HDR><HDR.control_id V="&e9;"/></HDR></HEL.R01>"#,
        (1..10)
            .map(|i| format!(r#"<!ENTITY e{i} "{}">"#, format!("&e{};", i - 1).repeat(10)))
            .collect::<String>()
            .replace("&e0;", "&a;")
    );
    assert_eq!(
        error_ack(&mut host, bomb.as_bytes()),
        (None, "DOCTYPE/DTD is not allowed".into())
    );
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><HEL.R01><HDR><HDR.control_id V="&e;"/></HDR></HEL.R01>"#;
    assert_eq!(
        error_ack(&mut host, xxe.as_bytes()).1,
        "DOCTYPE/DTD is not allowed"
    );
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    assert_eq!(
        error_ack(&mut host, deep.as_bytes()).1,
        "elements nested deeper than 16"
    );
}

#[test]
fn too_many_errors_end_the_conversation() {
    let mut host = HostConversation::new(HostConfig::default(), t(0));
    for _ in 0..4 {
        assert_eq!(host.receive(b"junk", t(1)).send.len(), 1);
    }
    let out = host.receive(b"junk", t(1));
    assert_eq!(parse(&out.send[1]).kind(), MessageType::End);
    assert!(out
        .events
        .contains(&HostEvent::Finished(Finish::TooManyErrors)));
    assert_eq!(host.receive(b"junk", t(2)), Default::default());
}

#[test]
fn silence_times_out_but_not_while_commits_are_pending() {
    let mut host = HostConversation::new(HostConfig::default(), t(0));
    assert!(host.poll(t(60)).events.is_empty());
    assert_eq!(
        host.poll(t(61)).events,
        [HostEvent::Finished(Finish::TimedOut)]
    );
    assert_eq!(host.is_finished(), Some(Finish::TimedOut));

    let mut w = Wire::new(DeviceSim::new(hello(), vec![r01()]), HostConfig::default());
    w.start();
    assert_eq!(w.host.pending().len(), 1);
    assert!(
        w.host.poll(t(3600)).events.is_empty(),
        "the device waits on us"
    );
}

#[test]
fn nothing_new_means_no_request() {
    let mut w = Wire::new(DeviceSim::new(hello(), vec![]), HostConfig::default());
    w.start();
    let kinds: Vec<MessageType> = w.host_sent.iter().map(Message::kind).collect();
    assert_eq!(
        kinds,
        [MessageType::Ack, MessageType::Ack, MessageType::End]
    );
    assert_eq!(w.host.is_finished(), Some(Finish::Normal));
    assert!(w.sim.ended());
}

#[test]
fn device_end_finishes_the_conversation() {
    let mut host = HostConversation::new(HostConfig::default(), t(0));
    let end = r#"<END.R01><HDR><HDR.control_id V="3"/></HDR></END.R01>"#;
    let out = host.receive(end.as_bytes(), t(1));
    assert_eq!(out.events, [HostEvent::Finished(Finish::DeviceEnded)]);
    assert!(host.device_state().is_none(), "no hello, nothing to show");
}

#[test]
fn delivered_observations_map_to_results_and_qc() {
    let mut w = Wire::new(
        DeviceSim::new(hello(), vec![r01(), r02()]),
        HostConfig::default(),
    );
    w.start();
    let id = w.delivered().remove(0);
    w.commit(&id);
    let all: Vec<&Observations> = w
        .events
        .iter()
        .filter_map(|e| match e {
            HostEvent::Observations { observations, .. } => Some(observations),
            _ => None,
        })
        .collect();
    let analytes = AnalyteMap::glucose_meters();
    let patient = map_observations(all[0], "GM-0001", &analytes);
    assert!(patient.problems.is_empty(), "{:?}", patient.problems);
    assert_eq!(patient.patient.len(), 2);
    assert!(patient.qc.is_empty());
    let qc = map_observations(all[1], "GM-0001", &analytes);
    assert_eq!((qc.patient.len(), qc.qc.len()), (0, 1));
    assert_eq!(qc.qc[0].control_lot.as_deref(), Some("CTL-88A"));
    assert_eq!(qc.qc[0].numeric_value(), Some(301.0));
}
