//! Where the master key (key-encryption key) comes from, and how it is rotated.
//!
//! Order: the file named by `DATAVOW_MASTER_KEY_FILE` (or `master_key_file` in the
//! configuration); else `DIR/master.key`, created once with mode 0600 and a warning
//! that production keeps the key elsewhere. The key never enters a database.
//!
//! Rotation of the default key file is crash-safe: the new key is written to
//! `DIR/master.key.next` first, the keystore is re-wrapped in one transaction, then the
//! file is renamed over `master.key`. If the process dies between the commit and the
//! rename, the next start finds the keystore wrapped under `master.key.next` and
//! finishes the rename.

use datavow_store::Stores;
use datavow_vault::{MasterKey, MasterKeyError, Vault, VaultError};
use std::path::{Path, PathBuf};

/// Name of the default master key file inside the data directory.
pub const DEFAULT_FILE: &str = "master.key";
const NEXT_FILE: &str = "master.key.next";

/// Where the master key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A file the operator named (`DATAVOW_MASTER_KEY_FILE`).
    Explicit(PathBuf),
    /// `DIR/master.key`.
    DataDir(PathBuf),
}

impl KeySource {
    pub fn path(&self) -> &Path {
        match self {
            KeySource::Explicit(p) | KeySource::DataDir(p) => p,
        }
    }
}

/// Picks the key source from the configuration.
pub fn source(explicit: Option<&Path>, data_dir: &Path) -> KeySource {
    match explicit {
        Some(path) => KeySource::Explicit(path.to_owned()),
        None => KeySource::DataDir(data_dir.join(DEFAULT_FILE)),
    }
}

/// Loads the master key; creates the default file if it is the source and missing.
pub fn load(source: &KeySource) -> Result<MasterKey, MasterKeyError> {
    match source {
        KeySource::Explicit(path) => MasterKey::load(path),
        KeySource::DataDir(path) => {
            if let Some(dir) = path.parent() {
                create_private_dir(dir).map_err(|e| MasterKeyError::Create {
                    path: dir.display().to_string(),
                    reason: e.to_string(),
                })?;
            }
            let (key, created) = MasterKey::load_or_create(path)?;
            if created {
                tracing::warn!(
                    path = %path.display(),
                    "created a new master key inside the data directory; in production keep the \
                     master key elsewhere (DATAVOW_MASTER_KEY_FILE), give every node sharing a \
                     PostgreSQL database the same key, and back it up apart from the data"
                );
            }
            Ok(key)
        }
    }
}

/// If the keystore refuses `key` and an interrupted rotation left `master.key.next`
/// that the keystore accepts, finishes that rotation and returns the new key.
pub fn recover_interrupted_rotation(
    source: &KeySource,
    keystore_kek_id: &str,
) -> Option<MasterKey> {
    let KeySource::DataDir(path) = source else {
        return None;
    };
    let next = path.with_file_name(NEXT_FILE);
    let key = MasterKey::load(&next).ok()?;
    if key.id() != keystore_kek_id {
        return None;
    }
    std::fs::rename(&next, path).ok()?;
    tracing::warn!(path = %path.display(), "finished an interrupted master key rotation");
    Some(key)
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotation {
    pub keys_rewrapped: u64,
    pub new_key_file: PathBuf,
    /// The operator must point `DATAVOW_MASTER_KEY_FILE` at the new file.
    pub reconfigure: bool,
}

/// Why a rotation failed.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("the master key comes from {0}, outside the data directory: name the new key file with --new-key-file")]
    NeedNewKeyFile(String),
    #[error("the new key file is the current one; name a different file")]
    SameFile,
    #[error("the new master key is the current one")]
    SameKey,
    #[error(transparent)]
    Key(#[from] MasterKeyError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("the audit log could not record the rotation: {0}")]
    Store(datavow_store::StoreError),
    #[error("re-wrapped the keystore but could not move {from} to {to}: {reason}; move it by hand before the next start")]
    Rename {
        from: String,
        to: String,
        reason: String,
    },
}

/// Re-wraps every key in the keystore under a new master key. With no `new_file` and
/// the default key source, the new key replaces `DIR/master.key`; otherwise the new
/// key is written to (or read from) `new_file`.
pub async fn rotate(
    stores: &Stores,
    source: &KeySource,
    current: &MasterKey,
    new_file: Option<&Path>,
) -> Result<Rotation, RotateError> {
    match (source, new_file) {
        (_, Some(file)) => {
            if file == source.path() {
                return Err(RotateError::SameFile);
            }
            let (new, _) = MasterKey::load_or_create(file)?;
            if new.id() == current.id() {
                return Err(RotateError::SameKey);
            }
            let keys_rewrapped = Vault::rotate_master_key(stores, current, &new).await?;
            Ok(Rotation {
                keys_rewrapped,
                new_key_file: file.to_owned(),
                reconfigure: true,
            })
        }
        (KeySource::DataDir(path), None) => {
            let next = path.with_file_name(NEXT_FILE);
            if next.exists() {
                // A rotation that failed before its commit left this; it was never used.
                std::fs::remove_file(&next).map_err(|e| MasterKeyError::Create {
                    path: next.display().to_string(),
                    reason: e.to_string(),
                })?;
            }
            let new = MasterKey::create(&next)?;
            let keys_rewrapped = Vault::rotate_master_key(stores, current, &new).await?;
            std::fs::rename(&next, path).map_err(|e| RotateError::Rename {
                from: next.display().to_string(),
                to: path.display().to_string(),
                reason: e.to_string(),
            })?;
            Ok(Rotation {
                keys_rewrapped,
                new_key_file: path.clone(),
                reconfigure: false,
            })
        }
        (KeySource::Explicit(path), None) => {
            Err(RotateError::NeedNewKeyFile(path.display().to_string()))
        }
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
