//! The accept loop: every connection bounded in number and in how long it may dawdle.
//!
//! `axum::serve` has no header read timeout and no cap on connections, so a client that sends
//! half a request holds its connection (and a task) forever. Here hyper serves each connection
//! (HTTP/1.1, with upgrades for WebSocket) with a header read timeout, which also closes a
//! client that connects and sends nothing and an idle keep-alive connection; a semaphore caps
//! how many are open, and a connection past the cap is answered 503 and closed.
//!
//! hyper-util's automatic HTTP/1-or-2 builder waits for the first bytes without any timeout
//! before the header timeout starts, so it is not used: AMP Pool served HTTP/1.1 only before.

use std::{sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::{Request, body::Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::task::JoinSet;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::Settings;

/// Connections turned away at once at most; more are closed without an answer.
const MAX_TURNING_AWAY: usize = 64;
/// How long a turned-away client gets to read its 503.
const TURN_AWAY_GRACE: Duration = Duration::from_secs(2);
/// Pause after a failed accept (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How many connections may be open and how long a client may take.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Time for a request's headers, and for an idle keep-alive connection.
    pub header_read_timeout: Duration,
}

impl From<&Settings> for ConnectionLimits {
    fn from(settings: &Settings) -> Self {
        Self {
            max_connections: settings.max_connections,
            header_read_timeout: Duration::from_secs(settings.header_read_timeout_secs),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets open connections
/// finish their requests for at most `grace`; past it calls `before_cancel` and drops the
/// requests still running (their attempts record themselves as cancelled when dropped).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
    grace: Duration,
    before_cancel: impl FnOnce(),
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let turning_away = Arc::new(Semaphore::new(MAX_TURNING_AWAY));
    let mut connections = JoinSet::new();

    loop {
        let (stream, peer) = tokio::select! {
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(error = %error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            if let Ok(turning) = turning_away.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    turn_away(stream, limits.max_connections).await;
                    drop(turning);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            // On shutdown the request in flight finishes, then the connection closes.
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%peer, error = %error, "connection closed with an error");
            }
            drop(permit);
        });
    }

    drop(listener);
    let finished = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, finished).await.is_err() {
        tracing::warn!(
            requests = connections.len(),
            "in-flight requests did not finish within {} s; cancelling them",
            grace.as_secs()
        );
        before_cancel();
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    Ok(())
}

/// Answers 503 on a connection past the cap and closes it.
async fn turn_away(mut stream: TcpStream, max_connections: usize) {
    let body = format!(
        "the server has {max_connections} connections open, its limit (MAX_CONNECTIONS); try again shortly\n"
    );
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(TURN_AWAY_GRACE, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client sent, so closing does not reset the connection before the
        // client has read the answer.
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}
