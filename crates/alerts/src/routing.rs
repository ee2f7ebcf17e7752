//! Who receives what: a technician's alerts go to the address configured for their Gazelle
//! user id, else to their Gazelle e-mail address, else to the owner; the owner's alerts
//! (low stock, sync health, the digest) go to `alerts.owner_email`.

use config::{Alerts, Language};

/// An address and the language to write to it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    pub language: Language,
}

#[derive(Debug, Clone)]
pub struct Router {
    alerts: Alerts,
}

impl Router {
    pub fn from_config(alerts: &Alerts) -> Router {
        Router {
            alerts: alerts.clone(),
        }
    }

    pub fn owner(&self) -> Option<Recipient> {
        self.alerts.owner_email.as_ref().map(|a| Recipient {
            address: a.to_string(),
            language: self.alerts.language,
        })
    }

    /// The recipient of a technician's alert. `gazelle_email` is the user's address in
    /// Gazelle (the `Users` table); an address that does not parse is ignored, not used.
    pub fn technician(
        &self,
        user_id: Option<&str>,
        gazelle_email: Option<&str>,
    ) -> Option<Recipient> {
        let route = user_id.and_then(|id| self.alerts.technicians.get(id));
        let language = route
            .and_then(|r| r.language)
            .unwrap_or(self.alerts.language);
        let configured = route
            .and_then(|r| r.email.as_ref())
            .map(ToString::to_string);
        let from_gazelle = gazelle_email
            .map(str::trim)
            .filter(|e| e.parse::<lettre::Address>().is_ok())
            .map(str::to_owned);
        match configured.or(from_gazelle) {
            Some(address) => Some(Recipient { address, language }),
            None => self.owner(),
        }
    }

    /// A technician's own address (configured, else Gazelle's), never the owner's: for what
    /// only the technician should get (their agenda).
    pub fn technician_only(&self, user_id: &str, gazelle_email: Option<&str>) -> Option<Recipient> {
        let own = self
            .alerts
            .technicians
            .get(user_id)
            .is_some_and(|r| r.email.is_some())
            || gazelle_email.is_some_and(|e| e.trim().parse::<lettre::Address>().is_ok());
        own.then(|| self.technician(Some(user_id), gazelle_email))
            .flatten()
    }

    /// Whether a client is institutional: listed by id, or carrying the configured tag.
    pub fn is_institutional(&self, client_external_id: Option<&str>, tags: Option<&str>) -> bool {
        let listed = client_external_id
            .is_some_and(|id| self.alerts.institutional_client_ids.iter().any(|i| i == id));
        let tag = self.alerts.institutional_tag.trim();
        let tagged = !tag.is_empty()
            && tags.is_some_and(|t| {
                t.split([',', ';', '|'])
                    .map(|s| s.trim().trim_matches(|c| c == '"' || c == '[' || c == ']'))
                    .any(|s| s.eq_ignore_ascii_case(tag))
            });
        listed || tagged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_configuration_then_gazelle_then_owner() {
        let alerts: Alerts = toml::from_str(
            r#"owner_email = "owner@example.test"
               language = "fr"
               institutional_tag = "institutional"
               [technicians.usr_a]
               email = "a@example.test"
               language = "en"
               [technicians.usr_b]
               language = "en""#,
        )
        .unwrap();
        let router = Router::from_config(&alerts);
        let a = router
            .technician(Some("usr_a"), Some("ignored@example.test"))
            .unwrap();
        assert_eq!(
            (a.address.as_str(), a.language),
            ("a@example.test", Language::En)
        );
        let b = router
            .technician(Some("usr_b"), Some("b@example.test"))
            .unwrap();
        assert_eq!(
            (b.address.as_str(), b.language),
            ("b@example.test", Language::En)
        );
        let c = router
            .technician(Some("usr_c"), Some("not an address"))
            .unwrap();
        assert_eq!(
            (c.address.as_str(), c.language),
            ("owner@example.test", Language::Fr)
        );
        assert!(router.is_institutional(None, Some(r#"["vip","Institutional"]"#)));
        assert!(!router.is_institutional(Some("cli_x"), Some("vip")));
    }
}
