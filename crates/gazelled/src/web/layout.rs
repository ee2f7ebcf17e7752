//! The page frame, the words in two languages, and the style sheet (vendored: no build step).

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::auth::Viewer;

/// The dashboard's language: the account's, French by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn of(code: &str) -> Lang {
        if code == "en" { Lang::En } else { Lang::Fr }
    }
    /// The same language, as the configuration and the e-mails name it.
    pub fn language(self) -> config::Language {
        match self {
            Lang::Fr => config::Language::Fr,
            Lang::En => config::Language::En,
        }
    }
    /// One of two words.
    pub fn t<'a>(self, fr: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }
}

/// The style sheet, served at `/static/app.css` (small, written by hand, phone first).
pub const CSS: &str = r#"
:root { --ink: #1d1d1f; --muted: #6e6e73; --line: #d2d2d7; --accent: #0a5cad; --warn: #b3261e; --ok: #1e7b34; --bg: #f5f5f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #fff; border-bottom: 1px solid var(--line); padding: .5rem 1rem; display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; }
header .brand { font-weight: 600; margin-right: auto; }
header nav { display: flex; flex-wrap: wrap; gap: .25rem .9rem; }
header nav a { color: var(--accent); text-decoration: none; }
header nav a.here { font-weight: 600; text-decoration: underline; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.4rem 0 .5rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: .8rem 1rem; margin: 0 0 .8rem; }
.muted { color: var(--muted); }
.warn { color: var(--warn); font-weight: 600; }
.ok { color: var(--ok); }
.low { background: #fdecea; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .85rem; border: 1px solid currentColor; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
form.inline { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: .4rem 0; }
input, select, button, textarea { font: inherit; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 8px; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
.error { background: #fdecea; border: 1px solid var(--warn); color: var(--warn); padding: .6rem .8rem; border-radius: 8px; }
.notice { background: #e8f3ea; border: 1px solid var(--ok); padding: .6rem .8rem; border-radius: 8px; }
.login { max-width: 24rem; margin: 3rem auto; }
.login label { display: block; margin: .6rem 0 .2rem; }
.login input { width: 100%; }
.login button { margin-top: 1rem; width: 100%; }
@media (max-width: 40rem) {
  table.stack thead { display: none; }
  table.stack tr { display: block; border-bottom: 1px solid var(--line); padding: .3rem 0; }
  table.stack td { display: block; border: 0; padding: .15rem .5rem; }
}
"#;

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " — Assistant Gazelle" }
            link rel="stylesheet" href="/static/app.css";
        }
    }
}

/// A page for a logged-in person: the navigation their role allows, then `body`.
pub fn page(viewer: &Viewer, here: &str, title: &str, body: Markup) -> Markup {
    let l = viewer.lang();
    let mut links = vec![
        ("/today", l.t("Aujourd'hui", "Today")),
        ("/tomorrow", l.t("Demain", "Tomorrow")),
        ("/week", l.t("Semaine", "Week")),
        ("/alerts", l.t("Alertes", "Alerts")),
        ("/stock", l.t("Stock", "Stock")),
    ];
    if !viewer.is_technician() {
        links.push(("/clients", l.t("Clients", "Clients")));
        links.push(("/health", l.t("Synchro", "Sync")));
    }
    html! {
        (DOCTYPE)
        html lang=(l.t("fr", "en")) {
            (head(title))
            body {
                header {
                    span.brand { "Assistant Gazelle" }
                    nav {
                        @for (href, label) in &links {
                            a href=(href) class=[(*href == here).then_some("here")] { (label) }
                        }
                    }
                    form.inline method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        span.muted { (viewer.user.login) }
                        button.secondary type="submit" { (l.t("Déconnexion", "Log out")) }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page for someone not logged in (login, invitation).
pub fn bare(l: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(l.t("fr", "en")) {
            (head(title))
            body {
                main.login {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// Dollars from cents, as the shop writes them ("1 234,50 $" / "$1,234.50").
pub fn money(cents: i64, l: Lang) -> String {
    let negative = cents < 0;
    let cents = cents.unsigned_abs();
    let (dollars, rest) = (cents / 100, cents % 100);
    let digits = dollars.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(if l == Lang::Fr { '\u{a0}' } else { ',' });
        }
        grouped.push(c);
    }
    let sign = if negative { "-" } else { "" };
    match l {
        Lang::Fr => format!("{sign}{grouped},{rest:02}\u{a0}$"),
        Lang::En => format!("{sign}${grouped}.{rest:02}"),
    }
}

/// Text kept as typed, line breaks shown.
pub fn lines(text: &str) -> Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 { br; }
            (line)
        }
    }
}

/// A map search link for an address.
pub fn map_link(address: &str) -> Markup {
    html! { a href=(alerts::agenda::map_link(address)) { (address) } }
}

/// An empty marker for "nothing here".
pub fn none(l: Lang) -> Markup {
    html! { p.muted { (PreEscaped("&mdash; ")) (l.t("rien", "nothing")) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_as_the_shop_writes_it() {
        assert_eq!(money(123_450, Lang::Fr), "1\u{a0}234,50\u{a0}$");
        assert_eq!(money(123_450, Lang::En), "$1,234.50");
        assert_eq!(money(-5, Lang::En), "-$0.05");
        assert_eq!(money(i64::MIN, Lang::En), "-$92,233,720,368,547,758.08");
    }
}
