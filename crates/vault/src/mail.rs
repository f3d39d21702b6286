//! Mail (P11, P13): messages sealed in the outgoing queue under their recipient's key,
//! and the signed per-person tokens of unsubscribe links.
//!
//! Invariants: a queued message opens only while its recipient's key exists (an erased
//! recipient's mail is unreadable); an unsubscribe token names its person and carries
//! an HMAC under a keystore key (`mail:unsubscribe`), compared in constant time, so a
//! token cannot be forged or altered to name somebody else.

use crate::grant::Grant;
use crate::{Vault, VaultError};
use datavow_policy::Field;
use datavow_store::PersonId;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Name of the unsubscribe tokens' key in the keystore.
const UNSUBSCRIBE_KEY: &str = "mail:unsubscribe";

fn message_aad(person: PersonId, id: uuid::Uuid) -> Vec<u8> {
    let mut aad = b"datavow/mail/v1\0".to_vec();
    aad.extend_from_slice(person.as_bytes());
    aad.extend_from_slice(id.as_bytes());
    aad
}

impl Vault {
    /// Seals message `id` to `person` (its text holds their address and name) under
    /// their key. The grant must cover their contact data.
    pub async fn seal_message(
        &self,
        grant: &Grant,
        person: PersonId,
        id: uuid::Uuid,
        message: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        self.covered(grant, Field::Email)?;
        let key = self.key_for(grant, person).await?;
        Ok(key.encrypt(message, &message_aad(person, id)))
    }

    /// Opens a queued message; [`VaultError::Shredded`] or
    /// [`VaultError::NoSuchPerson`] once the recipient is erased.
    pub async fn open_message(
        &self,
        grant: &Grant,
        person: PersonId,
        id: uuid::Uuid,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        self.covered(grant, Field::Email)?;
        let key = self.key_for(grant, person).await?;
        key.decrypt(sealed, &message_aad(person, id))
            .map_err(|_| VaultError::Tampered(Field::Email))
    }

    /// The token of `person`'s unsubscribe links: their id and 128 bits of HMAC.
    pub async fn unsubscribe_token(&self, person: PersonId) -> Result<String, VaultError> {
        let key = self.named_key(UNSUBSCRIBE_KEY).await?;
        let mac = key.tag(person.as_bytes());
        Ok(format!("{}.{}", person.simple(), hex::encode(mac)))
    }

    /// The person an unsubscribe token names, if it is genuine.
    pub async fn unsubscribe_person(&self, token: &str) -> Result<Option<PersonId>, VaultError> {
        let Some((id, mac)) = token.split_once('.') else {
            return Ok(None);
        };
        let (Ok(person), Ok(mac)) = (uuid::Uuid::try_parse(id), hex::decode(mac)) else {
            return Ok(None);
        };
        let key = self.named_key(UNSUBSCRIBE_KEY).await?;
        let expected = key.tag(person.as_bytes());
        Ok(bool::from(expected.as_slice().ct_eq(&mac)).then_some(person))
    }
}
