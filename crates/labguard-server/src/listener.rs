//! labguard's own HTTPS accept loop: TCP accept, admission (global and per-source caps),
//! TLS 1.2+ handshake under a deadline, then HTTP/1.1 (hyper) with a header-read deadline
//! and a per-request body deadline, serving the axum [`Router`].
//!
//! Every stage a client can stall has a deadline, and every socket counts against a cap
//! before a byte is read from it: a refused connection is closed at once, unread.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use labguard_core::admission::{Admission, Permit};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// Caps and deadlines of the HTTPS listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections held at once, all sources together.
    pub max_connections: usize,
    /// Connections held at once from one source address.
    pub max_connections_per_source: usize,
    /// From TCP accept to a finished TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// From waiting for a request (the first, or the next on a kept-alive connection) to
    /// its complete header block.
    pub header_timeout: Duration,
    /// From a request's header block to the end of its body.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 4096,
            max_connections_per_source: 256,
            tls_handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// How long open connections get to finish their requests after shutdown is asked.
const GRACE: Duration = Duration::from_secs(5);

/// Serves `app` over HTTPS on `listener` until `shutdown` resolves, then lets open requests
/// finish for up to five seconds.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let admission = Admission::new(limits.max_connections, limits.max_connections_per_source);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (sock, peer) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    // Out of file descriptors (or a connection reset before accept): back
                    // off briefly instead of spinning; held connections time out and free
                    // slots.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = admission.try_admit(peer.ip()) else {
            // Past a cap: close without reading, before any TLS work is spent on it.
            drop(sock);
            continue;
        };
        tokio::spawn(connection(
            sock,
            peer,
            permit,
            acceptor.clone(),
            app.clone(),
            limits,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let until = Instant::now() + GRACE;
    while admission.total() > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn connection(
    sock: TcpStream,
    peer: SocketAddr,
    _permit: Permit,
    acceptor: TlsAcceptor,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    // TCP_NODELAY: without it a small response waits on Nagle and the client's delayed ACK
    // (about 40 ms on Linux) now and then, which shows in every latency percentile.
    let _ = sock.set_nodelay(true);
    let tls = tokio::select! {
        r = tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(sock)) => match r {
            Ok(Ok(s)) => s,
            _ => return,
        },
        _ = stop.changed() => return,
    };
    let body_timeout = limits.body_timeout;
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let deadline = Instant::now() + body_timeout;
        let req = req.map(|b| Body::new(DeadlineBody::new(b, deadline)));
        let mut router = app.clone();
        async move { router.call(req).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(tls), svc);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop.changed() => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// The request body was not complete within the body deadline.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within the deadline")]
pub struct BodyTimeout;

/// A request body that fails once its deadline passes, so a client trickling a body cannot
/// hold a handler (and its connection) open longer than the deadline.
struct DeadlineBody<B> {
    inner: B,
    deadline: Instant,
    // Made on first need: requests without a body never arm a timer.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<B> DeadlineBody<B> {
    fn new(inner: B, deadline: Instant) -> DeadlineBody<B> {
        DeadlineBody {
            inner,
            deadline,
            sleep: None,
        }
    }
}

impl<B> http_body::Body for DeadlineBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
