//! Reading a connection page by page.
//!
//! A stream yields one page at a time (memory stays bounded by the page size, however large
//! the account). Each page is fetched with the transport's retries; if a page still fails,
//! the stream yields the error and ends.
//!
//! A misbehaving server must not make a client loop (API.md, "Connections and pagination"):
//! a cursor seen before in the same read, `hasNextPage` without an `endCursor`, two empty
//! pages in a row that still claim more, or more pages than twice what `totalCount` allows
//! (plus some slack for records added during the read) end the stream with
//! [`ApiError::Paging`], naming the operation and the cursor.

use std::collections::HashSet;

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
        let guard = Guard::new(after.clone(), self.options().page_size);
        let state = Some((variables, after, guard));
        futures_util::stream::unfold(state, move |state| async move {
            let (mut variables, after, mut guard) = state?;
            variables.insert("first".into(), Value::from(self.options().page_size));
            variables.insert(
                "after".into(),
                after.clone().map_or(Value::Null, Value::String),
            );
            let result = self
                .page::<T>(operation, root_field, Value::Object(variables.clone()))
                .await
                .and_then(|page| {
                    guard
                        .check(&page, after.as_deref())
                        .map_err(|message| ApiError::Paging {
                            operation: operation.name.to_owned(),
                            cursor: after.clone(),
                            message,
                        })?;
                    Ok(page)
                });
            match result {
                Ok(page) => {
                    let next = (page.page_info.has_next_page)
                        .then(|| page.page_info.end_cursor.clone())
                        .flatten()
                        .map(|cursor| (variables, Some(cursor), guard));
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

/// What one paged read has seen so far: enough to tell a server that leads nowhere.
struct Guard {
    cursors: HashSet<String>,
    empty_in_a_row: u32,
    pages: u64,
    page_size: u64,
    most_expected: u64,
}

impl Guard {
    fn new(after: Option<String>, page_size: u32) -> Guard {
        Guard {
            cursors: after.into_iter().collect(),
            empty_in_a_row: 0,
            pages: 0,
            page_size: u64::from(page_size.max(1)),
            most_expected: 0,
        }
    }

    /// Whether following `page` (read after `after`) can lead anywhere.
    fn check<T>(&mut self, page: &Page<T>, after: Option<&str>) -> Result<(), String> {
        self.pages += 1;
        if let Some(total) = page.total_count {
            self.most_expected = self.most_expected.max(total);
        }
        if !page.page_info.has_next_page {
            return Ok(());
        }
        let Some(end) = page.page_info.end_cursor.as_deref() else {
            return Err("`hasNextPage` is true but `endCursor` is null".into());
        };
        if !self.cursors.insert(end.to_owned()) {
            return Err(if Some(end) == after {
                "the next page's cursor is the one just used".into()
            } else {
                format!("cursor {end:?} came back a second time")
            });
        }
        if page.nodes.is_empty() {
            self.empty_in_a_row += 1;
            if self.empty_in_a_row >= 2 {
                return Err("two empty pages in a row with `hasNextPage` true".into());
            }
        } else {
            self.empty_in_a_row = 0;
        }
        // Records added during the read are allowed for: twice the expected pages, plus 10.
        let expected = self.most_expected.div_ceil(self.page_size);
        if self.most_expected > 0 && self.pages > expected.saturating_mul(2).saturating_add(10) {
            return Err(format!(
                "{} pages read where `totalCount` {} allows about {expected}",
                self.pages, self.most_expected
            ));
        }
        Ok(())
    }
}

impl GazelleClient {
    /// Completes the contacts of the clients whose first page of `allContacts` (which comes
    /// with each clients page) said there were more: the rest is read by
    /// `client(id).allContacts`. Rare (a client with more than
    /// [`crate::documents::CONTACTS_PER_CLIENT`] contacts), so one client at a time.
    pub async fn complete_contacts(
        &self,
        clients: &mut [crate::model::Client],
    ) -> Result<(), ApiError> {
        for client in clients {
            if let Some(contacts) = client.all_contacts.as_mut() {
                self.read_rest(
                    crate::documents::CLIENT_CONTACTS,
                    ("clientId", &client.id),
                    "/client/allContacts",
                    contacts,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Completes the pianos of the events whose first page of `allEventPianos` said there
    /// were more (more than [`crate::documents::PIANOS_PER_EVENT`]): the rest is read by
    /// `event(eventId).allEventPianos`.
    pub async fn complete_event_pianos(
        &self,
        events: &mut [crate::model::Event],
    ) -> Result<(), ApiError> {
        for event in events {
            if let Some(pianos) = event.all_event_pianos.as_mut() {
                self.read_rest(
                    crate::documents::EVENT_PIANOS,
                    ("eventId", &event.id),
                    "/event/allEventPianos",
                    pianos,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Reads the pages of a nested list after the one `page` holds, under the same guard
    /// as any paged read, and appends them to it.
    async fn read_rest<T: DeserializeOwned>(
        &self,
        operation: Operation,
        (id_name, id): (&str, &str),
        pointer: &str,
        page: &mut Page<T>,
    ) -> Result<(), ApiError> {
        let mut after = page.page_info.end_cursor.clone();
        let mut more = page.page_info.has_next_page;
        let mut guard = Guard::new(after.clone(), self.options().page_size);
        while more {
            let variables = serde_json::json!({
                id_name: id,
                "first": self.options().page_size,
                "after": after,
            });
            let data: Value = self.execute(operation, variables).await?;
            let next: Page<T> = decode(
                operation.name,
                &format!("data{}", pointer.replace('/', ".")),
                data.pointer(pointer).cloned().unwrap_or(Value::Null),
            )?;
            guard
                .check(&next, after.as_deref())
                .map_err(|message| ApiError::Paging {
                    operation: operation.name.to_owned(),
                    cursor: after.clone(),
                    message,
                })?;
            more = next.page_info.has_next_page;
            after = next.page_info.end_cursor.clone();
            page.nodes.extend(next.nodes);
        }
        page.page_info.has_next_page = false;
        Ok(())
    }
}
