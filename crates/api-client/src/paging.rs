//! Reading a connection page by page.
//!
//! A stream yields one page at a time (memory stays bounded by the page size, however large
//! the account). Each page is fetched with the transport's retries; if a page still fails,
//! the stream yields the error and ends, and the caller resumes later from the last cursor
//! it stored (the sync engine commits the cursor with each page).

use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::client::{GazelleClient, decode};
use crate::documents::Operation;
use crate::error::ApiError;
use crate::model::Page;

impl GazelleClient {
    /// Pages of `root_field` (e.g. `allClients`) from `after` (None: the start). `variables`
    /// holds the filters and sort; `first` and `after` are set here.
    pub fn pages<'a, T: DeserializeOwned + 'a>(
        &'a self,
        operation: Operation,
        root_field: &'static str,
        variables: Map<String, Value>,
        after: Option<String>,
    ) -> impl Stream<Item = Result<Page<T>, ApiError>> + 'a {
        let state = Some((variables, after));
        futures_util::stream::unfold(state, move |state| async move {
            let (mut variables, after) = state?;
            variables.insert("first".into(), Value::from(self.options().page_size));
            variables.insert("after".into(), after.map_or(Value::Null, Value::String));
            let result = self
                .page::<T>(operation, root_field, Value::Object(variables.clone()))
                .await;
            match result {
                Ok(page) => {
                    let next = (page.page_info.has_next_page)
                        .then(|| page.page_info.end_cursor.clone())
                        .flatten()
                        .map(|cursor| (variables, Some(cursor)));
                    Some((Ok(page), next))
                }
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// One page of `root_field`.
    pub async fn page<T: DeserializeOwned>(
        &self,
        operation: Operation,
        root_field: &str,
        variables: Value,
    ) -> Result<Page<T>, ApiError> {
        let mut data: Map<String, Value> = self.execute(operation, variables).await?;
        let value = data.remove(root_field).unwrap_or(Value::Null);
        decode(operation.name, &format!("data.{root_field}"), value)
    }

    /// A plain list root field (`allUsers`, `allMasterServiceItems`).
    pub async fn list<T: DeserializeOwned>(
        &self,
        operation: Operation,
        root_field: &str,
    ) -> Result<Vec<T>, ApiError> {
        let mut data: Map<String, Value> =
            self.execute(operation, Value::Object(Map::new())).await?;
        let value = data.remove(root_field).unwrap_or(Value::Null);
        decode(operation.name, &format!("data.{root_field}"), value)
    }
}
