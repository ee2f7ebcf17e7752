//! Loading the configuration: layering, provenance and every error path.
//!
//! figment's `Jail` gives each test its own directory and environment, so tests that set
//! `GAZELLE_*` variables do not see each other.

// figment's `Jail` closures return its (large) error type; that is its API, not ours.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::time::Duration;

use config::{AuthMode, Config, ConfigError, load};
use figment::Jail;

const EXAMPLE: &str = include_str!("../../../config/gazelled.example.toml");

fn problems(result: Result<config::LoadedConfig, ConfigError>) -> Vec<String> {
    match result {
        Err(ConfigError::Invalid(problems)) => problems,
        Err(other) => panic!("expected invalid values, got {other}"),
        Ok(loaded) => panic!("expected an error, loaded {:?}", loaded.config),
    }
}

fn with_file(body: &str, check: impl FnOnce(&Path)) {
    Jail::expect_with(|jail| {
        jail.create_file("gazelled.toml", body)?;
        check(&jail.directory().join("gazelled.toml"));
        Ok(())
    });
}

#[test]
fn defaults_apply_without_any_file() {
    Jail::expect_with(|jail| {
        // No file and no $GAZELLE_CONFIG: the platform file is absent in the jail's HOME.
        let dir = jail.directory().to_owned();
        jail.set_env("HOME", dir.display());
        jail.set_env("XDG_CONFIG_HOME", dir.join("xdg").display());
        let loaded = load(None).expect("defaults load");
        assert_eq!(loaded.file, None);
        assert_eq!(loaded.config, Config::default());
        assert_eq!(loaded.origin("api.page_size"), "built-in default");
        Ok(())
    });
}

#[test]
fn the_example_file_documents_every_key_with_its_default() {
    with_file(EXAMPLE, |path| {
        let loaded = load(Some(path)).expect("the example loads");
        assert_eq!(
            loaded.config,
            Config::default(),
            "the example's values are the defaults"
        );
        // Every key, including the optional ones, appears in the example (commented or not).
        let mut keys: Vec<String> = loaded.settings().into_iter().map(|s| s.key).collect();
        keys.extend(
            [
                "paths.database",
                "paths.socket",
                "paths.token_file",
                "api.client_id",
                "api.client_secret",
                "api.redirect_uri",
                "api.api_key",
                "alerts.owner_email",
                "inventory.consumption_since",
            ]
            .map(String::from),
        );
        for key in keys {
            let leaf = key.rsplit('.').next().unwrap();
            assert!(
                EXAMPLE.lines().any(|l| l
                    .trim_start_matches(['#', ' '])
                    .starts_with(&format!("{leaf} ="))),
                "config/gazelled.example.toml does not document `{key}`"
            );
        }
    });
}

#[test]
fn file_then_environment_override_the_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "gazelled.toml",
            r#"
            [paths]
            data_dir = "/srv/gazelle"
            [api]
            page_size = 200
            auth = "api-key"
            api_key = "generated-test-key"
            [sync]
            push_interval = "90s"
            reconcile_schedule = "15 4 * * *"
            [alerts]
            owner_email = "owner@example.test"
            "#,
        )?;
        jail.set_env("GAZELLE_API__PAGE_SIZE", "150");
        jail.set_env("GAZELLE_LOGGING__LEVEL", "debug,sqlx=warn");
        let file = jail.directory().join("gazelled.toml");
        let loaded = load(Some(&file)).expect("loads");
        let c = &loaded.config;
        assert_eq!(c.api.page_size, 150, "environment wins over the file");
        assert_eq!(c.api.auth, AuthMode::ApiKey);
        assert_eq!(
            c.api.api_key.as_ref().unwrap().expose(),
            "generated-test-key"
        );
        assert_eq!(c.sync.push_interval.duration(), Duration::from_secs(90));
        assert_eq!(c.sync.reconcile_schedule.as_str(), "0 15 4 * * *");
        assert_eq!(c.logging.level.as_str(), "debug,sqlx=warn");
        assert_eq!(
            c.paths.database(),
            Path::new("/srv/gazelle/gazelle.sqlite3")
        );
        assert_eq!(
            c.paths.socket(),
            Path::new("/srv/gazelle/run/gazelled.sock")
        );
        assert_eq!(
            c.alerts.owner_email.as_ref().unwrap().to_string(),
            "owner@example.test"
        );

        // Provenance and redaction for `gazellectl config`.
        assert_eq!(
            loaded.origin("api.page_size"),
            "environment variable GAZELLE_API__PAGE_SIZE"
        );
        assert_eq!(
            loaded.origin("sync.push_interval"),
            file.display().to_string()
        );
        let settings = loaded.settings();
        let key = settings.iter().find(|s| s.key == "api.api_key").unwrap();
        assert_eq!(key.value, "\"[redacted]\"");
        assert!(
            !format!("{settings:?}{c:?}").contains("generated-test-key"),
            "a secret leaked"
        );
        Ok(())
    });
}

