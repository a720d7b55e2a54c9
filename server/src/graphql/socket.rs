//! The GraphQL WebSocket (`/graphql/ws`): subscriptions for the session given in
//! `connection_init`, closed when that session expires or is revoked.

use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};

use super::AppSchema;
use crate::{
    auth::{AdminSession, Authentication},
    state::AppState,
};

/// Close code sent when the socket's admin session expires or is revoked (the
/// `graphql-transport-ws` code for "Unauthorized").
const SESSION_ENDED: u16 = 4401;

/// Serves one GraphQL WebSocket. Messages go out through a forwarder that also checks, once a
/// second, that the session given in `connection_init` is still good, and closes the socket
/// with [`SESSION_ENDED`] once it expired or was revoked, so no event reaches a stale session.
pub async fn serve(
    socket: WebSocket,
    state: AppState,
    schema: AppSchema,
    protocol: GraphQLProtocol,
    client: std::net::IpAddr,
) {
    let (mut sink, stream) = socket.split();
    let (outgoing, mut to_send) = futures::channel::mpsc::channel::<Message>(16);
    let (session_tx, mut session_rx) = tokio::sync::oneshot::channel();
    let jwt = state.jwt.clone();
    let loader_state = state.clone();
    let graphql = GraphQLWebSocket::new_with_pair(outgoing, stream, schema, protocol)
        .on_connection_init(move |payload| async move {
            // The token may come as `Authorization` (with or without "Bearer ") or `token`;
            // without one, every operation is refused as UNAUTHENTICATED.
            let token = ["Authorization", "authorization", "token", "authToken"]
                .iter()
                .find_map(|name| payload.get(*name).and_then(|v| v.as_str()));
            let auth = jwt.authenticate(token);
            if let Authentication::Admin(session) = &auth {
                let _ = session_tx.send(session.clone());
            }
            let mut data = Data::default();
            data.insert(auth);
            data.insert(crate::auth::ClientIp(client));
            data.insert(crate::graphql::key_loader(&loader_state));
            Ok(data)
        })
        .serve();
    let forward = async move {
        let mut session: Option<AdminSession> = None;
        let mut awaiting_init = true;
        let mut checks = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                message = to_send.next() => match message {
                    Some(message) => if sink.send(message).await.is_err() { return },
                    None => return,
                },
                received = &mut session_rx, if awaiting_init => {
                    awaiting_init = false;
                    // Without an admin session operations are refused anyway: nothing to watch.
                    session = received.ok();
                },
                _ = checks.tick() => {
                    if session.as_ref().is_some_and(|admin| !state.jwt.still_valid(admin)) {
                        let close = CloseFrame {
                            code: SESSION_ENDED,
                            reason: "session expired or revoked: log in again".into(),
                        };
                        let _ = sink.send(Message::Close(Some(close))).await;
                        return;
                    }
                }
            }
        }
    };
    tokio::pin!(forward);
    tokio::select! {
        // The GraphQL side ended: let the forwarder send what is left, then stop.
        () = graphql => forward.await,
        // The session ended (or the client went away): dropping `graphql` ends every stream.
        () = &mut forward => {}
    }
}
