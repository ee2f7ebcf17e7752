//! The pages. Reads go through the store's read-only pool; every action calls the same
//! handler as the `gazellectl` verb it mirrors (`handlers::alerts::resolve`,
//! `handlers::stock::change`, the runner's trigger), recorded under the account's name.
//!
//! A technician sees their own day, week, stock and the alerts on their pianos; asking for
//! another technician's is refused (403). The owner and the office see everything.

use std::collections::BTreeMap;
use std::sync::Arc;

use alerts::agenda::{PianoLine, Visit};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use maud::{Markup, html};
use serde::Deserialize;

use super::WebState;
use super::auth::{Viewer, refused};
use super::layout::{Lang, lines, map_link, money, none, page};
use crate::handlers::Refusal;

type Page = Result<Response, Response>;

fn failed(l: Lang, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard page failed");
    refused(
        StatusCode::INTERNAL_SERVER_ERROR,
        l,
        l.t(
            "Erreur interne : voir `gazellectl logs`.",
            "Internal error: see `gazellectl logs`.",
        ),
    )
}

fn forbidden(viewer: &Viewer) -> Response {
    let l = viewer.lang();
    refused(
        StatusCode::FORBIDDEN,
        l,
        l.t(
            "Cette page est celle d'un autre technicien.",
            "This page belongs to another technician.",
        ),
    )
}

/// A handler's refusal shown as the CLI would say it.
fn refusal(viewer: &Viewer, r: Refusal) -> Response {
    match r {
        Refusal::Answer { message, .. } => {
            refused(StatusCode::UNPROCESSABLE_ENTITY, viewer.lang(), &message)
        }
        Refusal::Lost(e) => failed(viewer.lang(), e),
    }
}

fn tz(state: &WebState) -> jiff::tz::TimeZone {
    state.context.config.business.timezone.time_zone()
}

fn today(state: &WebState) -> Date {
    jiff::Timestamp::now().to_zoned(tz(state)).date()
}

fn utc_bound(state: &WebState, day: Date) -> Result<String, String> {
    day.to_zoned(tz(state))
        .map(|z| store::time::utc_text(z.timestamp()))
        .map_err(|e| e.to_string())
}

fn local_time(state: &WebState, utc: &str) -> String {
    utc.parse::<jiff::Timestamp>().map_or_else(
        |_| utc.to_owned(),
        |t| t.to_zoned(tz(state)).strftime("%H:%M").to_string(),
    )
}

fn local_date_time(state: &WebState, utc: &str) -> String {
    utc.parse::<jiff::Timestamp>().map_or_else(
        |_| utc.to_owned(),
        |t| {
            t.to_zoned(tz(state))
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        },
    )
}

/// The technicians' names by Gazelle id.
async fn technician_names(state: &WebState) -> Result<BTreeMap<String, String>, store::StoreError> {
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT ExternalId, FirstName, LastName FROM Users
         WHERE ExternalId IS NOT NULL AND DeletedAt IS NULL AND IsSchedulable = 1
         ORDER BY FirstName, LastName",
    )
    .fetch_all(state.context.store.reader())
    .await
    .map_err(|source| store::StoreError::Sql {
        context: "reading the technicians",
        source,
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, first, last)| {
            let name = [first, last]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let name = if name.trim().is_empty() {
                id.clone()
            } else {
                name
            };
            (id, name)
        })
        .collect())
}

/// The technician a page is asked for (`?technician=`, empty = everyone), checked against
/// who asks: a technician gets their own, and another's is refused.
fn requested_technician(
    viewer: &Viewer,
    requested: Option<String>,
) -> Result<Option<String>, Response> {
    let requested = requested.filter(|t| !t.is_empty());
    if let Some(t) = &requested
        && !viewer.may_see(t)
    {
        return Err(forbidden(viewer));
    }
    Ok(viewer.own_technician().map(str::to_owned).or(requested))
}

