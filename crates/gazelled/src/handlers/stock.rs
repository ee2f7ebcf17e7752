//! Inventory per technician: list, add/remove/correct, transfer. A movement that leaves a
//! product low raises (or updates) the low-stock alert at once.

use managers::inventory::{Change, Inventory, Moved};
use protocol::calls::{StockChange, StockList, StockMove, StockTransfer};
use store::local::StockLine;

use super::Handled;
use crate::context::Context;

pub async fn list(context: &Context, r: StockList) -> Handled<Vec<StockLine>> {
    Ok(store::local::stock(context.store.reader(), r.technician.as_deref()).await?)
}

pub async fn change(context: &Context, r: StockChange) -> Handled<Vec<Moved>> {
    let change = match r.change {
        StockMove::Add => Change::Add(r.quantity),
        StockMove::Remove => Change::Remove(r.quantity),
        StockMove::Correct => Change::Correct(r.quantity),
    };
    let moved = Inventory::new(&context.store, &context.config)
        .apply(
            &r.product,
            &r.technician,
            change,
            r.reason.as_deref(),
            &r.author,
        )
        .await?;
    context.alerting.low_stock().await;
    Ok(vec![moved])
}

pub async fn transfer(context: &Context, r: StockTransfer) -> Handled<Vec<Moved>> {
    let (from, to) = Inventory::new(&context.store, &context.config)
        .transfer(
            &r.product,
            &r.from,
            &r.to,
            r.quantity,
            r.reason.as_deref(),
            &r.author,
        )
        .await?;
    context.alerting.low_stock().await;
    Ok(vec![from, to])
}
