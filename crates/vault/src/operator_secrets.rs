//! Operators' second-factor secrets (the console's TOTP), sealed under a keystore key
//! (`operators:second-factor`) and bound to the operator's name, so the data store
//! alone yields no usable secret and a sealed secret moved to another operator does
//! not open.

use crate::{Vault, VaultError};
use zeroize::Zeroizing;

/// Name of the key in the keystore.
const SECOND_FACTOR_KEY: &str = "operators:second-factor";

fn label(operator: &str) -> Vec<u8> {
    let mut label = b"datavow/operator-totp/v1\0".to_vec();
    label.extend_from_slice(operator.as_bytes());
    label
}

impl Vault {
    /// Seals `operator`'s TOTP secret for storage.
    pub async fn seal_operator_secret(
        &self,
        operator: &str,
        secret: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let key = self.named_key(SECOND_FACTOR_KEY).await?;
        Ok(key.seal(&label(operator), secret))
    }

    /// Opens what [`Vault::seal_operator_secret`] sealed for the same operator.
    pub async fn open_operator_secret(
        &self,
        operator: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let key = self.named_key(SECOND_FACTOR_KEY).await?;
        key.open(&label(operator), sealed)
            .map_err(|_| VaultError::KeyTampered(SECOND_FACTOR_KEY.to_owned()))
    }
}