/// The "Technicien" choice of a filter form.
fn technician_select(l: Lang, names: &BTreeMap<String, String>, selected: Option<&str>) -> Markup {
    html! {
        label for="technician" { (l.t("Technicien", "Technician")) }
        select id="technician" name="technician" {
            option value="" { (l.t("Tous", "All")) }
            @for (id, name) in names {
                option value=(id) selected[selected == Some(id.as_str())] { (name) }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct DayQuery {
    technician: Option<String>,
    day: Option<String>,
}

pub async fn today_page(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Query(q): Query<DayQuery>,
) -> Page {
    let day = today(&state);
    day_page(&state, &viewer, day, q.technician, "/today").await
}

pub async fn tomorrow_page(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Query(q): Query<DayQuery>,
) -> Page {
    let day = today(&state).tomorrow().unwrap_or(today(&state));
    day_page(&state, &viewer, day, q.technician, "/tomorrow").await
}

pub async fn day_by_date(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Query(q): Query<DayQuery>,
) -> Page {
    let l = viewer.lang();
    let day = match q.day.as_deref().map(str::parse::<Date>) {
        Some(Ok(d)) => d,
        _ => {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                l,
                l.t(
                    "Date attendue : AAAA-MM-JJ.",
                    "Expected a date: YYYY-MM-DD.",
                ),
            ));
        }
    };
    day_page(&state, &viewer, day, q.technician, "/day").await
}

/// One day: per technician, the appointments in order with their pianos, confirmation and
/// open alerts; the unconfirmed ones with the client's phone.
async fn day_page(
    state: &WebState,
    viewer: &Viewer,
    day: Date,
    technician: Option<String>,
    here: &str,
) -> Page {
    let l = viewer.lang();
    let technician = requested_technician(viewer, technician)?;
    let names = technician_names(state).await.map_err(|e| failed(l, e))?;
    let (from, to) = (
        utc_bound(state, day).map_err(|e| failed(l, e))?,
        utc_bound(state, day.tomorrow().unwrap_or(day)).map_err(|e| failed(l, e))?,
    );
    let shown: Vec<String> = match &technician {
        Some(t) => vec![t.clone()],
        None => {
            let ids: Vec<(String,)> = sqlx::query_as(
                "SELECT DISTINCT TechnicianId FROM Appointments
                 WHERE StartAt >= ?1 AND StartAt < ?2 AND DeletedAt IS NULL
                   AND AppointmentStatus = 'ACTIVE' AND EventType = 'APPOINTMENT'
                 ORDER BY TechnicianId",
            )
            .bind(&from)
            .bind(&to)
            .fetch_all(state.context.store.reader())
            .await
            .map_err(|e| failed(l, e))?;
            ids.into_iter().map(|(id,)| id).collect()
        }
    };
    let mut days = Vec::new();
    for t in &shown {
        let visits = alerts::agenda::visits(state.context.store.reader(), t, &from, &to)
            .await
            .map_err(|e| failed(l, e))?;
        days.push((t.clone(), visits));
    }
    let title = match l {
        Lang::Fr => format!("{} {}", alerts::message::weekday_fr(day.weekday()), day),
        Lang::En => day.strftime("%A %Y-%m-%d").to_string(),
    };
    let body = html! {
        @if !viewer.is_technician() {
            form.inline method="get" {
                @if here == "/day" { input type="hidden" name="day" value=(day); }
                (technician_select(l, &names, technician.as_deref()))
                button type="submit" { (l.t("Voir", "Show")) }
            }
        }
        @if days.iter().all(|(_, v)| v.is_empty()) {
            (none(l))
        }
        @for (t, visits) in &days {
            @if !visits.is_empty() {
                h2 { (names.get(t).cloned().unwrap_or_else(|| t.clone())) " — " (visits.len()) " " (l.t("rendez-vous", "appointments")) }
                @for v in visits { (visit_card(state, l, v)) }
            }
        }
    };
    Ok(page(viewer, here, &title, body).into_response())
}

fn visit_card(state: &WebState, l: Lang, v: &Visit) -> Markup {
    let a = &v.appointment;
    let end = a.start_at.parse::<jiff::Timestamp>().ok().map(|t| {
        let minutes = a.duration.unwrap_or(60).clamp(0, 24 * 60);
        t.checked_add(jiff::SignedDuration::from_mins(minutes))
            .unwrap_or(t)
    });
    html! {
        section.card data-appointment=(a.id) {
            strong { (local_time(state, &a.start_at)) @if let Some(e) = end { "–" (e.to_zoned(tz(state)).strftime("%H:%M")) } }
            " " (a.company_name) " "
            @if a.confirmed_by_client {
                span.badge.ok { (l.t("confirmé", "confirmed")) }
            } @else {
                span.badge.warn { (l.t("non confirmé", "not confirmed")) }
            }
            @if let Some(d) = a.description.as_deref().filter(|d| !d.is_empty()) { div { (d) } }
            @if let Some(addr) = a.address.as_deref().filter(|s| !s.trim().is_empty()) { div { (map_link(addr.trim())) } }
            @if let Some(phone) = a.phone.as_deref().filter(|s| !s.trim().is_empty()) {
                div { a href=(format!("tel:{}", phone.trim())) { (phone) } }
            }
            ul {
                @for p in &v.pianos {
                    li {
                        @match p {
                            PianoLine::Known(b) => {
                                (b.make) @if let Some(m) = &b.model { " " (m) }
                                @if let Some(room) = b.location.as_deref().filter(|r| !r.is_empty()) { " (" (room) ")" }
                                br;
                                span.muted {
                                    (l.t("Dernier entretien : ", "Last service: "))
                                    @match &b.last_service_at {
                                        Some(at) => { (at.get(..10).unwrap_or(at)) @if let Some(n) = &b.last_service_note { " — " (n.chars().take(160).collect::<String>()) } }
                                        None => { (l.t("aucun", "none")) }
                                    }
                                }
                                @for alert in &b.open_alerts {
                                    br;
                                    span.warn { (alerts::message::family_label(&alert.family, l.language())) " (" (alert.date) ")" }
                                }
                            }
                            PianoLine::NotMirrored(p) => { (p.external_id) }
                        }
                    }
                }
            }
            @if let Some(n) = a.notes.as_deref().filter(|n| !n.trim().is_empty()) { p.muted { (lines(n)) } }
        }
    }
}

/// The week ahead, day by day.
pub async fn week_page(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Query(q): Query<DayQuery>,
) -> Page {
    let l = viewer.lang();
    let technician = requested_technician(&viewer, q.technician)?;
    let start = today(&state);
    let end = start
        .checked_add(jiff::Span::new().days(7))
        .unwrap_or(start);
    let rows = store::local::appointments_between(
        state.context.store.reader(),
        technician.as_deref(),
        &utc_bound(&state, start).map_err(|e| failed(l, e))?,
        &utc_bound(&state, end).map_err(|e| failed(l, e))?,
    )
    .await
    .map_err(|e| failed(l, e))?;
    let names = technician_names(&state).await.map_err(|e| failed(l, e))?;
    let mut by_day: BTreeMap<String, Vec<&store::local::LocalAppointment>> = BTreeMap::new();
    for a in rows
        .iter()
        .filter(|a| a.appointment_status == "ACTIVE" && a.event_type == "APPOINTMENT")
    {
        let day = a
            .start_at
            .parse::<jiff::Timestamp>()
            .map(|t| t.to_zoned(tz(&state)).date().to_string())
            .unwrap_or_default();
        by_day.entry(day).or_default().push(a);
    }
    let body = html! {
        @if by_day.is_empty() { (none(l)) }
        @for (day, list) in &by_day {
            h2 { a href=(format!("/day?day={day}")) { (day) } " — " (list.len()) }
            table.stack {
                tbody {
                    @for a in list {
                        tr {
                            td { (local_time(&state, &a.start_at)) }
                            td { (names.get(&a.technician_id).cloned().unwrap_or_else(|| a.technician_id.clone())) }
                            td { (a.company_name) }
                            td { @if a.confirmed_by_client { span.ok { (l.t("confirmé", "confirmed")) } } @else { span.warn { (l.t("non confirmé", "not confirmed")) } } }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        &viewer,
        "/week",
        l.t("Les sept prochains jours", "The next seven days"),
        body,
    )
    .into_response())
}

#[derive(Deserialize, Default)]
pub struct AlertQuery {
    family: Option<String>,
    technician: Option<String>,
}

/// Open maintenance alerts, institutional clients first, with resolve and archive forms.
pub async fn alerts_page(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Query(q): Query<AlertQuery>,
) -> Page {
    let l = viewer.lang();
    let technician = requested_technician(&viewer, q.technician)?;
    let family = q.family.filter(|f| !f.is_empty());
    let mut rows = store::web::open_alerts(
        state.context.store.reader(),
        store::web::AlertScope {
            family: family.as_deref(),
            technician: technician.as_deref(),
            client_id: None,
        },
        500,
    )
    .await
    .map_err(|e| failed(l, e))?;
    let router = alerts::routing::Router::from_config(&state.context.config.alerts);
    rows.sort_by_key(|a| {
        !router.is_institutional(a.client_external_id.as_deref(), a.client_tags.as_deref())
    });
    let names = technician_names(&state).await.map_err(|e| failed(l, e))?;
    let language = l.language();
    let body = html! {
        form.inline method="get" {
            label for="family" { (l.t("Famille", "Family")) }
            select id="family" name="family" {
                option value="" { (l.t("Toutes", "All")) }
                @for f in ["cover", "power", "reservoir", "environment"] {
                    option value=(f) selected[family.as_deref() == Some(f)] { (alerts::message::family_label(f, language)) }
                }
            }
            @if !viewer.is_technician() {
                (technician_select(l, &names, technician.as_deref()))
            }
            button type="submit" { (l.t("Filtrer", "Filter")) }
        }
        @if rows.is_empty() { (none(l)) }
        @for a in &rows {
            section.card id=(format!("alert-{}", a.id)) {
                @if router.is_institutional(a.client_external_id.as_deref(), a.client_tags.as_deref()) {
                    span.badge.warn { (l.t("institutionnel", "institutional")) } " "
                }
                strong { "#" (a.id) " " (alerts::message::family_label(&a.alert_type, language)) }
                " — " a href=(format!("/clients/{}", a.client_id)) { (a.company_name) }
                div.muted {
                    (a.date_observation)
                    @if let Some(m) = &a.piano_make { " · " (m) @if let Some(model) = &a.piano_model { " " (model) } }
                    @if let Some(room) = a.location.as_deref().filter(|r| !r.is_empty()) { " (" (room) ")" }
                }
                @if let Some(d) = &a.description { p { (d) } }
                form.inline method="post" action=(format!("/alerts/{}/resolve", a.id)) {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input name="note" required placeholder=(l.t("Ce qui a été fait", "What was done")) aria-label=(l.t("Note de résolution", "Resolution note"));
                    button type="submit" { (l.t("Résoudre", "Resolve")) }
                }
                form.inline method="post" action=(format!("/alerts/{}/archive", a.id)) {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input name="note" placeholder=(l.t("Pourquoi (facultatif)", "Why (optional)")) aria-label=(l.t("Note d'archivage", "Archive note"));
                    button.secondary type="submit" { (l.t("Archiver", "Archive")) }
                }
            }
        }
    };
    Ok(page(
        &viewer,
        "/alerts",
        l.t("Alertes d'entretien ouvertes", "Open maintenance alerts"),
        body,
    )
    .into_response())
}

#[derive(Deserialize)]
pub struct AlertAction {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

async fn may_act_on_alert(state: &WebState, viewer: &Viewer, id: i64) -> Result<(), Response> {
    match viewer.own_technician() {
        None => Ok(()),
        Some(t) => {
            match store::web::alert_is_technicians(state.context.store.reader(), id, t).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(forbidden(viewer)),
                Err(e) => Err(failed(viewer.lang(), e)),
            }
        }
    }
}

pub async fn resolve_alert(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<AlertAction>,
) -> Page {
    viewer.check(&form.csrf)?;
    may_act_on_alert(&state, &viewer, id).await?;
    crate::handlers::alerts::resolve(
        &state.context,
        protocol::calls::AlertResolve {
            id,
            note: form.note,
            author: Some(viewer.author()),
        },
    )
    .await
    .map_err(|r| refusal(&viewer, r))?;
    Ok(Redirect::to("/alerts").into_response())
}

pub async fn archive_alert(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<AlertAction>,
) -> Page {
    viewer.check(&form.csrf)?;
    may_act_on_alert(&state, &viewer, id).await?;
    let note = Some(match form.note.trim() {
        "" => format!("archivée par {}", viewer.author()),
        note => format!("{note} ({})", viewer.author()),
    });
    crate::handlers::alerts::archive(&state.context, protocol::calls::AlertArchive { id, note })
        .await
        .map_err(|r| refusal(&viewer, r))?;
    Ok(Redirect::to("/alerts").into_response())
}

#[derive(Deserialize, Default)]
pub struct StockQuery {
    technician: Option<String>,
}

/// Stock per technician and product, low lines highlighted, and a movement form.
pub async fn stock_page(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Query(q): Query<StockQuery>,
) -> Page {
    let l = viewer.lang();
    let technician = requested_technician(&viewer, q.technician)?;
    let lines_ = store::local::stock(state.context.store.reader(), technician.as_deref())
        .await
        .map_err(|e| failed(l, e))?;
    let names = technician_names(&state).await.map_err(|e| failed(l, e))?;
    let products: Vec<(i64, String)> =
        sqlx::query_as("SELECT Id, Name FROM Products ORDER BY Name")
            .fetch_all(state.context.store.reader())
            .await
            .map_err(|e| failed(l, e))?;
    let body = html! {
        @if !viewer.is_technician() {
            form.inline method="get" {
                (technician_select(l, &names, technician.as_deref()))
                button type="submit" { (l.t("Voir", "Show")) }
            }
        }
        @if lines_.is_empty() { (none(l)) } @else {
            table.stack {
                thead { tr { th { (l.t("Technicien", "Technician")) } th { (l.t("Produit", "Product")) } th { (l.t("Quantité", "Quantity")) } th { (l.t("Seuil", "Threshold")) } } }
                tbody {
                    @for s in &lines_ {
                        tr class=[(s.quantity <= s.reorder_threshold).then_some("low")] {
                            td { (names.get(&s.technician_id).cloned().unwrap_or_else(|| s.technician_id.clone())) }
                            td { (s.product_name) }
                            td { (s.quantity) @if s.quantity <= s.reorder_threshold { " " span.warn { (l.t("bas", "low")) } } }
                            td { (s.reorder_threshold) }
                        }
                    }
                }
            }
        }
        h2 { (l.t("Enregistrer un mouvement", "Record a movement")) }
        form.inline method="post" action="/stock/movement" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            select name="product" aria-label=(l.t("Produit", "Product")) required {
                @for (id, name) in &products { option value=(id) { (name) } }
            }
            @if let Some(own) = viewer.own_technician() {
                input type="hidden" name="technician" value=(own);
            } @else {
                select name="technician" aria-label=(l.t("Technicien", "Technician")) required {
                    @for (id, name) in &names {
                        option value=(id) selected[technician.as_deref() == Some(id.as_str())] { (name) }
                    }
                }
            }
            select name="change" aria-label=(l.t("Mouvement", "Movement")) {
                option value="add" { (l.t("Ajout", "Add")) }
                option value="remove" { (l.t("Retrait", "Remove")) }
                option value="correct" { (l.t("Inventaire (quantité exacte)", "Count (exact quantity)")) }
            }
            input name="quantity" type="number" min="0" max="1000000" required aria-label=(l.t("Quantité", "Quantity"));
            input name="reason" placeholder=(l.t("Raison", "Reason"));
            button type="submit" { (l.t("Enregistrer", "Record")) }
        }
    };
    Ok(page(&viewer, "/stock", l.t("Stock", "Stock"), body).into_response())
}

#[derive(Deserialize)]
pub struct Movement {
    #[serde(default)]
    csrf: String,
    product: String,
    technician: String,
    change: String,
    quantity: i64,
    #[serde(default)]
    reason: String,
}

pub async fn record_movement(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Form(form): Form<Movement>,
) -> Page {
    viewer.check(&form.csrf)?;
    if !viewer.may_see(&form.technician) {
        return Err(forbidden(&viewer));
    }
    let change = match form.change.as_str() {
        "add" => protocol::calls::StockMove::Add,
        "remove" => protocol::calls::StockMove::Remove,
        "correct" => protocol::calls::StockMove::Correct,
        other => {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                viewer.lang(),
                &format!("change `{other}`: add, remove or correct"),
            ));
        }
    };
    crate::handlers::stock::change(
        &state.context,
        protocol::calls::StockChange {
            product: form.product,
            technician: form.technician.clone(),
            change,
            quantity: form.quantity,
            reason: Some(form.reason).filter(|r| !r.trim().is_empty()),
            author: viewer.author(),
        },
    )
    .await
    .map_err(|r| refusal(&viewer, r))?;
    let to = if viewer.is_technician() {
        "/stock".to_owned()
    } else {
        format!("/stock?technician={}", form.technician)
    };
    Ok(Redirect::to(&to).into_response())
}

fn office_only(viewer: &Viewer) -> Result<(), Response> {
    if viewer.is_technician() {
        Err(refused(
            StatusCode::FORBIDDEN,
            viewer.lang(),
            viewer.lang().t(
                "Réservé au bureau et au propriétaire.",
                "For the office and the owner.",
            ),
        ))
    } else {
        Ok(())
    }
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    q: Option<String>,
}

/// Client search: name, phone, e-mail, city (in the address), piano serial number.
pub async fn clients_page(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Query(q): Query<SearchQuery>,
) -> Page {
    office_only(&viewer)?;
    let l = viewer.lang();
    let query = q.q.unwrap_or_default();
    let hits = if query.trim().chars().count() >= 2 {
        store::web::search_clients(state.context.store.reader(), &query, 100)
            .await
            .map_err(|e| failed(l, e))?
    } else {
        Vec::new()
    };
    let body = html! {
        form.inline method="get" role="search" {
            input name="q" type="search" value=(query) autofocus
                placeholder=(l.t("Nom, téléphone, courriel, ville, n° de série", "Name, phone, e-mail, city, serial number"))
                aria-label=(l.t("Recherche", "Search"));
            button type="submit" { (l.t("Chercher", "Search")) }
        }
        @if !query.trim().is_empty() && hits.is_empty() { (none(l)) }
        @if !hits.is_empty() {
            table.stack {
                tbody {
                    @for c in &hits {
                        tr {
                            td { a href=(format!("/clients/{}", c.id)) { (c.company_name) } }
                            td { (c.phone.clone().unwrap_or_default()) }
                            td { (c.email.clone().unwrap_or_default()) }
                            td { (c.address.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&viewer, "/clients", l.t("Clients", "Clients"), body).into_response())
}

/// A client: details, contacts, pianos, service history, invoices.
pub async fn client_page(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Page {
    office_only(&viewer)?;
    let l = viewer.lang();
    let Some((client, contacts, pianos, timeline, invoices)) =
        store::web::client_page(state.context.store.reader(), id)
            .await
            .map_err(|e| failed(l, e))?
    else {
        return Err(refused(
            StatusCode::NOT_FOUND,
            l,
            l.t("Pas de tel client.", "No such client."),
        ));
    };
    let open = store::web::open_alerts(
        state.context.store.reader(),
        store::web::AlertScope {
            client_id: Some(id),
            ..Default::default()
        },
        100,
    )
    .await
    .map_err(|e| failed(l, e))?;
    let language = l.language();
    let piano_name = |pid: Option<i64>| {
        pid.and_then(|pid| pianos.iter().find(|p| p.id == pid))
            .map(|p| {
                format!("{} {}", p.make, p.model.clone().unwrap_or_default())
                    .trim()
                    .to_owned()
            })
    };
    let body = html! {
        section.card {
            @if let Some(addr) = client.address.as_deref().filter(|a| !a.trim().is_empty()) { div { (map_link(addr.trim())) } }
            @if let Some(phone) = &client.phone { div { a href=(format!("tel:{phone}")) { (phone) } } }
            @if let Some(email) = &client.email { div { a href=(format!("mailto:{email}")) { (email) } } }
            @if let Some(notes) = client.local_notes.as_deref().filter(|n| !n.is_empty()) { p.muted { (lines(notes)) } }
        }
        h2 { (l.t("Alertes ouvertes", "Open alerts")) }
        @if open.is_empty() { (none(l)) }
        ul {
            @for a in &open {
                li { a href=(format!("/alerts#alert-{}", a.id)) { "#" (a.id) " " (alerts::message::family_label(&a.alert_type, language)) }
                     " — " (a.date_observation)
                     @if let Some(m) = &a.piano_make { " · " (m) @if let Some(model) = &a.piano_model { " " (model) } }
                     @if let Some(d) = &a.description { br; span.muted { (d) } } }
            }
        }
        h2 { (l.t("Contacts", "Contacts")) }
        @if contacts.is_empty() { (none(l)) }
        ul {
            @for c in &contacts {
                li { (c.first_name.clone().unwrap_or_default()) " " (c.last_name.clone().unwrap_or_default())
                     @if let Some(p) = &c.phone { " · " (p) } @if let Some(e) = &c.email { " · " (e) } }
            }
        }
        h2 { (l.t("Pianos", "Pianos")) }
        @if pianos.is_empty() { (none(l)) }
        ul {
            @for p in &pianos {
                li id=(format!("piano-{}", p.id)) {
                    (p.make) " " (p.model.clone().unwrap_or_default())
                    @if let Some(room) = p.location.as_deref().filter(|r| !r.is_empty()) { " (" (room) ")" }
                    @if let Some(serial) = &p.serial_number { span.muted { " · n° " (serial) } }
                }
            }
        }
        h2 { (l.t("Historique", "History")) }
        @if timeline.is_empty() { (none(l)) }
        table.stack {
            tbody {
                @for t in &timeline {
                    tr {
                        td { (local_date_time(&state, &t.occurred_at)) }
                        td { (piano_name(t.piano_id).unwrap_or_default()) }
                        td { (t.title.clone().unwrap_or_default()) @if let Some(d) = &t.details { br; span.muted { (d) } } }
                    }
                }
            }
        }
        h2 { (l.t("Factures", "Invoices")) }
        @if invoices.is_empty() { (none(l)) }
        table.stack {
            tbody {
                @for i in &invoices {
                    tr { td { (i.number) } td { (i.invoice_date) } td { (i.status) } td { (money(i.total_cents, l)) } }
                }
            }
        }
    };
    Ok(page(&viewer, "/clients", &client.company_name, body).into_response())
}

/// What `gazellectl status` shows, and "sync now" for the owner.
pub async fn health_page(State(state): State<Arc<WebState>>, viewer: Viewer) -> Page {
    office_only(&viewer)?;
    let l = viewer.lang();
    let status = crate::handlers::status::status(&state.context, protocol::calls::Status {})
        .await
        .map_err(|r| refusal(&viewer, r))?;
    let b = &status.backlog;
    let body = html! {
        section.card {
            @if let Some(run) = &status.last_run {
                p { (l.t("Dernière synchronisation : ", "Last sync: ")) strong { (run.run.status) } " — "
                    (local_date_time(&state, &run.run.started_at)) }
            } @else {
                p { (l.t("Aucune synchronisation encore.", "No sync yet.")) }
            }
            @if status.sync_running { p.notice { (l.t("Synchronisation en cours…", "Sync running…")) } }
            @if status.paused { p.warn { (l.t("Horaire suspendu (gazellectl resume).", "Schedule paused (gazellectl resume).")) } }
            @if let Some(trouble) = &status.storage { p.error { (format!("{trouble:?}")) } }
            @if viewer.is_owner() {
                form.inline method="post" action="/health/sync" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    button type="submit" { (l.t("Synchroniser maintenant", "Sync now")) }
                }
            }
        }
        table {
            tbody {
                tr { th { (l.t("Modifications en attente d'envoi", "Edits waiting to go")) } td { (b.outbox_pending) } }
                tr { th { (l.t("Modifications en échec", "Edits given up")) } td class=[(b.outbox_dead > 0).then_some("warn")] { (b.outbox_dead) } }
                tr { th { (l.t("Conflits à trancher", "Conflicts to settle")) } td class=[(b.open_conflicts > 0).then_some("warn")] { (b.open_conflicts) } }
                tr { th { (l.t("Alertes d'entretien ouvertes", "Open maintenance alerts")) } td { (b.open_alerts) } }
                tr { th { (l.t("Courriels en attente", "E-mails waiting")) } td { (b.emails_pending) } }
                tr { th { (l.t("Courriels abandonnés", "E-mails given up")) } td class=[(b.emails_dead > 0).then_some("warn")] { (b.emails_dead) } }
            }
        }
        h2 { (l.t("Prochaines exécutions", "Next runs")) }
        table.stack {
            tbody {
                @for job in &status.schedule {
                    tr { td { (job.job) } td { (job.next.as_deref().map(|n| local_date_time(&state, n)).unwrap_or_else(|| "—".into())) } }
                }
            }
        }
        h2 { (l.t("Flux", "Streams")) }
        table.stack {
            tbody {
                @for s in &status.streams {
                    tr {
                        td { (s.state.stream) }
                        td { (s.state.last_success_at.as_deref().map(|t| local_date_time(&state, t)).unwrap_or_else(|| "—".into())) }
                        td { @if let Some(e) = &s.state.last_error { span.warn { (e) } } }
                    }
                }
            }
        }
    };
    Ok(page(
        &viewer,
        "/health",
        l.t("Synchronisation", "Sync health"),
        body,
    )
    .into_response())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sync_now(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Page {
    viewer.check(&form.csrf)?;
    if !viewer.is_owner() {
        return Err(refused(
            StatusCode::FORBIDDEN,
            viewer.lang(),
            viewer
                .lang()
                .t("Réservé au propriétaire.", "For the owner."),
        ));
    }
    let (mode, streams) = crate::control::parse_sync(None, &[])
        .map_err(|e| refused(StatusCode::BAD_REQUEST, viewer.lang(), &e))?;
    match state
        .context
        .runner
        .trigger(store::sync_log::Trigger::Manual, mode, streams)
        .await
    {
        Ok(_) => {
            tracing::info!(by = %viewer.author(), "sync started from the dashboard");
            Ok(Redirect::to("/health").into_response())
        }
        Err(message) => Err(refused(
            StatusCode::SERVICE_UNAVAILABLE,
            viewer.lang(),
            &message,
        )),
    }
}
