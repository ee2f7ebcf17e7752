//! Reference data (users, catalogue) cached with a time-to-live, judged on the wall clock.

use jiff::{SignedDuration, Timestamp};
use tokio::sync::Mutex;

use crate::client::GazelleClient;
use crate::documents;
use crate::error::ApiError;
use crate::model::{CatalogueItem, User};

/// Users and catalogue, fetched at most once per `ttl`.
pub struct ReferenceCache {
    ttl: SignedDuration,
    users: Mutex<Option<(Timestamp, Vec<User>)>>,
    catalogue: Mutex<Option<(Timestamp, Vec<CatalogueItem>)>>,
}

impl ReferenceCache {
    pub fn new(ttl: SignedDuration) -> ReferenceCache {
        ReferenceCache {
            ttl,
            users: Mutex::new(None),
            catalogue: Mutex::new(None),
        }
    }

    pub async fn users(&self, client: &GazelleClient) -> Result<Vec<User>, ApiError> {
        let mut slot = self.users.lock().await;
        if let Some((at, users)) = &*slot
            && Timestamp::now().duration_since(*at) < self.ttl
        {
            return Ok(users.clone());
        }
        let users: Vec<User> = client.list(documents::USERS, "allUsers").await?;
        *slot = Some((Timestamp::now(), users.clone()));
        Ok(users)
    }

    pub async fn catalogue(&self, client: &GazelleClient) -> Result<Vec<CatalogueItem>, ApiError> {
        let mut slot = self.catalogue.lock().await;
        if let Some((at, items)) = &*slot
            && Timestamp::now().duration_since(*at) < self.ttl
        {
            return Ok(items.clone());
        }
        let items: Vec<CatalogueItem> = client
            .list(documents::CATALOGUE, "allMasterServiceItems")
            .await?;
        *slot = Some((Timestamp::now(), items.clone()));
        Ok(items)
    }

    /// Forgets everything (after a reconcile, or on demand).
    pub async fn invalidate(&self) {
        *self.users.lock().await = None;
        *self.catalogue.lock().await = None;
    }
}
