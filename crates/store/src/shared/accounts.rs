//! [`crate::AccountStore`] for both backends: sessions, acknowledgements, requests.

/// Implements [`crate::AccountStore`] for a type with a `pool` field.
macro_rules! impl_account_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::AccountStore for $store {
            #[tracing::instrument(skip_all)]
            async fn insert_session(
                &self,
                token_hash: &[u8],
                person: $crate::PersonId,
                created_at_micros: i64,
                expires_at_micros: i64,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, person_id, created_at_micros, expires_at_micros) VALUES ($1, $2, $3, $4)",
                )
                .bind(token_hash)
                .bind(person)
                .bind(created_at_micros)
                .bind(expires_at_micros)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn session_person(&self, token_hash: &[u8], now_micros: i64) -> Result<Option<$crate::PersonId>, $crate::StoreError> {
                match self.point_reads() {
                    Some(reads) => reads.session_person(token_hash, now_micros),
                    None => Ok(sqlx::query_scalar($crate::shared::SQL_SESSION_PERSON)
                        .bind(token_hash)
                        .bind(now_micros)
                        .fetch_optional(&self.pool)
                        .await?),
                }
            }

            #[tracing::instrument(skip_all)]
            async fn delete_session(&self, token_hash: &[u8]) -> Result<(), $crate::StoreError> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn delete_expired_sessions(&self, now_micros: i64) -> Result<u64, $crate::StoreError> {
                Ok(sqlx::query("DELETE FROM sessions WHERE expires_at_micros <= $1")
                    .bind(now_micros)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            #[tracing::instrument(skip_all)]
            async fn delete_sessions_of(&self, person: $crate::PersonId) -> Result<u64, $crate::StoreError> {
                Ok(sqlx::query("DELETE FROM sessions WHERE person_id = $1")
                    .bind(person)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            #[tracing::instrument(skip_all)]
            async fn insert_acknowledgement(&self, person: $crate::PersonId, ack: &$crate::Acknowledgement) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO policy_acknowledgements (person_id, policy_version, acknowledged_at, how) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (person_id, policy_version) DO NOTHING",
                )
                .bind(person)
                .bind(&ack.policy_version)
                .bind(ack.acknowledged_at)
                .bind(&ack.how)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn acknowledgements(&self, person: $crate::PersonId) -> Result<Vec<$crate::Acknowledgement>, $crate::StoreError> {
                let rows: Vec<(String, chrono::DateTime<chrono::Utc>, String)> = sqlx::query_as(
                    "SELECT policy_version, acknowledged_at, how FROM policy_acknowledgements \
                     WHERE person_id = $1 ORDER BY acknowledged_at",
                )
                .bind(person)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(policy_version, acknowledged_at, how)| $crate::Acknowledgement {
                        policy_version,
                        acknowledged_at,
                        how,
                    })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn account_summary(&self, person: $crate::PersonId) -> Result<Option<$crate::AccountSummary>, $crate::StoreError> {
                let row: Option<(String, Option<String>)> = match self.point_reads() {
                    Some(reads) => reads.account_summary(person)?,
                    None => sqlx::query_as($crate::shared::SQL_ACCOUNT_SUMMARY)
                        .bind(person)
                        .fetch_optional(&self.pool)
                        .await?,
                };
                Ok(row.map(|(entity, policy_version)| $crate::AccountSummary { entity, policy_version }))
            }

            #[tracing::instrument(skip_all)]
            async fn insert_request(&self, r: &$crate::SubjectRequestRow) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO subject_requests (id, person_id, kind, channel, received_at, deadline_at, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(r.id)
                .bind(r.person_id)
                .bind(&r.kind)
                .bind(&r.channel)
                .bind(r.received_at)
                .bind(r.deadline_at)
                .bind(&r.status)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn suppress(&self, digest: &[u8], reason: &str, at_micros: i64) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO marketing_suppression (digest, reason, suppressed_at_micros) VALUES ($1, $2, $3) \
                     ON CONFLICT (digest) DO NOTHING",
                )
                .bind(digest)
                .bind(reason)
                .bind(at_micros)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn is_suppressed(&self, digest: &[u8]) -> Result<bool, $crate::StoreError> {
                let found: Option<i64> =
                    sqlx::query_scalar("SELECT suppressed_at_micros FROM marketing_suppression WHERE digest = $1")
                        .bind(digest)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(found.is_some())
            }

            #[tracing::instrument(skip_all)]
            async fn unsuppress(&self, digest: &[u8]) -> Result<bool, $crate::StoreError> {
                Ok(sqlx::query("DELETE FROM marketing_suppression WHERE digest = $1")
                    .bind(digest)
                    .execute(&self.pool)
                    .await?
                    .rows_affected()
                    > 0)
            }

            #[tracing::instrument(skip_all)]
            async fn set_request_status(&self, id: uuid::Uuid, status: &str) -> Result<(), $crate::StoreError> {
                sqlx::query("UPDATE subject_requests SET status = $1 WHERE id = $2")
                    .bind(status)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn requests_of(&self, person: $crate::PersonId) -> Result<Vec<$crate::SubjectRequestRow>, $crate::StoreError> {
                type Row = (
                    uuid::Uuid,
                    Option<uuid::Uuid>,
                    String,
                    String,
                    chrono::DateTime<chrono::Utc>,
                    chrono::DateTime<chrono::Utc>,
                    String,
                );
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT id, person_id, kind, channel, received_at, deadline_at, status \
                     FROM subject_requests WHERE person_id = $1 ORDER BY received_at",
                )
                .bind(person)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, person_id, kind, channel, received_at, deadline_at, status)| {
                        $crate::SubjectRequestRow {
                            id,
                            person_id,
                            kind,
                            channel,
                            received_at,
                            deadline_at,
                            status,
                        }
                    })
                    .collect())
            }
        }
    };
}

pub(crate) use impl_account_store;