#[test]
fn a_missing_explicit_file_is_an_error() {
    Jail::expect_with(|jail| {
        let missing = jail.directory().join("nope.toml");
        let err = load(Some(&missing)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("configuration file {} does not exist", missing.display())
        );
        // The same through $GAZELLE_CONFIG.
        jail.set_env("GAZELLE_CONFIG", missing.display());
        assert!(matches!(load(None), Err(ConfigError::Missing(p)) if p == missing));
        Ok(())
    });
}

#[test]
fn each_invalid_value_is_named_with_its_key_and_file() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[api]\nbase_url = \"not a url\"",
            "api.base_url",
            "relative URL without a base",
        ),
        (
            "[api]\nbase_url = \"ftp://gazelleapp.io/\"",
            "api.base_url",
            "must be an http or https URL",
        ),
        (
            "[api]\nredirect_uri = \"http://localhost/cb\"",
            "api.redirect_uri",
            "must be an https URL",
        ),
        (
            "[paths]\ndata_dir = \"relative/dir\"",
            "paths.data_dir",
            "is relative",
        ),
        (
            "[paths]\ndatabase = \"\"",
            "paths.database",
            "cannot be empty",
        ),
        (
            "[sync]\npush_interval = \"soon\"",
            "sync.push_interval",
            "is not a duration",
        ),
        (
            "[sync]\npush_interval = \"0s\"",
            "sync.push_interval",
            "longer than zero",
        ),
        (
            "[sync]\nnightly_schedule = \"0 0 25 * * *\"",
            "sync.nightly_schedule",
            "is not a valid cron spec",
        ),
        (
            "[sync]\nnightly_schedule = \"every night\"",
            "sync.nightly_schedule",
            "has 2 fields",
        ),
        (
            "[alerts]\nowner_email = \"owner(at)example\"",
            "alerts.owner_email",
            "is not an e-mail address",
        ),
        (
            "[business]\ntimezone = \"Mars/Olympus\"",
            "business.timezone",
            "not a known time zone",
        ),
        (
            "[logging]\nlevel = \"loud\"",
            "logging.level",
            "not a log level",
        ),
        ("[api]\npage_size = 0", "api.page_size", "at least 1"),
        ("[api]\npage_size = -5", "api.page_size", "invalid"),
        ("[api]\nauth = \"password\"", "api.auth", "unknown variant"),
        ("[api]\nauth = \"api-key\"", "api.api_key", "required when"),
        (
            "[api]\nclient_secret = \"\"",
            "api.client_secret",
            "cannot be empty",
        ),
        ("[sync]\npage_sise = 5", "sync.page_sise", "unknown field"),
        ("[synk]\npush_interval = \"5m\"", "synk", "unknown field"),
    ];
    for (body, key, message) in cases {
        with_file(body, |path| {
            let problems = problems(load(Some(path)));
            assert_eq!(problems.len(), 1, "{body}: {problems:?}");
            let line = &problems[0];
            assert!(
                line.starts_with(&path.display().to_string()),
                "{body}: names the file: {line}"
            );
            assert!(
                line.contains(&format!("key `{key}`")),
                "{body}: names the key {key}: {line}"
            );
            assert!(line.contains(message), "{body}: says `{message}`: {line}");
        });
    }
}

#[test]
fn a_malformed_file_names_the_file_and_line() {
    with_file("[api]\npage_size = = 3\n", |path| {
        let problems = problems(load(Some(path)));
        let line = &problems[0];
        assert!(line.contains(&path.display().to_string()), "{line}");
        assert!(line.contains("line 2"), "{line}");
    });
}

#[test]
fn invalid_environment_values_name_the_variable() {
    Jail::expect_with(|jail| {
        let dir = jail.directory().to_owned();
        jail.set_env("HOME", dir.display());
        jail.set_env("XDG_CONFIG_HOME", dir.join("xdg").display());
        jail.set_env("GAZELLE_SYNC__TIMELINE_INTERVAL", "often");
        let all = problems(load(None)).join("\n");
        assert!(
            all.contains("environment variable GAZELLE_SYNC__TIMELINE_INTERVAL: key `sync.timeline_interval`: `often` is not a duration"),
            "{all}"
        );
        jail.set_env("GAZELLE_SYNC__TIMELINE_INTERVAL", "2h");
        jail.set_env("GAZELLE_API__PAGESIZE", "100");
        let all = problems(load(None)).join("\n");
        assert!(
            all.contains(
                "environment variable GAZELLE_API__PAGESIZE: key `api.pagesize`: unknown field"
            ),
            "{all}"
        );
        Ok(())
    });
}
