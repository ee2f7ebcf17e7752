//! The dashboard's verbs: a one-time link for the owner (`gazellectl open`) and invitations
//! (`gazellectl web invite`). Both are only offered while the dashboard is served.

use protocol::calls::{WebInvite, WebLink, WebOpen};
use store::web as accounts;

use super::{Handled, Refusal};
use crate::context::Context;
use crate::web::auth::random_token;

/// How long `gazellectl open`'s link works.
const LINK_MINUTES: u32 = 2;
/// How long an invitation waits for its person.
const INVITATION_DAYS: u32 = 7;

fn served(context: &Context) -> Handled<&crate::web::Served> {
    context.web.get().ok_or_else(|| {
        Refusal::unavailable(
            "the dashboard is not served: `web.enabled` is false, or it could not start (see `gazellectl logs`)",
        )
    })
}

fn expires_in(minutes: u32) -> String {
    let now = jiff::Timestamp::now();
    store::time::utc_text(
        now.checked_add(jiff::SignedDuration::from_mins(i64::from(minutes)))
            .unwrap_or(now),
    )
}

async fn commit(tx: store::WriteTx) -> Handled<()> {
    tx.commit()
        .await
        .map_err(|e| Refusal::internal(format!("cannot commit: {e}")))
}

pub async fn open(context: &Context, _: WebOpen) -> Handled<WebLink> {
    let served = served(context)?;
    let alerts = &context.config.alerts;
    let login = alerts
        .owner_email
        .as_ref()
        .map_or_else(|| "owner".to_owned(), ToString::to_string);
    let language = match alerts.language {
        config::Language::Fr => "fr",
        config::Language::En => "en",
    };
    let token = random_token();
    let mut tx = context.store.begin_write().await?;
    let owner = accounts::owner(&mut tx, &login, language).await?;
    accounts::add_login_link(
        &mut tx,
        &accounts::token_hash(&token),
        owner,
        &expires_in(LINK_MINUTES),
    )
    .await?;
    commit(tx).await?;
    Ok(WebLink {
        url: format!("{}/login/link?token={token}", served.base_url),
        fingerprint: served.fingerprint.clone(),
        valid_minutes: LINK_MINUTES,
        emailed: false,
    })
}

pub async fn invite(context: &Context, r: WebInvite) -> Handled<WebLink> {
    let served = served(context)?;
    let email = r.email.trim().to_owned();
    email
        .parse::<lettre::Address>()
        .map_err(|e| Refusal::bad(format!("`{email}` is not an e-mail address: {e}")))?;
    let language = match r.language.as_deref() {
        None => match context.config.alerts.language {
            config::Language::Fr => "fr",
            config::Language::En => "en",
        },
        Some("fr") => "fr",
        Some("en") => "en",
        Some(other) => return Err(Refusal::bad(format!("--language {other}: fr or en"))),
    };
    let technician = r
        .technician
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if let Some(t) = &technician {
        let known = store::alerts::user_contact(context.store.reader(), t).await?;
        if known.is_none() {
            return Err(Refusal::invalid(format!(
                "there is no Gazelle user `{t}` in the mirror (the users stream lists them: `gazellectl force-sync --stream users`)"
            )));
        }
    }
    if accounts::user_by_login(context.store.reader(), &email)
        .await?
        .is_some()
    {
        return Err(Refusal::invalid(format!(
            "`{email}` already has an account"
        )));
    }
    let token = random_token();
    let url = format!("{}/invite/{token}", served.base_url);
    let invitation = accounts::Invitation {
        login: email.clone(),
        role: if technician.is_some() {
            "technician"
        } else {
            "office"
        }
        .to_owned(),
        technician_id: technician,
        language: language.to_owned(),
        invited_by: r.author.clone(),
        expires_at: expires_in(INVITATION_DAYS * 24 * 60),
    };
    let mut tx = context.store.begin_write().await?;
    accounts::add_invitation(&mut tx, &accounts::token_hash(&token), &invitation).await?;
    let emailed = context.alerting.mail_server().is_some();
    if emailed {
        let lang = if language == "en" {
            config::Language::En
        } else {
            config::Language::Fr
        };
        let composed = alerts::message::invitation(&url, &r.author, INVITATION_DAYS, lang);
        store::mail::queue(
            &mut tx,
            &store::mail::NewEmail {
                dedup_key: format!("invitation:{}", accounts::token_hash(&token)),
                message_id: composed.message_id,
                thread_id: None,
                kind: "invitation",
                alert_id: None,
                system_alert_id: None,
                recipient: email.clone(),
                language: if language == "en" { "en" } else { "fr" },
                subject: composed.subject,
                body_text: composed.text,
                body_html: composed.html,
            },
        )
        .await?;
    }
    commit(tx).await?;
    if emailed {
        context.alerting.wake_mail();
    }
    tracing::info!(login = %email, role = %invitation.role, by = %r.author, "dashboard invitation");
    Ok(WebLink {
        url,
        fingerprint: served.fingerprint.clone(),
        valid_minutes: INVITATION_DAYS * 24 * 60,
        emailed,
    })
}
