//! The key-encryption key (master key): read from a file named by
//! `DATAVOW_MASTER_KEY_FILE`, or created once as `DIR/master.key` with mode 0600.
//! Never stored in a database. The file holds 64 hexadecimal characters.

use crate::cipher::{SymmetricKey, KEY_LEN};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use zeroize::Zeroizing;

/// Why a master key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("master key file {path} does not exist; set DATAVOW_MASTER_KEY_FILE to the file that holds the key")]
    Missing { path: String },
    #[error("cannot read master key file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("master key file {path} must hold exactly 64 hexadecimal characters (a 256-bit key)")]
    Malformed { path: String },
    #[error("cannot create master key file {path}: {reason}")]
    Create { path: String, reason: String },
}

/// The key-encryption key. Wraps every data key; never printable.
#[derive(Clone, Debug)]
pub struct MasterKey(SymmetricKey);

impl MasterKey {
    /// A fresh random master key.
    pub fn generate() -> Self {
        MasterKey(SymmetricKey::generate())
    }

    /// Reads a master key file.
    pub fn load(path: &Path) -> Result<Self, MasterKeyError> {
        let shown = path.display().to_string();
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => MasterKeyError::Missing {
                path: shown.clone(),
            },
            _ => MasterKeyError::Unreadable {
                path: shown.clone(),
                reason: e.to_string(),
            },
        })?);
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %shown, "master key file is readable by other users; chmod 600 it");
            }
        }
        let hex_text = text.trim();
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if hex_text.len() != KEY_LEN * 2 || hex::decode_to_slice(hex_text, bytes.as_mut()).is_err()
        {
            return Err(MasterKeyError::Malformed { path: shown });
        }
        SymmetricKey::from_bytes(bytes.as_ref())
            .map(MasterKey)
            .ok_or(MasterKeyError::Malformed { path: shown })
    }

    /// Creates a new key file at `path` (mode 0600; refuses to overwrite) and returns
    /// its key.
    pub fn create(path: &Path) -> Result<Self, MasterKeyError> {
        let err = |e: std::io::Error| MasterKeyError::Create {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let key = MasterKey::generate();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(err)?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(key.0.expose())));
        file.write_all(text.as_bytes()).map_err(err)?;
        file.sync_all().map_err(err)?;
        Ok(key)
    }

    /// Loads `path` if it exists, else creates it. Returns the key and whether it was
    /// created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), MasterKeyError> {
        match MasterKey::load(path) {
            Ok(key) => Ok((key, false)),
            Err(MasterKeyError::Missing { .. }) => Ok((MasterKey::create(path)?, true)),
            Err(e) => Err(e),
        }
    }

    /// A public fingerprint of this key, recorded in the keystore so that a wrong key
    /// is refused with a clear message instead of failing on every read.
    pub fn id(&self) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"datavow/kek-id/v1");
        hex::encode(&mac.finalize().into_bytes()[..8])
    }

    pub(crate) fn key(&self) -> &SymmetricKey {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_file_is_private_and_loads_back_as_the_same_key() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("master.key");
        let (created, was_new) = MasterKey::load_or_create(&path).expect("create");
        assert!(was_new);
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (loaded, was_new) = MasterKey::load_or_create(&path).expect("load");
        assert!(!was_new);
        assert_eq!(created.id(), loaded.id());
        assert!(
            MasterKey::create(&path).is_err(),
            "never overwrites a key file"
        );
    }

    #[test]
    fn a_malformed_key_file_is_refused_with_its_path_and_without_its_content() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("bad.key");
        std::fs::write(&path, "deadbeef-not-a-key").expect("write");
        let err = MasterKey::load(&path).expect_err("malformed");
        let msg = err.to_string();
        assert!(
            msg.contains("bad.key") && msg.contains("64 hexadecimal"),
            "{msg}"
        );
        assert!(!msg.contains("deadbeef"), "{msg}");
    }

    #[test]
    fn a_missing_key_file_names_the_environment_variable() {
        let err = MasterKey::load(Path::new("/nonexistent/master.key")).expect_err("missing");
        assert!(err.to_string().contains("DATAVOW_MASTER_KEY_FILE"), "{err}");
    }
}
