//! Counters for the instrument listeners, registered into the server's `/metrics`
//! registry. Labels come from fixed vocabularies (protocol, outcome): never a device name,
//! an address or anything a message carried.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::listen::Door;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub protocol: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Proto {
    pub protocol: &'static str,
}

/// What the listeners count. Cheap to clone: every field is a shared handle.
#[derive(Clone, Debug, Default)]
pub struct ListenerMetrics {
    connections: Family<Outcome, Counter>,
    messages: Family<Outcome, Counter>,
    open: Family<Proto, Gauge>,
}

impl ListenerMetrics {
    pub fn register(&self, reg: &mut Registry) {
        reg.register(
            "labguard_instrument_connections",
            "Instrument connections by protocol and how they were admitted or refused",
            self.connections.clone(),
        );
        reg.register(
            "labguard_instrument_messages",
            "Instrument messages (HL7) and transmissions (ASTM) by outcome",
            self.messages.clone(),
        );
        reg.register(
            "labguard_instrument_connections_open",
            "Instrument connections open now",
            self.open.clone(),
        );
    }

    pub(crate) fn connection(&self, door: Door, outcome: &'static str) {
        self.connections
            .get_or_create(&Outcome {
                protocol: door.name(),
                outcome,
            })
            .inc();
    }

    pub(crate) fn message(&self, door: Door, outcome: &'static str) {
        self.messages
            .get_or_create(&Outcome {
                protocol: door.name(),
                outcome,
            })
            .inc();
    }

    /// Counts a connection as open until the guard drops.
    pub(crate) fn opened(&self, door: Door) -> OpenGuard {
        let g = self
            .open
            .get_or_create(&Proto {
                protocol: door.name(),
            })
            .clone();
        g.inc();
        OpenGuard(g)
    }
}

pub(crate) struct OpenGuard(Gauge);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
