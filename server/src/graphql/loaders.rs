//! Request-scoped DataLoaders: one query per page for relations, never one per row.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    entity::api_key, error::GqlError, metrics::Metrics, service::keys as key_rows, state::AppState,
    vault::Vault,
};

/// Loads keys by id, batching every look-up of one request.
pub struct KeyLoader {
    db: DatabaseConnection,
    vault: Arc<Vault>,
    metrics: Arc<Metrics>,
}

impl Loader<i32> for KeyLoader {
    type Value = api_key::Model;
    type Error = GqlError;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Self::Value>, Self::Error> {
        self.metrics.key_load();
        let keys = api_key::Entity::find()
            .filter(api_key::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?;
        let keys = key_rows::open_all(&self.vault, keys)?;
        Ok(keys.into_iter().map(|key| (key.id, key)).collect())
    }
}

/// A fresh key loader for one request.
pub fn key_loader(state: &AppState) -> DataLoader<KeyLoader> {
    DataLoader::new(
        KeyLoader {
            db: state.db.clone(),
            vault: state.vault.clone(),
            metrics: state.metrics.clone(),
        },
        tokio::spawn,
    )
}

/// The request's key loader; every request gets one, so a missing one is an internal fault.
pub fn keys<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a DataLoader<KeyLoader>, GqlError> {
    ctx.data::<DataLoader<KeyLoader>>().map_err(|_| {
        crate::error::ServiceError::internal(anyhow::anyhow!("the request has no key loader"))
            .into()
    })
}
