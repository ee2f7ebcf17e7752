//! Technicians' stock: every change a logged movement with before and after, reason and
//! author. Inventory is local data (Gazelle has none): nothing here is pushed.

use serde::Serialize;
use store::Store;
use store::local::{self, Movement};

use crate::{Result, commit, invalid};

/// What a movement did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub product: String,
    pub technician: String,
    pub before: i64,
    pub after: i64,
}

pub struct Inventory<'a> {
    store: &'a Store,
    default_threshold: i64,
}

/// A movement as a person asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Add(i64),
    Remove(i64),
    /// Set the count (after a physical count).
    Correct(i64),
}

impl<'a> Inventory<'a> {
    pub fn new(store: &'a Store, config: &config::Config) -> Inventory<'a> {
        Inventory {
            store,
            default_threshold: i64::from(config.business.default_reorder_threshold),
        }
    }

    /// Adds, removes or corrects a technician's stock of a product (id, Gazelle id, name or SKU).
    pub async fn apply(
        &self,
        product: &str,
        technician: &str,
        change: Change,
        reason: Option<&str>,
        author: &str,
    ) -> Result<Moved> {
        if technician.trim().is_empty() {
            return invalid("a stock line needs a technician");
        }
        let (kind, quantity) = match change {
            Change::Add(n) => ("add", n),
            Change::Remove(n) => ("remove", n),
            Change::Correct(n) => ("correction", n),
        };
        if quantity < 0 || (quantity == 0 && kind != "correction") {
            return invalid(format!("{kind}: the quantity must be more than zero"));
        }
        let mut tx = self.store.begin_write().await?;
        let Some((product_id, name)) = local::find_product(&mut tx, product).await? else {
            return invalid(format!("there is no product `{product}`"));
        };
        let (before, after) = local::move_stock(
            &mut tx,
            &Movement {
                product_id,
                technician_id: technician,
                kind,
                quantity,
                reason,
                author,
                transfer_id: None,
                default_threshold: self.default_threshold,
            },
        )
        .await
        .map_err(|e| match e {
            store::StoreError::Invalid(m) => crate::ManagerError::Invalid(format!("{name}: {m}")),
            other => other.into(),
        })?;
        commit(tx).await?;
        Ok(Moved {
            product: name,
            technician: technician.to_owned(),
            before,
            after,
        })
    }

    /// Moves stock from one truck to another: both halves in one transaction, paired by a
    /// transfer id, or neither.
    pub async fn transfer(
        &self,
        product: &str,
        from: &str,
        to: &str,
        quantity: i64,
        reason: Option<&str>,
        author: &str,
    ) -> Result<(Moved, Moved)> {
        if quantity <= 0 {
            return invalid("transfer: the quantity must be more than zero");
        }
        if from == to {
            return invalid("transfer: the two technicians are the same");
        }
        let mut tx = self.store.begin_write().await?;
        let Some((product_id, name)) = local::find_product(&mut tx, product).await? else {
            return invalid(format!("there is no product `{product}`"));
        };
        let transfer_id = crate::new_external_id("trf");
        let refused = |e: store::StoreError| match e {
            store::StoreError::Invalid(m) => crate::ManagerError::Invalid(format!("{name}: {m}")),
            other => other.into(),
        };
        let movement = |kind, technician| Movement {
            product_id,
            technician_id: technician,
            kind,
            quantity,
            reason,
            author,
            transfer_id: Some(&transfer_id),
            default_threshold: self.default_threshold,
        };
        let (out_before, out_after) = local::move_stock(&mut tx, &movement("transfer_out", from))
            .await
            .map_err(refused)?;
        let (in_before, in_after) = local::move_stock(&mut tx, &movement("transfer_in", to))
            .await
            .map_err(refused)?;
        commit(tx).await?;
        let half = |technician: &str, before, after| Moved {
            product: name.clone(),
            technician: technician.to_owned(),
            before,
            after,
        };
        let (from_half, to_half) = (
            half(from, out_before, out_after),
            half(to, in_before, in_after),
        );
        Ok((from_half, to_half))
    }
}
