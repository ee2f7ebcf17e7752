//! Who is looking: per-person accounts, sessions, CSRF, lockout.
//!
//! * **Accounts** come from invitations (`gazellectl web invite`): the person picks a
//!   password (at least 10 characters), kept as an argon2id hash. The owner comes in through
//!   one-time links (`gazellectl open`, two minutes, one use).
//! * **Sessions**: a random 256-bit token in an `HttpOnly`, `SameSite=Strict` cookie
//!   (`Secure` over TLS); the database keeps its SHA-256 only. A session lasts `web.session`.
//! * **CSRF**: every form carries a token. Logged in, it is the session's own (random, kept
//!   server-side); before login (the login and invitation forms) it is a double-submit pair:
//!   a random cookie and the same value in the form. A POST without the right one is refused
//!   (403) before anything is read or written.
//! * **Lockout**: `web.max_failed_logins` wrong passwords in a row lock the account for
//!   `web.lockout`, the right password included. An unknown login costs the same argon2 work
//!   as a known one, so timing does not tell which logins exist.

use std::sync::Arc;

use axum::Form;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use store::web::{self as accounts, WebUser, token_hash};

use super::WebState;
use super::layout::{Lang, bare};

pub const SESSION_COOKIE: &str = "gz_session";
const PRE_COOKIE: &str = "gz_pre";
const MIN_PASSWORD: usize = 10;

/// A random 256-bit token, in hex.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn later(d: std::time::Duration) -> String {
    let span = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::from_hours(1));
    store::time::utc_text(now().checked_add(span).unwrap_or(now()))
}

/// A cookie's value from the request's headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(name: &str, value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("gz_invalid=; Max-Age=0"))
}

/// Constant-time equality of two tokens.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A refusal page with its status.
pub fn refused(status: StatusCode, l: Lang, message: &str) -> Response {
    (
        status,
        bare(
            l,
            l.t("Refusé", "Refused"),
            html! { p.error { (message) } p { a href="/today" { (l.t("Retour", "Back")) } } },
        ),
    )
        .into_response()
}

fn csrf_refused(l: Lang) -> Response {
    refused(
        StatusCode::FORBIDDEN,
        l,
        l.t(
            "Ce formulaire a expiré ou ne vient pas de cette page (jeton CSRF manquant ou faux) : rechargez la page.",
            "This form has expired or did not come from this page (missing or wrong CSRF token): reload the page.",
        ),
    )
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard request failed");
    refused(
        StatusCode::INTERNAL_SERVER_ERROR,
        Lang::Fr,
        "Erreur interne : voir `gazellectl logs`.",
    )
}

/// The person behind a request, with their session's CSRF token.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: WebUser,
    pub csrf: String,
}

impl Viewer {
    pub fn lang(&self) -> Lang {
        Lang::of(&self.user.language)
    }
    pub fn is_technician(&self) -> bool {
        self.user.role == "technician"
    }
    pub fn is_owner(&self) -> bool {
        self.user.role == "owner"
    }
    /// The technician whose data this person is limited to (`None`: everyone's).
    pub fn own_technician(&self) -> Option<&str> {
        if self.is_technician() {
            self.user.technician_id.as_deref()
        } else {
            None
        }
    }
    /// Whether this person may see `technician`'s day, stock and alerts.
    pub fn may_see(&self, technician: &str) -> bool {
        self.own_technician().is_none_or(|own| own == technician)
    }
    /// Checks a form's CSRF token against the session's.
    pub fn check(&self, token: &str) -> Result<(), Response> {
        if same(token, &self.csrf) {
            Ok(())
        } else {
            Err(csrf_refused(self.lang()))
        }
    }
    /// The name actions are recorded under (the CLI records the Mac user's).
    pub fn author(&self) -> String {
        format!("web:{}", self.user.login)
    }
}

impl FromRequestParts<Arc<WebState>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to("/login").into_response();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match accounts::session(
            state.context.store.reader(),
            &token_hash(&token),
            &store::time::now_text(),
        )
        .await
        {
            Ok(Some((user, csrf))) => Ok(Viewer { user, csrf }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(internal(e)),
        }
    }
}

/// Opens a session for `user_id` and sends the person on to `to`.
async fn open_session(state: &WebState, user_id: i64, to: &str) -> Response {
    let token = random_token();
    let expires = later(state.context.config.web.session.duration());
    let opened = async {
        let mut tx = state.context.store.begin_write().await?;
        accounts::add_session(
            &mut tx,
            &token_hash(&token),
            user_id,
            &random_token(),
            &expires,
        )
        .await?;
        accounts::login_succeeded(&mut tx, user_id).await?;
        tx.commit().await.map_err(|source| store::StoreError::Sql {
            context: "opening a session",
            source,
        })
    }
    .await;
    if let Err(e) = opened {
        return internal(e);
    }
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &token,
            state.context.config.web.session.duration().as_secs(),
            state.secure,
        ),
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(PRE_COOKIE, "", 0, state.secure),
    );
    response
}

