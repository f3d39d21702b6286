//! Storage for published policy texts, notice dismissals and announcements (P16).
//! A text is stored once per version and language and never changed: publishing the
//! same version and language again with other content is refused, not overwritten.

use crate::{PersonId, StoreError};
use async_trait::async_trait;
use std::fmt;

/// One published policy text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTextRow {
    pub version: String,
    /// `en`, `de` or `da`.
    pub lang: String,
    pub effective_at_micros: i64,
    /// A material change: people see a notice and get a mail.
    pub material: bool,
    /// The text, in Markdown.
    pub body: String,
    pub published_at_micros: i64,
    /// Who published it (an audit actor, such as `owner:shell`).
    pub published_by: String,
}

/// What [`PolicyTextStore::publish_policy_text`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// Stored now.
    Stored,
    /// The same version, language, instant, materiality and text were already stored.
    AlreadyStored,
    /// This version and language are stored with other content; nothing changed.
    Conflicts,
}

/// A version without its texts: what pages and the dashboard's notice need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionRow {
    pub version: String,
    pub effective_at_micros: i64,
    pub material: bool,
    /// The languages it is published in, sorted.
    pub langs: Vec<String>,
}

/// Published texts, dismissals and announcements.
#[async_trait]
pub trait PolicyTextStore: Send + Sync + fmt::Debug {
    /// Stores a text unless its version and language are stored already.
    async fn publish_policy_text(&self, text: &PolicyTextRow) -> Result<Published, StoreError>;

    /// Every version, ordered by effective instant (then version).
    async fn policy_versions(&self) -> Result<Vec<PolicyVersionRow>, StoreError>;

    /// One text.
    async fn policy_text(
        &self,
        version: &str,
        lang: &str,
    ) -> Result<Option<PolicyTextRow>, StoreError>;

    /// Records that `person` dismissed the notice of `version` (once).
    async fn dismiss_policy_notice(
        &self,
        person: PersonId,
        version: &str,
        at_micros: i64,
    ) -> Result<(), StoreError>;

    /// The versions whose notice `person` dismissed, with when.
    async fn dismissed_policy_notices(
        &self,
        person: PersonId,
    ) -> Result<Vec<(String, i64)>, StoreError>;

    /// Records that the announcement of `version` was queued to `queued` people.
    async fn record_policy_announcement(
        &self,
        version: &str,
        at_micros: i64,
        queued: i64,
    ) -> Result<(), StoreError>;

    /// The versions announced so far.
    async fn policy_announcements(&self) -> Result<Vec<String>, StoreError>;
}

/// Implements [`PolicyTextStore`] for a type with a `pool` field.
macro_rules! impl_policy_text_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::PolicyTextStore for $store {
            #[tracing::instrument(skip_all)]
            async fn publish_policy_text(
                &self,
                t: &$crate::PolicyTextRow,
            ) -> Result<$crate::Published, $crate::StoreError> {
                let stored = sqlx::query(
                    "INSERT INTO policy_texts (version, lang, effective_at_micros, material, body, published_at_micros, published_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (version, lang) DO NOTHING",
                )
                .bind(&t.version)
                .bind(&t.lang)
                .bind(t.effective_at_micros)
                .bind(t.material)
                .bind(&t.body)
                .bind(t.published_at_micros)
                .bind(&t.published_by)
                .execute(&self.pool)
                .await?
                .rows_affected();
                if stored == 1 {
                    return Ok($crate::Published::Stored);
                }
                let existing = $crate::PolicyTextStore::policy_text(self, &t.version, &t.lang).await?;
                Ok(match existing {
                    Some(e)
                        if e.effective_at_micros == t.effective_at_micros
                            && e.material == t.material
                            && e.body == t.body =>
                    {
                        $crate::Published::AlreadyStored
                    }
                    _ => $crate::Published::Conflicts,
                })
            }

            #[tracing::instrument(skip_all)]
            async fn policy_versions(&self) -> Result<Vec<$crate::PolicyVersionRow>, $crate::StoreError> {
                let rows: Vec<(String, i64, bool, String)> = sqlx::query_as(
                    "SELECT version, effective_at_micros, material, lang FROM policy_texts \
                     ORDER BY effective_at_micros, version, lang",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut versions: Vec<$crate::PolicyVersionRow> = Vec::new();
                for (version, effective_at_micros, material, lang) in rows {
                    match versions.last_mut() {
                        Some(last) if last.version == version => last.langs.push(lang),
                        _ => versions.push($crate::PolicyVersionRow {
                            version,
                            effective_at_micros,
                            material,
                            langs: vec![lang],
                        }),
                    }
                }
                Ok(versions)
            }

            #[tracing::instrument(skip_all)]
            async fn policy_text(
                &self,
                version: &str,
                lang: &str,
            ) -> Result<Option<$crate::PolicyTextRow>, $crate::StoreError> {
                let row: Option<(String, String, i64, bool, String, i64, String)> = sqlx::query_as(
                    "SELECT version, lang, effective_at_micros, material, body, published_at_micros, published_by \
                     FROM policy_texts WHERE version = $1 AND lang = $2",
                )
                .bind(version)
                .bind(lang)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(
                    |(version, lang, effective_at_micros, material, body, published_at_micros, published_by)| {
                        $crate::PolicyTextRow {
                            version,
                            lang,
                            effective_at_micros,
                            material,
                            body,
                            published_at_micros,
                            published_by,
                        }
                    },
                ))
            }

            #[tracing::instrument(skip_all)]
            async fn dismiss_policy_notice(
                &self,
                person: $crate::PersonId,
                version: &str,
                at_micros: i64,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO policy_notice_dismissals (person_id, policy_version, dismissed_at_micros) \
                     VALUES ($1, $2, $3) ON CONFLICT (person_id, policy_version) DO NOTHING",
                )
                .bind(person)
                .bind(version)
                .bind(at_micros)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn dismissed_policy_notices(
                &self,
                person: $crate::PersonId,
            ) -> Result<Vec<(String, i64)>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT policy_version, dismissed_at_micros FROM policy_notice_dismissals \
                     WHERE person_id = $1 ORDER BY dismissed_at_micros",
                )
                .bind(person)
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn record_policy_announcement(
                &self,
                version: &str,
                at_micros: i64,
                queued: i64,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO policy_announcements (policy_version, announced_at_micros, queued) \
                     VALUES ($1, $2, $3) ON CONFLICT (policy_version) DO NOTHING",
                )
                .bind(version)
                .bind(at_micros)
                .bind(queued)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn policy_announcements(&self) -> Result<Vec<String>, $crate::StoreError> {
                Ok(sqlx::query_scalar("SELECT policy_version FROM policy_announcements ORDER BY policy_version")
                    .fetch_all(&self.pool)
                    .await?)
            }
        }
    };
}
pub(crate) use impl_policy_text_store;
