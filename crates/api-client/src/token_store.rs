//! Where OAuth tokens live between runs: the macOS Keychain where available, else a file
//! readable by the user only (0600), replaced atomically so a crash mid-write can never leave
//! half a token (a lost rotated refresh token locks the account out).

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The tokens of an authorization. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// When the access token expires, on the wall clock (not a monotonic clock, which stops
    /// while a Mac sleeps).
    pub expires_at: Timestamp,
    /// Set when a refresh answered `invalid_grant`: a person must authorize again. Kept in
    /// the store so a restarted daemon does not hammer the token endpoint either.
    #[serde(default)]
    pub needs_reauthorization: bool,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .field("needs_reauthorization", &self.needs_reauthorization)
            .finish()
    }
}

/// Persistent storage for a [`TokenSet`].
pub trait TokenStore: Send + Sync {
    fn load(&self) -> Result<Option<TokenSet>, ApiError>;
    /// Must be atomic: after a crash, either the old or the new set is there, whole.
    fn save(&self, tokens: &TokenSet) -> Result<(), ApiError>;
    fn clear(&self) -> Result<(), ApiError>;
    /// Where the tokens are, for `gazellectl doctor` and error messages.
    fn describe(&self) -> String;
}

/// Tokens in a JSON file, mode 0600, replaced by rename.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    pub fn new(path: impl Into<PathBuf>) -> FileTokenStore {
        FileTokenStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn setup_error(&self, what: &str, e: impl fmt::Display) -> ApiError {
        ApiError::Setup(format!("token file {}: {what}: {e}", self.path.display()))
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> Result<Option<TokenSet>, ApiError> {
        use std::os::unix::fs::PermissionsExt;
        let metadata = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.setup_error("cannot read", e)),
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ApiError::Setup(format!(
                "token file {} is readable by others (mode {mode:o}): run `chmod 600 {}`",
                self.path.display(),
                self.path.display()
            )));
        }
        let text =
            std::fs::read_to_string(&self.path).map_err(|e| self.setup_error("cannot read", e))?;
        serde_json::from_str(&text).map(Some).map_err(|e| {
            self.setup_error(
                "is not a token file (authorize again with `gazellectl auth login`)",
                e,
            )
        })
    }

    fn save(&self, tokens: &TokenSet) -> Result<(), ApiError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| self.setup_error("cannot create its directory", e))?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            self.path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("tokens"),
            std::process::id()
        ));
        let body =
            serde_json::to_vec_pretty(tokens).map_err(|e| self.setup_error("cannot encode", e))?;
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(&body)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            // The rename itself must reach the disk before the new token is used.
            std::fs::File::open(dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.setup_error("cannot write", e)
        })
    }

    fn clear(&self) -> Result<(), ApiError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.setup_error("cannot remove", e)),
        }
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

/// Tokens in the login Keychain as a generic password (service, account).
#[cfg(target_os = "macos")]
#[derive(Debug, Clone)]
pub struct KeychainTokenStore {
    service: String,
    account: String,
}

#[cfg(target_os = "macos")]
impl KeychainTokenStore {
    pub fn new(service: impl Into<String>, account: impl Into<String>) -> Self {
        KeychainTokenStore {
            service: service.into(),
            account: account.into(),
        }
    }
}

#[cfg(target_os = "macos")]
impl TokenStore for KeychainTokenStore {
    fn load(&self) -> Result<Option<TokenSet>, ApiError> {
        use security_framework::passwords::get_generic_password;
        match get_generic_password(&self.service, &self.account) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                ApiError::Setup(format!(
                    "Keychain item {}: unreadable tokens: {e}",
                    self.service
                ))
            }),
            // errSecItemNotFound
            Err(e) if e.code() == -25300 => Ok(None),
            Err(e) => Err(ApiError::Setup(format!(
                "Keychain item {}: {e}",
                self.service
            ))),
        }
    }

    fn save(&self, tokens: &TokenSet) -> Result<(), ApiError> {
        use security_framework::passwords::set_generic_password;
        let body = serde_json::to_vec(tokens).map_err(|e| ApiError::Setup(e.to_string()))?;
        // One Keychain call replaces the item: atomic from our side.
        set_generic_password(&self.service, &self.account, &body)
            .map_err(|e| ApiError::Setup(format!("Keychain item {}: {e}", self.service)))
    }

    fn clear(&self) -> Result<(), ApiError> {
        use security_framework::passwords::delete_generic_password;
        match delete_generic_password(&self.service, &self.account) {
            Ok(()) => Ok(()),
            Err(e) if e.code() == -25300 => Ok(()),
            Err(e) => Err(ApiError::Setup(format!(
                "Keychain item {}: {e}",
                self.service
            ))),
        }
    }

    fn describe(&self) -> String {
        format!("Keychain item \"{}\"", self.service)
    }
}

/// The platform's store: the Keychain on macOS, else the 0600 file.
pub fn platform_store(token_file: PathBuf) -> Box<dyn TokenStore> {
    #[cfg(target_os = "macos")]
    {
        let _ = token_file;
        Box::new(KeychainTokenStore::new(
            "Assistant Gazelle OAuth",
            "gazelled",
        ))
    }
    #[cfg(not(target_os = "macos"))]
    {
        Box::new(FileTokenStore::new(token_file))
    }
}
