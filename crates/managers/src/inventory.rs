//! Technicians' stock: every change a logged movement with before and after, reason and
//! author. Inventory is local data (Gazelle has none): nothing here is pushed.

use serde::Serialize;
use store::Store;
use store::local::{self, Movement};

use crate::{Result, commit, invalid};

/// What a movement did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Moved {
    pub product: String,
    pub technician: String,
    pub before: i64,
    pub after: i64,
}

pub struct Inventory<'a> {
    store: &'a Store,
    default_threshold: i64,
    rules: &'a config::Inventory,
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
    pub fn new(store: &'a Store, config: &'a config::Config) -> Inventory<'a> {
        Inventory {
            store,
            default_threshold: i64::from(config.business.default_reorder_threshold),
            rules: &config.inventory,
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
                invoice_external_id: None,
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
            invoice_external_id: None,
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

/// Folds for the consumption rules' matching: lower case, no accents.
fn fold(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'ç' => 'c',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            other => other,
        })
        .collect()
}

impl Inventory<'_> {
    /// Applies `[inventory]` consumption rules to the invoices pulled since
    /// `consumption_since`: each (invoice, product, technician) once, in one transaction.
    /// How many movements were made.
    pub async fn consume_invoiced(&self) -> Result<u32> {
        let Some(since) = self.rules.consumption_since else {
            return Ok(0);
        };
        if self.rules.consumption.is_empty() {
            return Ok(0);
        }
        let lines =
            local::invoiced_lines(self.store.reader(), &store::time::date_text(since)).await?;
        let mut tx = self.store.begin_write().await?;
        let mut made = 0;
        for rule in &self.rules.consumption {
            let Some((product_id, _)) = local::find_product(&mut tx, &rule.product).await? else {
                return invalid(format!(
                    "inventory.consumption: there is no product `{}`",
                    rule.product
                ));
            };
            let when = fold(&rule.when);
            let mut counted = std::collections::HashSet::new();
            for line in lines
                .iter()
                .filter(|l| fold(&l.description).contains(&when))
            {
                // Once per invoice, however many of its lines match.
                if !counted.insert((line.invoice_external_id.clone(), line.technician_id.clone()))
                    || local::consumed(
                        &mut tx,
                        &line.invoice_external_id,
                        product_id,
                        &line.technician_id,
                    )
                    .await?
                {
                    continue;
                }
                local::move_stock(
                    &mut tx,
                    &Movement {
                        product_id,
                        technician_id: &line.technician_id,
                        kind: "consumption",
                        quantity: i64::from(rule.quantity),
                        reason: Some(&format!(
                            "facture {} : {}",
                            line.invoice_external_id, line.description
                        )),
                        author: "gazelled",
                        transfer_id: None,
                        invoice_external_id: Some(&line.invoice_external_id),
                        default_threshold: self.default_threshold,
                    },
                )
                .await?;
                made += 1;
            }
        }
        commit(tx).await?;
        Ok(made)
    }
}
