//! The per-container state built once at start-up: configuration, store, key cache.

use crate::config::{Config, ConfigError};
use crate::keys::KeyCache;
use crate::store::{self, Store};

pub struct App {
    pub config: Config,
    pub store: Store,
    pub keys: KeyCache,
}

impl App {
    pub fn new(config: Config, client: aws_sdk_dynamodb::Client) -> Self {
        let store = Store::new(client, config.table.clone());
        let keys = KeyCache::new(config.key_cache_seconds);
        App { config, store, keys }
    }

    /// Reads the configuration (failing with a clear message) and builds the client.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let client = store::client_from_env().await;
        Ok(App::new(config, client))
    }
}
