//! One HTTP client per distinct (outbound proxy, User-Agent), built once and shared by every
//! key with that identity, so connections are pooled and no request builds a client.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::Duration,
};

use reqwest::{Client, Proxy};

/// (proxy URL, User-Agent, connect timeout in ms).
pub type ClientKey = (String, String, u64);

/// Clients by (proxy URL, User-Agent, connect timeout).
#[derive(Default)]
pub struct ClientCache {
    clients: Mutex<HashMap<ClientKey, Client>>,
}

impl ClientCache {
    /// The client for this identity, built on first use.
    pub fn get(
        &self,
        proxy: &str,
        user_agent: &str,
        connect_timeout_ms: u64,
    ) -> Result<Client, reqwest::Error> {
        let key: ClientKey = (
            proxy.to_string(),
            user_agent.to_string(),
            connect_timeout_ms,
        );
        if let Some(client) = self.clients.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(client);
        }
        let client = build(proxy, user_agent, connect_timeout_ms)?;
        if let Ok(mut clients) = self.clients.lock() {
            clients.insert(key, client.clone());
        }
        Ok(client)
    }

    /// Drops the clients of identities that no key has any more.
    pub fn retain(&self, used: &HashSet<ClientKey>) {
        if let Ok(mut clients) = self.clients.lock() {
            clients.retain(|key, _| used.contains(key));
        }
    }
}

fn build(proxy: &str, user_agent: &str, connect_timeout_ms: u64) -> Result<Client, reqwest::Error> {
    let mut builder = Client::builder()
        .user_agent(user_agent)
        .connect_timeout(Duration::from_millis(connect_timeout_ms))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        // A redirect would re-send the key's auth headers to wherever it points.
        .redirect(reqwest::redirect::Policy::none());
    // Direct means direct: never pick up HTTP_PROXY from the environment by accident.
    builder = if proxy.is_empty() {
        builder.no_proxy()
    } else {
        builder.proxy(Proxy::all(proxy)?)
    };
    builder.build()
}
