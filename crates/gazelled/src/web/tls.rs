//! TLS for the dashboard off the Mac: the shop's certificate, or one generated once.
//!
//! A generated certificate lives in `<data_dir>/web/` (the directory 0700, the key 0600, both
//! the daemon's): self-signed for `localhost`, the listening address and `web.public_url`'s
//! host. Browsers warn on first visit; its SHA-256 fingerprint, shown by `gazellectl open`,
//! is what a person checks before accepting it.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The acceptor and the certificate's fingerprint (`AB:CD:…`).
pub fn acceptor(config: &config::Config) -> Result<(tokio_rustls::TlsAcceptor, String), String> {
    let web = &config.web;
    let (cert_path, key_path) = match (&web.tls_cert, &web.tls_key) {
        (Some(cert), Some(key)) => (cert.as_path().to_owned(), key.as_path().to_owned()),
        (Some(_), None) | (None, Some(_)) => {
            return Err("keys `web.tls_cert` and `web.tls_key` go together: set both, or neither to have a certificate generated".into());
        }
        (None, None) => {
            let dir = config.paths.data_dir.join("web");
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !cert.exists() || !key.exists() {
                generate(config, &dir, &cert, &key)?;
            }
            (cert, key)
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("key `web.tls_cert`: {}: {e}", cert_path.display()))?;
    let first = certs.first().ok_or_else(|| {
        format!(
            "key `web.tls_cert`: {}: no certificate in it",
            cert_path.display()
        )
    })?;
    let fingerprint = fingerprint(first.as_ref());
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| format!("key `web.tls_key`: {}: {e}", key_path.display()))?;
    let mut server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("keys `web.tls_cert`/`web.tls_key`: {e}"))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((
        tokio_rustls::TlsAcceptor::from(Arc::new(server)),
        fingerprint,
    ))
}

/// `AB:CD:…`, the SHA-256 of the certificate as browsers show it.
pub fn fingerprint(der: &[u8]) -> String {
    let hex = store::sha256_hex(der).to_uppercase();
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

fn generate(config: &config::Config, dir: &Path, cert: &Path, key: &Path) -> Result<(), String> {
    let web = &config.web;
    let mut names = vec!["localhost".to_owned(), web.listen.ip().to_string()];
    if let Some(host) = web.public_url.as_ref().and_then(|u| u.host_str()) {
        names.push(host.to_owned());
    }
    names.dedup();
    let generated = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot generate the dashboard's certificate: {e}"))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |path: &Path, text: &str, mode: u32| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    write(key, &generated.signing_key.serialize_pem(), 0o600)?;
    write(cert, &generated.cert.pem(), 0o644)?;
    tracing::info!(path = %cert.display(), "generated the dashboard's TLS certificate");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn config(dir: &Path) -> config::Config {
        let mut config = config::Config::default();
        config.paths.data_dir = config::ConfigPath::new(dir);
        config.web.listen = "0.0.0.0:8480".parse().unwrap();
        config
    }

    #[test]
    fn off_the_mac_a_certificate_is_generated_once_with_a_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        assert!(config.web.tls(), "a listen address off loopback is TLS");
        let (_, first) = acceptor(&config).unwrap();
        assert_eq!(first.split(':').count(), 32, "{first}");
        let web = dir.path().join("web");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&web), 0o700);
        assert_eq!(mode(&web.join("key.pem")), 0o600);
        // Kept: the fingerprint a person checked stays the same across restarts.
        let (_, again) = acceptor(&config).unwrap();
        assert_eq!(first, again);
    }

    #[test]
    fn a_certificate_without_its_key_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        config.web.tls_cert = Some(config::ConfigPath::new(dir.path().join("cert.pem")));
        let e = acceptor(&config).err().unwrap();
        assert!(e.contains("web.tls_key"), "{e}");
        config.web.tls_key = Some(config::ConfigPath::new(dir.path().join("key.pem")));
        let e = acceptor(&config).err().unwrap();
        assert!(e.contains("web.tls_cert") && e.contains("cert.pem"), "{e}");
    }
}
