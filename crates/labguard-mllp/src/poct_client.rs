//! The meter's side of a POCT1-A2 docking over a socket (demo, bench and tests): drives a
//! [`DeviceSim`] until the host ends the conversation or closes, each read bounded.

use std::time::Duration;

use chrono::Utc;
use labguard_poct::{DeviceSim, Splitter};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest wait for the host's next message.
const REPLY_WAIT: Duration = Duration::from_secs(20);

async fn put<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) -> bool {
    s.write_all(bytes).await.is_ok() && s.flush().await.is_ok()
}

/// Plays one docking: the meter's HEL, then its replies to whatever the host sends.
/// Returns the host's messages as text, in order.
pub async fn dock<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, sim: &mut DeviceSim) -> Vec<String> {
    let mut heard = Vec::new();
    if !put(&mut s, sim.start(Utc::now()).as_bytes()).await {
        return heard;
    }
    let mut split = Splitter::new(1 << 20);
    let mut buf = vec![0u8; 8192];
    while !sim.ended() {
        let n = match tokio::time::timeout(REPLY_WAIT, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => break,
        };
        split.push(buf.get(..n).unwrap_or_default());
        while let Some(Ok(m)) = split.next_message() {
            heard.push(String::from_utf8_lossy(&m).into_owned());
            for r in sim.receive(&m, Utc::now()).unwrap_or_default() {
                if !put(&mut s, r.as_bytes()).await {
                    return heard;
                }
            }
        }
    }
    let _ = s.shutdown().await;
    heard
}

/// A mutual-TLS connection to a POCT1-A2 listener, as a meter's dock opens it.
pub async fn connect_tls(
    addr: std::net::SocketAddr,
    server_name: &str,
    config: std::sync::Arc<crate::client::TlsClientConfig>,
) -> Result<crate::astm_client::TlsStream, crate::MllpError> {
    let s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let name = rustls::pki_types::ServerName::try_from(server_name.to_string())
        .map_err(|e| crate::MllpError::Tls(e.to_string()))?;
    Ok(tokio_rustls::TlsConnector::from(config)
        .connect(name, s)
        .await?)
}
