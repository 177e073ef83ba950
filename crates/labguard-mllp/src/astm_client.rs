//! An ASTM E1381 sender, as an analyzer would be: labguard-astm's sans-I/O [`Sender`]
//! over a socket, one transmission at a time, waiting for each reply. Used by the
//! simulated haematology analyzer, the load generator and the tests.

use std::time::Duration;

use labguard_astm::{encode, Event, Role, Sender, Timeouts};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::client::TlsClientConfig;
use crate::MllpError;

/// The TLS stream [`AstmClient::tls`] runs over.
pub type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// How a transmission ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Every frame was acknowledged (the last one after labguard's commit) and EOT sent.
    Delivered,
    /// The sender gave up (`why` names the abort, never content).
    Aborted(String),
}

/// A connection carrying ASTM transmissions.
pub struct AstmClient<S> {
    stream: S,
    timeouts: Timeouts,
    buf: Vec<u8>,
}

impl AstmClient<TcpStream> {
    pub async fn tcp(addr: std::net::SocketAddr) -> Result<Self, MllpError> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(AstmClient::new(s))
    }
}

impl AstmClient<TlsStream> {
    pub async fn tls(
        addr: std::net::SocketAddr,
        server_name: &str,
        config: std::sync::Arc<TlsClientConfig>,
    ) -> Result<Self, MllpError> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let name = rustls::pki_types::ServerName::try_from(server_name.to_string())
            .map_err(|e| MllpError::Tls(e.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, s)
            .await?;
        Ok(AstmClient::new(tls))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AstmClient<S> {
    pub fn new(stream: S) -> Self {
        AstmClient {
            stream,
            timeouts: Timeouts::default(),
            buf: vec![0; 4096],
        }
    }

    /// The sender's timers (reply 15 s by default).
    pub fn with_timeouts(mut self, t: Timeouts) -> Self {
        self.timeouts = t;
        self
    }

    /// Sends `records` (each a record ending in CR) as one transmission.
    pub async fn send<R: AsRef<[u8]>>(&mut self, records: &[R]) -> Result<Sent, MllpError> {
        self.send_frames(encode::transmission(records)).await
    }

    /// Sends pre-built frames as one transmission.
    pub async fn send_frames(&mut self, frames: Vec<Vec<u8>>) -> Result<Sent, MllpError> {
        let origin = Instant::now();
        let mut tx = Sender::with_timeouts(Role::Instrument, self.timeouts);
        let mut events = tx.start(frames, Duration::ZERO);
        loop {
            for ev in std::mem::take(&mut events) {
                match ev {
                    Event::Send(b) => {
                        self.stream.write_all(&b).await?;
                        self.stream.flush().await?;
                    }
                    Event::Delivered => return Ok(Sent::Delivered),
                    Event::Aborted(why) => return Ok(Sent::Aborted(why.to_string())),
                    _ => {}
                }
            }
            let until = tx
                .deadline()
                .map_or(origin + Duration::from_secs(60), |d| origin + d);
            match tokio::time::timeout_at(until, self.stream.read(&mut self.buf)).await {
                Err(_) => events = tx.poll(origin.elapsed()),
                Ok(Ok(0)) => return Err(MllpError::Io(std::io::ErrorKind::UnexpectedEof.into())),
                Ok(Ok(n)) => {
                    let got = self.buf.get(..n).unwrap_or_default().to_vec();
                    events = tx.feed(&got, origin.elapsed());
                }
                Ok(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// The underlying stream, for tests that write raw bytes.
    pub fn stream(&mut self) -> &mut S {
        &mut self.stream
    }
}
