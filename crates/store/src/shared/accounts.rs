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
            async fn session(&self, token_hash: &[u8], now_micros: i64) -> Result<Option<$crate::SessionRow>, $crate::StoreError> {
                let row = self.hot_reads().session(token_hash, now_micros).await?;
                Ok(row.map(|(person, own_reads_day)| $crate::SessionRow { person, own_reads_day }))
            }

            #[tracing::instrument(skip_all)]
            async fn mark_own_reads_recorded(&self, token_hash: &[u8], day: i64) -> Result<(), $crate::StoreError> {
                sqlx::query("UPDATE sessions SET own_reads_day = $1 WHERE token_hash = $2")
                    .bind(day)
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
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
                let row = self.hot_reads().account_summary(person).await?;
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
            async fn enqueue_mail(&self, m: &$crate::QueuedMail) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO mail_queue (id, person_id, kind, sealed, status, attempts, next_attempt_micros, last_error, created_at_micros) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(m.id)
                .bind(m.person)
                .bind(&m.kind)
                .bind(&m.sealed)
                .bind(&m.status)
                .bind(m.attempts)
                .bind(m.next_attempt_micros)
                .bind(&m.last_error)
                .bind(m.created_at_micros)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn due_mail(&self, now_micros: i64, limit: i64) -> Result<Vec<$crate::QueuedMail>, $crate::StoreError> {
                let rows: Vec<$crate::shared::MailTuple> = sqlx::query_as(
                    "SELECT id, person_id, kind, sealed, status, attempts, next_attempt_micros, last_error, created_at_micros \
                     FROM mail_queue WHERE status = 'queued' AND next_attempt_micros <= $1 \
                     ORDER BY next_attempt_micros, created_at_micros LIMIT $2",
                )
                .bind(now_micros)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::shared::queued_mail).collect())
            }

            #[tracing::instrument(skip_all)]
            async fn mail_sent(&self, id: uuid::Uuid, at_micros: i64) -> Result<(), $crate::StoreError> {
                // The content is not kept once the SMTP server has it.
                sqlx::query("UPDATE mail_queue SET status = 'sent', sent_at_micros = $1, sealed = $2 WHERE id = $3")
                    .bind(at_micros)
                    .bind(Vec::<u8>::new())
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn mail_failed(
                &self,
                id: uuid::Uuid,
                next_attempt_micros: i64,
                error: &str,
                dead: bool,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "UPDATE mail_queue SET attempts = attempts + 1, next_attempt_micros = $1, last_error = $2, \
                     status = $3 WHERE id = $4",
                )
                .bind(next_attempt_micros)
                .bind(error)
                .bind(if dead { "dead" } else { "queued" })
                .bind(id)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn dead_mail(&self, limit: i64) -> Result<Vec<$crate::QueuedMail>, $crate::StoreError> {
                let rows: Vec<$crate::shared::MailTuple> = sqlx::query_as(
                    "SELECT id, person_id, kind, sealed, status, attempts, next_attempt_micros, last_error, created_at_micros \
                     FROM mail_queue WHERE status = 'dead' ORDER BY created_at_micros DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::shared::queued_mail).collect())
            }

            #[tracing::instrument(skip_all)]
            async fn insert_recovery_token(
                &self,
                token_hash: &[u8],
                person: $crate::PersonId,
                expires_at_micros: i64,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO recovery_tokens (token_hash, person_id, expires_at_micros, used) VALUES ($1, $2, $3, FALSE)",
                )
                .bind(token_hash)
                .bind(person)
                .bind(expires_at_micros)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn recovery_token(
                &self,
                token_hash: &[u8],
                now_micros: i64,
                consume: bool,
            ) -> Result<Option<$crate::PersonId>, $crate::StoreError> {
                let sql = if consume {
                    "UPDATE recovery_tokens SET used = TRUE \
                     WHERE token_hash = $1 AND used = FALSE AND expires_at_micros > $2 RETURNING person_id"
                } else {
                    "SELECT person_id FROM recovery_tokens \
                     WHERE token_hash = $1 AND used = FALSE AND expires_at_micros > $2"
                };
                Ok(sqlx::query_scalar(sql)
                    .bind(token_hash)
                    .bind(now_micros)
                    .fetch_optional(&self.pool)
                    .await?)
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

            #[tracing::instrument(skip_all)]
            async fn insert_signup_replay(&self, replay: &$crate::SignupReplay) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO signup_replays (key_digest, request_digest, sealed, created_at_micros) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (key_digest) DO NOTHING",
                )
                .bind(&replay.key_digest)
                .bind(&replay.request_digest)
                .bind(&replay.sealed)
                .bind(replay.created_at_micros)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(skip_all)]
            async fn signup_replay(&self, key_digest: &[u8]) -> Result<Option<$crate::SignupReplay>, $crate::StoreError> {
                let row: Option<(Vec<u8>, Vec<u8>, i64)> = sqlx::query_as(
                    "SELECT request_digest, sealed, created_at_micros FROM signup_replays WHERE key_digest = $1",
                )
                .bind(key_digest)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(request_digest, sealed, created_at_micros)| $crate::SignupReplay {
                    key_digest: key_digest.to_vec(),
                    request_digest,
                    sealed,
                    created_at_micros,
                }))
            }

            #[tracing::instrument(skip_all)]
            async fn delete_signup_replays_before(&self, micros: i64) -> Result<u64, $crate::StoreError> {
                Ok(sqlx::query("DELETE FROM signup_replays WHERE created_at_micros < $1")
                    .bind(micros)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }
        }
    };
}

pub(crate) use impl_account_store;