/// A page with a pre-login form: its double-submit token is set as a cookie too.
fn with_pre_token(
    state: &WebState,
    status: StatusCode,
    render: impl FnOnce(&str) -> Markup,
) -> Response {
    let token = random_token();
    let mut response = (status, render(&token)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(PRE_COOKIE, &token, 3600, state.secure),
    );
    response
}

fn pre_token_ok(headers: &HeaderMap, form_token: &str) -> bool {
    cookie(headers, PRE_COOKIE).is_some_and(|c| !c.is_empty() && same(&c, form_token))
}

fn login_form(l: Lang, token: &str, message: Option<&str>) -> Markup {
    bare(
        l,
        l.t("Connexion", "Log in"),
        html! {
            @if let Some(m) = message { p.error role="alert" { (m) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                label for="login" { (l.t("Courriel", "E-mail")) }
                input id="login" name="login" type="email" autocomplete="username" required;
                label for="password" { (l.t("Mot de passe", "Password")) }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button type="submit" { (l.t("Se connecter", "Log in")) }
            }
            p.muted { (l.t("Pas de compte ? Le propriétaire vous invite par courriel.",
                           "No account? The owner invites you by e-mail.")) }
        },
    )
}

pub async fn login_page(State(state): State<Arc<WebState>>) -> Response {
    with_pre_token(&state, StatusCode::OK, |t| login_form(Lang::Fr, t, None))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// A PHC string for an unknown login: the same argon2 work as a real check.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";

async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        use argon2::PasswordVerifier;
        argon2::PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

async fn hash_password(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        use argon2::PasswordHasher;
        use argon2::password_hash::SaltString;
        let salt_bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

pub async fn login(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let l = Lang::Fr;
    if !pre_token_ok(&headers, &form.csrf) {
        return csrf_refused(l);
    }
    let again = |status, message: &str| {
        let message = message.to_owned();
        with_pre_token(&state, status, move |t| login_form(l, t, Some(&message)))
    };
    let user = match accounts::user_by_login(state.context.store.reader(), &form.login).await {
        Ok(u) => u,
        Err(e) => return internal(e),
    };
    let wrong = l.t(
        "Courriel ou mot de passe incorrect.",
        "Wrong e-mail or password.",
    );
    let Some(user) = user else {
        verify(form.password, DECOY.to_owned()).await;
        return again(StatusCode::UNAUTHORIZED, wrong);
    };
    let locked_text = l.t(
        "Trop d'essais : ce compte est bloqué pour un moment. Réessayez plus tard.",
        "Too many attempts: this account is locked for a while. Try again later.",
    );
    let now_text = store::time::now_text();
    if user
        .locked_until
        .as_deref()
        .is_some_and(|until| until > now_text.as_str())
    {
        return again(StatusCode::TOO_MANY_REQUESTS, locked_text);
    }
    let good = match user.password_hash.clone() {
        Some(hash) => verify(form.password, hash).await,
        None => {
            verify(form.password, DECOY.to_owned()).await;
            false
        }
    };
    if good {
        return open_session(&state, user.id, "/today").await;
    }
    let web = &state.context.config.web;
    let locked = async {
        let mut tx = state.context.store.begin_write().await?;
        let locked = accounts::login_failed(
            &mut tx,
            user.id,
            i64::from(web.max_failed_logins.max(1)),
            &later(web.lockout.duration()),
        )
        .await?;
        tx.commit().await.map_err(|source| store::StoreError::Sql {
            context: "counting a failed login",
            source,
        })?;
        Ok::<bool, store::StoreError>(locked)
    }
    .await;
    match locked {
        Ok(true) => {
            tracing::warn!(login = %user.login, "dashboard account locked after repeated wrong passwords");
            again(StatusCode::TOO_MANY_REQUESTS, locked_text)
        }
        Ok(false) => again(StatusCode::UNAUTHORIZED, wrong),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
}

/// A one-time link from `gazellectl open`.
pub async fn login_link(
    State(state): State<Arc<WebState>>,
    Query(q): Query<LinkQuery>,
) -> Response {
    let taken = async {
        let mut tx = state.context.store.begin_write().await?;
        let user =
            accounts::take_login_link(&mut tx, &token_hash(&q.token), &store::time::now_text())
                .await?;
        tx.commit().await.map_err(|source| store::StoreError::Sql {
            context: "using a login link",
            source,
        })?;
        Ok::<_, store::StoreError>(user)
    }
    .await;
    match taken {
        Ok(Some(user)) => open_session(&state, user, "/today").await,
        Ok(None) => refused(
            StatusCode::BAD_REQUEST,
            Lang::Fr,
            "Ce lien a déjà servi ou a expiré : lancez `gazellectl open` de nouveau.",
        ),
        Err(e) => internal(e),
    }
}

fn invitation_form(l: Lang, login: &str, token: &str, message: Option<&str>) -> Markup {
    bare(
        l,
        l.t("Créer votre compte", "Create your account"),
        html! {
            p { (l.t("Compte : ", "Account: ")) strong { (login) } }
            @if let Some(m) = message { p.error role="alert" { (m) } }
            form method="post" {
                input type="hidden" name="csrf" value=(token);
                label for="password" { (l.t("Mot de passe (10 caractères ou plus)", "Password (10 characters or more)")) }
                input id="password" name="password" type="password" autocomplete="new-password" minlength="10" required;
                label for="confirm" { (l.t("Le même, encore", "The same, again")) }
                input id="confirm" name="confirm" type="password" autocomplete="new-password" minlength="10" required;
                button type="submit" { (l.t("Créer le compte", "Create the account")) }
            }
        },
    )
}

async fn invitation(
    state: &WebState,
    token: &str,
) -> Result<Option<accounts::Invitation>, Response> {
    accounts::open_invitation(
        state.context.store.reader(),
        &token_hash(token),
        &store::time::now_text(),
    )
    .await
    .map_err(internal)
}

fn invitation_gone() -> Response {
    refused(
        StatusCode::NOT_FOUND,
        Lang::Fr,
        "Cette invitation a déjà servi ou a expiré : demandez-en une autre au propriétaire.",
    )
}

pub async fn invitation_page(
    State(state): State<Arc<WebState>>,
    Path(token): Path<String>,
) -> Response {
    match invitation(&state, &token).await {
        Ok(Some(i)) => {
            let l = Lang::of(&i.language);
            with_pre_token(&state, StatusCode::OK, |t| {
                invitation_form(l, &i.login, t, None)
            })
        }
        Ok(None) => invitation_gone(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct InvitationForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    csrf: String,
}

pub async fn accept_invitation(
    State(state): State<Arc<WebState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<InvitationForm>,
) -> Response {
    let invited = match invitation(&state, &token).await {
        Ok(Some(i)) => i,
        Ok(None) => return invitation_gone(),
        Err(r) => return r,
    };
    let l = Lang::of(&invited.language);
    if !pre_token_ok(&headers, &form.csrf) {
        return csrf_refused(l);
    }
    let problem = if form.password.chars().count() < MIN_PASSWORD {
        Some(l.t(
            "Le mot de passe doit avoir 10 caractères ou plus.",
            "The password needs 10 characters or more.",
        ))
    } else if form.password != form.confirm {
        Some(l.t(
            "Les deux mots de passe diffèrent.",
            "The two passwords differ.",
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        return with_pre_token(&state, StatusCode::UNPROCESSABLE_ENTITY, |t| {
            invitation_form(l, &invited.login, t, Some(problem))
        });
    }
    let hash = match hash_password(form.password).await {
        Ok(h) => h,
        Err(e) => return internal(e),
    };
    let created = async {
        let mut tx = state.context.store.begin_write().await?;
        let id = accounts::accept_invitation(
            &mut tx,
            &token_hash(&token),
            &hash,
            &store::time::now_text(),
        )
        .await?;
        tx.commit().await.map_err(|source| store::StoreError::Sql {
            context: "accepting an invitation",
            source,
        })?;
        Ok::<_, store::StoreError>(id)
    }
    .await;
    match created {
        Ok(Some(id)) => {
            tracing::info!(login = %invited.login, role = %invited.role, invited_by = %invited.invited_by, "dashboard account created");
            open_session(&state, id, "/today").await
        }
        Ok(None) => refused(
            StatusCode::CONFLICT,
            l,
            l.t(
                "Un compte existe déjà pour ce courriel, ou l'invitation a servi : connectez-vous.",
                "An account already exists for this e-mail, or the invitation was used: log in.",
            ),
        ),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<Arc<WebState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = viewer.check(&form.csrf) {
        return r;
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let ended = async {
            let mut tx = state.context.store.begin_write().await?;
            accounts::end_session(&mut tx, &token_hash(&token)).await?;
            tx.commit().await.map_err(|source| store::StoreError::Sql {
                context: "closing a session",
                source,
            })
        }
        .await;
        if let Err(e) = ended {
            return internal(e);
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.secure),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_parses_and_a_password_round_trips() {
        assert!(argon2::PasswordHash::new(DECOY).is_ok());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let hash = hash_password("correct horse battery".into()).await.unwrap();
            assert!(hash.starts_with("$argon2id$"));
            assert!(verify("correct horse battery".into(), hash.clone()).await);
            assert!(!verify("wrong horse battery".into(), hash).await);
        });
    }

    #[test]
    fn tokens_compare_in_constant_time_and_cookies_are_read_by_name() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; gz_session=xyz; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&headers, "gz_pre"), None);
        assert_eq!(random_token().len(), 64);
    }
}
