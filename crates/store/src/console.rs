//! Storage for the operator console: second factors, recovery codes, console sessions,
//! the last run of each reported operation, and the open data-subject requests.
//!
//! Invariants: a TOTP step is accepted at most once per operator (the step only moves
//! forward, in one conditional `UPDATE`); a recovery code is deleted as it is used, so
//! two sign-ins cannot spend the same code; clearing an operator's second factor ends
//! every console session of theirs in the same transaction.

use crate::{StoreError, SubjectRequestRow};
use async_trait::async_trait;
use std::fmt;

/// An operator's enrolled TOTP factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactorRow {
    /// The secret, sealed by the vault; never stored in the clear.
    pub sealed_secret: Vec<u8>,
    /// The last time step a code was accepted for.
    pub last_step: i64,
    pub enrolled_at_micros: i64,
}

/// A console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSessionRow {
    pub operator: String,
    /// `second_factor`, `enrol` or `signed_in`.
    pub stage: String,
    /// A TOTP secret being enrolled, sealed; shown once, kept until confirmed.
    pub pending_secret: Option<Vec<u8>>,
    pub created_at_micros: i64,
    pub last_seen_micros: i64,
    /// The absolute end of the session.
    pub expires_at_micros: i64,
}

/// The last run of an operation (`audit-verify`, `ingest:file`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub kind: String,
    pub at_micros: i64,
    pub ok: bool,
    /// A summary without personal data.
    pub detail: String,
}

/// The console's storage.
#[async_trait]
pub trait ConsoleStore: Send + Sync + fmt::Debug {
    /// The operator's enrolled factor, if any.
    async fn second_factor(&self, operator: &str) -> Result<Option<SecondFactorRow>, StoreError>;

    /// Enrols (or replaces) the operator's factor and their recovery codes at once.
    async fn enrol_second_factor(
        &self,
        operator: &str,
        factor: &SecondFactorRow,
        recovery_code_hashes: &[Vec<u8>],
    ) -> Result<(), StoreError>;

    /// Removes the operator's factor and recovery codes and ends their console
    /// sessions. Returns whether a factor was enrolled.
    async fn clear_second_factor(&self, operator: &str) -> Result<bool, StoreError>;

    /// Records that a code of `step` was accepted, if `step` is later than every step
    /// accepted before; `false` means the code was already used (a replay).
    async fn advance_totp_step(&self, operator: &str, step: i64) -> Result<bool, StoreError>;

    /// Spends a recovery code; `false` if it is not one of the operator's unused codes.
    async fn use_recovery_code(&self, operator: &str, code_hash: &[u8])
        -> Result<bool, StoreError>;

    /// How many unused recovery codes the operator has.
    async fn recovery_codes_left(&self, operator: &str) -> Result<i64, StoreError>;

    async fn insert_operator_session(
        &self,
        token_hash: &[u8],
        session: &OperatorSessionRow,
    ) -> Result<(), StoreError>;

    async fn operator_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<OperatorSessionRow>, StoreError>;

    /// Records activity on a session (for the idle time-out).
    async fn touch_operator_session(
        &self,
        token_hash: &[u8],
        at_micros: i64,
    ) -> Result<(), StoreError>;

    /// Sets or clears the secret being enrolled in a session.
    async fn set_pending_secret(
        &self,
        token_hash: &[u8],
        sealed: Option<&[u8]>,
    ) -> Result<(), StoreError>;

    async fn delete_operator_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;

    /// Ends every console session of an operator; returns how many there were.
    async fn delete_operator_sessions(&self, operator: &str) -> Result<u64, StoreError>;

    /// Records the last run of `run.kind`, replacing the one before.
    async fn record_run(&self, run: &LastRun) -> Result<(), StoreError>;

    /// The last run of every kind recorded, by kind.
    async fn last_runs(&self) -> Result<Vec<LastRun>, StoreError>;

    /// Requests not completed or refused, the earliest deadline first.
    async fn open_requests(&self) -> Result<Vec<SubjectRequestRow>, StoreError>;

    /// One request by id.
    async fn request(&self, id: uuid::Uuid) -> Result<Option<SubjectRequestRow>, StoreError>;

    /// Moves an open request's deadline and marks it `extended`; `false` if it is not
    /// open.
    async fn extend_request(
        &self,
        id: uuid::Uuid,
        deadline_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError>;
}

pub(crate) type RequestTuple = (
    uuid::Uuid,
    Option<uuid::Uuid>,
    String,
    String,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
    String,
);

pub(crate) fn request_row(
    (id, person_id, kind, channel, received_at, deadline_at, status): RequestTuple,
) -> SubjectRequestRow {
    SubjectRequestRow {
        id,
        person_id,
        kind,
        channel,
        received_at,
        deadline_at,
        status,
    }
}

/// Implements [`ConsoleStore`] for a type with a `pool` field.
macro_rules! impl_console_store {
    ($store:ty) => {
        type RequestTuple = $crate::console::RequestTuple;

        #[async_trait::async_trait]
        impl $crate::ConsoleStore for $store {
            #[tracing::instrument(skip_all)]
            async fn second_factor(
                &self,
                operator: &str,
            ) -> Result<Option<$crate::SecondFactorRow>, $crate::StoreError> {
                let row: Option<(Vec<u8>, i64, i64)> = sqlx::query_as(
                    "SELECT sealed_secret, last_step, enrolled_at_micros FROM operator_second_factors WHERE operator = $1",
                )
                .bind(operator)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(sealed_secret, last_step, enrolled_at_micros)| $crate::SecondFactorRow {
                    sealed_secret,
                    last_step,
                    enrolled_at_micros,
                }))
            }

            #[tracing::instrument(skip_all)]
            async fn enrol_second_factor(
                &self,
                operator: &str,
                factor: &$crate::SecondFactorRow,
                recovery_code_hashes: &[Vec<u8>],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO operator_second_factors (operator, sealed_secret, last_step, enrolled_at_micros) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (operator) DO UPDATE SET \
                     sealed_secret = excluded.sealed_secret, last_step = excluded.last_step, \
                     enrolled_at_micros = excluded.enrolled_at_micros",
                )
                .bind(operator)
                .bind(&factor.sealed_secret)
                .bind(factor.last_step)
                .bind(factor.enrolled_at_micros)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM operator_recovery_codes WHERE operator = $1")
                    .bind(operator)
                    .execute(&mut *tx)
                    .await?;
                for hash in recovery_code_hashes {
                    sqlx::query("INSERT INTO operator_recovery_codes (operator, code_hash) VALUES ($1, $2)")
                        .bind(operator)
                        .bind(hash)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn clear_second_factor(&self, operator: &str) -> Result<bool, $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                let removed = sqlx::query("DELETE FROM operator_second_factors WHERE operator = $1")
                    .bind(operator)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                for sql in [
                    "DELETE FROM operator_recovery_codes WHERE operator = $1",
                    "DELETE FROM operator_sessions WHERE operator = $1",
                ] {
                    sqlx::query(sql).bind(operator).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(removed > 0)
            }

            #[tracing::instrument(skip_all)]
            async fn advance_totp_step(&self, operator: &str, step: i64) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE operator_second_factors SET last_step = $1 WHERE operator = $2 AND last_step < $1",
                )
                .bind(step)
                .bind(operator)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(skip_all)]
            async fn use_recovery_code(&self, operator: &str, code_hash: &[u8]) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "DELETE FROM operator_recovery_codes WHERE operator = $1 AND code_hash = $2",
                )
                .bind(operator)
                .bind(code_hash)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(skip_all)]
            async fn recovery_codes_left(&self, operator: &str) -> Result<i64, $crate::StoreError> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM operator_recovery_codes WHERE operator = $1")
                    .bind(operator)
                    .fetch_one(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn insert_operator_session(
                &self,
                token_hash: &[u8],
                s: &$crate::OperatorSessionRow,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO operator_sessions (token_hash, operator, stage, pending_secret, created_at_micros, last_seen_micros, expires_at_micros) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(token_hash)
                .bind(&s.operator)
                .bind(&s.stage)
                .bind(&s.pending_secret)
                .bind(s.created_at_micros)
                .bind(s.last_seen_micros)
                .bind(s.expires_at_micros)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn operator_session(
                &self,
                token_hash: &[u8],
            ) -> Result<Option<$crate::OperatorSessionRow>, $crate::StoreError> {
                let row: Option<(String, String, Option<Vec<u8>>, i64, i64, i64)> = sqlx::query_as(
                    "SELECT operator, stage, pending_secret, created_at_micros, last_seen_micros, expires_at_micros \
                     FROM operator_sessions WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(
                    |(operator, stage, pending_secret, created_at_micros, last_seen_micros, expires_at_micros)| {
                        $crate::OperatorSessionRow {
                            operator,
                            stage,
                            pending_secret,
                            created_at_micros,
                            last_seen_micros,
                            expires_at_micros,
                        }
                    },
                ))
            }

            #[tracing::instrument(skip_all)]
            async fn touch_operator_session(&self, token_hash: &[u8], at_micros: i64) -> Result<(), $crate::StoreError> {
                sqlx::query("UPDATE operator_sessions SET last_seen_micros = $1 WHERE token_hash = $2")
                    .bind(at_micros)
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn set_pending_secret(&self, token_hash: &[u8], sealed: Option<&[u8]>) -> Result<(), $crate::StoreError> {
                sqlx::query("UPDATE operator_sessions SET pending_secret = $1 WHERE token_hash = $2")
                    .bind(sealed)
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn delete_operator_session(&self, token_hash: &[u8]) -> Result<(), $crate::StoreError> {
                sqlx::query("DELETE FROM operator_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn delete_operator_sessions(&self, operator: &str) -> Result<u64, $crate::StoreError> {
                Ok(sqlx::query("DELETE FROM operator_sessions WHERE operator = $1")
                    .bind(operator)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            #[tracing::instrument(skip_all)]
            async fn record_run(&self, run: &$crate::LastRun) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO last_runs (kind, at_micros, ok, detail) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (kind) DO UPDATE SET at_micros = excluded.at_micros, ok = excluded.ok, detail = excluded.detail",
                )
                .bind(&run.kind)
                .bind(run.at_micros)
                .bind(run.ok)
                .bind(&run.detail)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn last_runs(&self) -> Result<Vec<$crate::LastRun>, $crate::StoreError> {
                let rows: Vec<(String, i64, bool, String)> =
                    sqlx::query_as("SELECT kind, at_micros, ok, detail FROM last_runs ORDER BY kind")
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(|(kind, at_micros, ok, detail)| $crate::LastRun { kind, at_micros, ok, detail })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn open_requests(&self) -> Result<Vec<$crate::SubjectRequestRow>, $crate::StoreError> {
                let rows: Vec<RequestTuple> = sqlx::query_as(
                    "SELECT id, person_id, kind, channel, received_at, deadline_at, status \
                     FROM subject_requests WHERE status NOT IN ('completed', 'refused')",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut rows: Vec<$crate::SubjectRequestRow> = rows.into_iter().map($crate::console::request_row).collect();
                rows.sort_by_key(|r| r.deadline_at);
                Ok(rows)
            }

            #[tracing::instrument(skip_all)]
            async fn request(&self, id: uuid::Uuid) -> Result<Option<$crate::SubjectRequestRow>, $crate::StoreError> {
                let row: Option<RequestTuple> = sqlx::query_as(
                    "SELECT id, person_id, kind, channel, received_at, deadline_at, status \
                     FROM subject_requests WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map($crate::console::request_row))
            }

            #[tracing::instrument(skip_all)]
            async fn extend_request(
                &self,
                id: uuid::Uuid,
                deadline_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE subject_requests SET deadline_at = $1, status = 'extended' \
                     WHERE id = $2 AND status NOT IN ('completed', 'refused')",
                )
                .bind(deadline_at)
                .bind(id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
pub(crate) use impl_console_store;
