//! SQL shared by both backends. The statements are written once in the dialect both
//! SQLite and PostgreSQL accept (`$N` placeholders, `ON CONFLICT`; a statement built at
//! run time takes its placeholders from the backend's `param`), and a macro
//! implements the traits for each backend's pool type. Backend differences (locks,
//! compaction, connection set-up) stay in `sqlite.rs` and `postgres.rs`.

use crate::StoreError;
use datavow_policy::Field;

pub(crate) fn parse_field(name: &str) -> Result<Field, StoreError> {
    Field::parse(name).ok_or_else(|| StoreError::Corrupt(format!("unknown field name `{name}`")))
}

/// Audit entries per `INSERT` statement on PostgreSQL (11 parameters each); SQLite
/// inserts them one by one with a cached statement (`sqlite_audit`).
pub(crate) const AUDIT_ROWS_PER_INSERT: usize = 64;

/// The audit chain's statements. SQLite runs them through [`crate::sqlite_audit`],
/// PostgreSQL through sqlx below.
pub(crate) const SQL_AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";
pub(crate) const SQL_AUDIT_MOVE_HEAD: &str =
    "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";
macro_rules! audit_insert {
    () => {
        "INSERT INTO audit_log (seq, at_micros, actor, action, purpose, subject, fields, outcome, detail, prev_hash, hash) VALUES"
    };
}
pub(crate) const SQL_AUDIT_INSERT_PREFIX: &str = audit_insert!();
pub(crate) const SQL_AUDIT_INSERT_ONE: &str = concat!(
    audit_insert!(),
    " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);
/// A page of the chain in order: `(after, limit)`; columns as [`AuditRow`].
pub(crate) const SQL_AUDIT_ENTRIES_AFTER: &str =
    "SELECT seq, at_micros, actor, action, purpose, subject, fields, outcome, detail, prev_hash, hash \
     FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";
pub(crate) const SQL_AUDIT_CHECKPOINT: &str =
    "INSERT INTO audit_checkpoints (seq, hash, at_micros, key_id, signature) VALUES ($1, $2, $3, $4, $5)";

/// Digests per query of `find_many_by_index`.
pub(crate) const FIND_MANY_BATCH: usize = 1000;

/// Statements that SQLite also runs through [`crate::sqlite_reads`]; their `$N`
/// appear in order, so SQLite numbers them as rusqlite binds them.
pub(crate) const SQL_SESSION_PERSON: &str =
    "SELECT person_id FROM sessions WHERE token_hash = $1 AND expires_at_micros > $2";
pub(crate) const SQL_ACCOUNT_SUMMARY: &str =
    "SELECT p.entity, (SELECT a.policy_version FROM policy_acknowledgements a \
     WHERE a.person_id = p.id ORDER BY a.acknowledged_at DESC LIMIT 1) \
     FROM persons p WHERE p.id = $1";
pub(crate) const SQL_SEALED_FIELDS: &str =
    "SELECT field, ciphertext FROM person_fields WHERE person_id = $1 ORDER BY field";
pub(crate) const SQL_PERSON_KEY: &str = "SELECT wrapped FROM person_keys WHERE person_id = $1";

/// Implements [`crate::PersonStore`] for a type with a `pool` field.
macro_rules! impl_person_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::PersonStore for $store {
            #[tracing::instrument(skip_all)]
            async fn insert_person(
                &self,
                person: &$crate::PersonRow,
                fields: &[$crate::SealedField],
                index: &[$crate::IndexEntry],
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("INSERT INTO persons (id, entity, created_at, kind) VALUES ($1, $2, $3, $4)")
                    .bind(person.id)
                    .bind(&person.entity)
                    .bind(person.created_at)
                    .bind(person.kind.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::StoreError::from_insert(e, "person id"))?;
                for field in fields {
                    sqlx::query(
                        "INSERT INTO person_fields (person_id, field, ciphertext, updated_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(person.id)
                    .bind(field.field.as_str())
                    .bind(&field.ciphertext)
                    .bind(person.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::StoreError::from_insert(e, "field"))?;
                }
                for entry in index {
                    sqlx::query("INSERT INTO blind_index (kind, digest, person_id) VALUES ($1, $2, $3)")
                        .bind(entry.kind)
                        .bind(&entry.digest)
                        .bind(person.id)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::StoreError::from_insert(e, entry.kind))?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn person(
                &self,
                id: $crate::PersonId,
            ) -> Result<Option<$crate::PersonRow>, $crate::StoreError> {
                let row: Option<(uuid::Uuid, String, chrono::DateTime<chrono::Utc>, String)> =
                    sqlx::query_as("SELECT id, entity, created_at, kind FROM persons WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(|(id, entity, created_at, kind)| {
                    Ok($crate::PersonRow {
                        id,
                        entity,
                        created_at,
                        kind: $crate::PersonKind::parse(&kind)
                            .ok_or_else(|| $crate::StoreError::Corrupt(format!("unknown person kind `{kind}`")))?,
                    })
                })
                .transpose()
            }

            #[tracing::instrument(skip_all)]
            async fn sealed_fields(
                &self,
                id: $crate::PersonId,
            ) -> Result<Vec<$crate::SealedField>, $crate::StoreError> {
                let rows: Vec<(String, Vec<u8>)> = match self.point_reads() {
                    Some(reads) => reads.sealed_fields(id)?,
                    None => sqlx::query_as($crate::shared::SQL_SEALED_FIELDS)
                        .bind(id)
                        .fetch_all(&self.pool)
                        .await?,
                };
                rows.into_iter()
                    .map(|(field, ciphertext)| {
                        Ok($crate::SealedField {
                            field: $crate::shared::parse_field(&field)?,
                            ciphertext,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(skip_all)]
            async fn update_fields(
                &self,
                id: $crate::PersonId,
                fields: &[$crate::SealedField],
                index: &[$crate::IndexEntry],
            ) -> Result<(), $crate::StoreError> {
                let now = chrono::Utc::now();
                let mut tx = self.pool.begin().await?;
                for field in fields {
                    // The old value is kept, as ciphertext under the same person key.
                    sqlx::query(
                        "INSERT INTO field_history (person_id, field, ciphertext, replaced_at) \
                         SELECT person_id, field, ciphertext, $3 FROM person_fields \
                         WHERE person_id = $1 AND field = $2",
                    )
                    .bind(id)
                    .bind(field.field.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO person_fields (person_id, field, ciphertext, updated_at) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (person_id, field) DO UPDATE \
                         SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
                    )
                    .bind(id)
                    .bind(field.field.as_str())
                    .bind(&field.ciphertext)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                for entry in index {
                    sqlx::query("DELETE FROM blind_index WHERE person_id = $1 AND kind = $2")
                        .bind(id)
                        .bind(entry.kind)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("INSERT INTO blind_index (kind, digest, person_id) VALUES ($1, $2, $3)")
                        .bind(entry.kind)
                        .bind(&entry.digest)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::StoreError::from_insert(e, entry.kind))?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn find_by_index(
                &self,
                kind: &str,
                digest: &[u8],
            ) -> Result<Option<$crate::PersonId>, $crate::StoreError> {
                Ok(sqlx::query_scalar("SELECT person_id FROM blind_index WHERE kind = $1 AND digest = $2")
                    .bind(kind)
                    .bind(digest)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn find_many_by_index(
                &self,
                kind: &str,
                digests: &[Vec<u8>],
            ) -> Result<Vec<(Vec<u8>, $crate::PersonId)>, $crate::StoreError> {
                let mut found = Vec::new();
                for batch in digests.chunks($crate::shared::FIND_MANY_BATCH) {
                    let sql = format!(
                        "SELECT digest, person_id FROM blind_index WHERE kind = {} AND digest IN ({})",
                        <$store>::param(1),
                        (2..batch.len() + 2).map(<$store>::param).collect::<Vec<_>>().join(", ")
                    );
                    let mut query = sqlx::query_as(&sql).bind(kind);
                    for digest in batch {
                        query = query.bind(digest);
                    }
                    let rows: Vec<(Vec<u8>, uuid::Uuid)> = query.fetch_all(&self.pool).await?;
                    found.extend(rows);
                }
                Ok(found)
            }

            #[tracing::instrument(skip_all)]
            async fn count_persons(&self) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM persons")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            #[tracing::instrument(skip_all)]
            async fn ping(&self) -> Result<(), $crate::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

/// Implements [`crate::KeyStore`] for a type with a `pool` field and an inherent
/// `async fn compact_remnants(&self) -> Result<(), StoreError>`.
macro_rules! impl_key_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::KeyStore for $store {
            #[tracing::instrument(skip_all)]
            async fn kek_id(&self) -> Result<Option<String>, $crate::StoreError> {
                Ok(sqlx::query_scalar("SELECT kek_id FROM kek WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn claim_kek_id(&self, kek_id: &str) -> Result<String, $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO kek (id, kek_id, updated_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(kek_id)
                .bind(chrono::Utc::now())
                .execute(&self.pool)
                .await?;
                Ok(sqlx::query_scalar("SELECT kek_id FROM kek WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn insert_person_key(
                &self,
                person: $crate::PersonId,
                wrapped: &[u8],
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO person_keys (person_id, wrapped, created_at) VALUES ($1, $2, $3)",
                )
                .bind(person)
                .bind(wrapped)
                .bind(chrono::Utc::now())
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::StoreError::from_insert(e, "person key"))?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn person_key(
                &self,
                person: $crate::PersonId,
            ) -> Result<Option<Vec<u8>>, $crate::StoreError> {
                match self.point_reads() {
                    Some(reads) => reads.person_key(person),
                    None => Ok(sqlx::query_scalar($crate::shared::SQL_PERSON_KEY)
                        .bind(person)
                        .fetch_optional(&self.pool)
                        .await?),
                }
            }

            #[tracing::instrument(skip_all)]
            async fn delete_person_key(
                &self,
                person: $crate::PersonId,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query("DELETE FROM person_keys WHERE person_id = $1")
                    .bind(person)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            #[tracing::instrument(skip_all)]
            async fn named_key(&self, name: &str) -> Result<Option<Vec<u8>>, $crate::StoreError> {
                Ok(
                    sqlx::query_scalar("SELECT wrapped FROM named_keys WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?,
                )
            }

            #[tracing::instrument(skip_all)]
            async fn insert_named_key_if_absent(
                &self,
                name: &str,
                wrapped: &[u8],
            ) -> Result<Vec<u8>, $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO named_keys (name, wrapped, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(wrapped)
                .bind(chrono::Utc::now())
                .execute(&self.pool)
                .await?;
                Ok(
                    sqlx::query_scalar("SELECT wrapped FROM named_keys WHERE name = $1")
                        .bind(name)
                        .fetch_one(&self.pool)
                        .await?,
                )
            }

            #[tracing::instrument(skip_all)]
            async fn delete_named_key(&self, name: &str) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query("DELETE FROM named_keys WHERE name = $1")
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            #[tracing::instrument(skip_all)]
            async fn rewrap_all(
                &self,
                expected_kek_id: &str,
                new_kek_id: &str,
                rewrap: &$crate::RewrapFn<'_>,
            ) -> Result<u64, $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                // This first write takes the write lock (SQLite) or the row lock
                // (PostgreSQL), so two rotations cannot interleave.
                let claimed = sqlx::query(
                    "UPDATE kek SET kek_id = $1, updated_at = $2 WHERE id = 1 AND kek_id = $3",
                )
                .bind(new_kek_id)
                .bind(chrono::Utc::now())
                .bind(expected_kek_id)
                .execute(&mut *tx)
                .await?;
                if claimed.rows_affected() != 1 {
                    return Err($crate::StoreError::KekMismatch);
                }
                let people: Vec<(uuid::Uuid, Vec<u8>)> =
                    sqlx::query_as("SELECT person_id, wrapped FROM person_keys")
                        .fetch_all(&mut *tx)
                        .await?;
                let named: Vec<(String, Vec<u8>)> =
                    sqlx::query_as("SELECT name, wrapped FROM named_keys")
                        .fetch_all(&mut *tx)
                        .await?;
                let mut count = 0u64;
                for (person, wrapped) in people {
                    let rewrapped = rewrap($crate::KeyOwner::Person(person), &wrapped)
                        .map_err($crate::StoreError::Rewrap)?;
                    sqlx::query("UPDATE person_keys SET wrapped = $1 WHERE person_id = $2")
                        .bind(rewrapped)
                        .bind(person)
                        .execute(&mut *tx)
                        .await?;
                    count += 1;
                }
                for (name, wrapped) in named {
                    let rewrapped = rewrap($crate::KeyOwner::Named(&name), &wrapped)
                        .map_err($crate::StoreError::Rewrap)?;
                    sqlx::query("UPDATE named_keys SET wrapped = $1 WHERE name = $2")
                        .bind(rewrapped)
                        .bind(&name)
                        .execute(&mut *tx)
                        .await?;
                    count += 1;
                }
                tx.commit().await?;
                Ok(count)
            }

            #[tracing::instrument(skip_all)]
            async fn compact(&self) -> Result<(), $crate::StoreError> {
                self.compact_remnants().await
            }

            #[tracing::instrument(skip_all)]
            async fn key_counts(&self) -> Result<$crate::KeyCounts, $crate::StoreError> {
                let person_keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM person_keys")
                    .fetch_one(&self.pool)
                    .await?;
                let named_keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM named_keys")
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::KeyCounts {
                    person_keys: u64::try_from(person_keys).unwrap_or(0),
                    named_keys: u64::try_from(named_keys).unwrap_or(0),
                })
            }
        }
    };
}

/// Implements [`crate::AuditStore`] and [`crate::OperatorStore`] for a type with a
/// `pool` field of database `$db`.
macro_rules! impl_audit_and_operator_store {
    ($store:ty, $db:ty) => {
        async fn insert_checkpoint(
            tx: &mut sqlx::Transaction<'_, $db>,
            cp: &$crate::Checkpoint,
        ) -> Result<(), $crate::StoreError> {
            sqlx::query($crate::shared::SQL_AUDIT_CHECKPOINT)
            .bind(cp.seq)
            .bind(&cp.hash)
            .bind(cp.at_micros)
            .bind(&cp.key_id)
            .bind(&cp.signature)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl $crate::AuditStore for $store {
            #[tracing::instrument(skip_all)]
            async fn append(
                &self,
                entries: Vec<$crate::NewAuditEntry>,
                chain: $crate::ChainFn,
                checkpoint_every: i64,
                sign: std::sync::Arc<$crate::SignFn<'static>>,
            ) -> Result<i64, $crate::StoreError> {
                if let Some(appender) = self.audit_appender() {
                    return appender.append_on_blocking_pool(entries, chain, checkpoint_every, sign).await;
                }
                // PostgreSQL from here on.
                let mut tx = self.pool.begin().await?;
                // Writing the head row first takes the chain lock (a row lock), held
                // until commit.
                sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                let (mut seq, mut hash): (i64, Vec<u8>) =
                    sqlx::query_as($crate::shared::SQL_AUDIT_HEAD)
                        .fetch_one(&mut *tx)
                        .await?;
                // The chain first, then the rows in multi-row statements: each statement
                // is a round trip to the server.
                // (seq, entry, previous hash, own hash)
                let mut rows = Vec::with_capacity(entries.len());
                for entry in &entries {
                    seq += 1;
                    let next = chain(&hash, seq, entry);
                    let prev = std::mem::replace(&mut hash, next.clone());
                    rows.push((seq, entry, prev, next));
                }
                for batch in rows.chunks($crate::shared::AUDIT_ROWS_PER_INSERT) {
                    let values: Vec<String> = (0..batch.len())
                        .map(|r| {
                            let p: Vec<String> = (1..=11).map(|c| <$store>::param(r * 11 + c)).collect();
                            format!("({})", p.join(", "))
                        })
                        .collect();
                    let sql = format!("{} {}", $crate::shared::SQL_AUDIT_INSERT_PREFIX, values.join(", "));
                    let mut query = sqlx::query(&sql);
                    for (seq, entry, prev, this) in batch {
                        query = query
                            .bind(*seq)
                            .bind(entry.at_micros)
                            .bind(&entry.actor)
                            .bind(&entry.action)
                            .bind(&entry.purpose)
                            .bind(&entry.subject)
                            .bind(&entry.fields)
                            .bind(&entry.outcome)
                            .bind(&entry.detail)
                            .bind(prev)
                            .bind(this);
                    }
                    query.execute(&mut *tx).await?;
                }
                for (seq, _, _, this) in &rows {
                    if checkpoint_every > 0 && seq % checkpoint_every == 0 {
                        insert_checkpoint(&mut tx, &sign(*seq, this)).await?;
                    }
                }
                sqlx::query($crate::shared::SQL_AUDIT_MOVE_HEAD)
                    .bind(seq)
                    .bind(&hash)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(seq)
            }

            #[tracing::instrument(skip_all)]
            async fn checkpoint_head(&self, sign: &$crate::SignFn<'_>) -> Result<Option<i64>, $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                let (seq, hash): (i64, Vec<u8>) =
                    sqlx::query_as($crate::shared::SQL_AUDIT_HEAD)
                        .fetch_one(&mut *tx)
                        .await?;
                let signed: Option<i64> = sqlx::query_scalar("SELECT seq FROM audit_checkpoints WHERE seq = $1")
                    .bind(seq)
                    .fetch_optional(&mut *tx)
                    .await?;
                if seq == 0 || signed.is_some() {
                    tx.rollback().await?;
                    return Ok(None);
                }
                insert_checkpoint(&mut tx, &sign(seq, &hash)).await?;
                tx.commit().await?;
                Ok(Some(seq))
            }

            #[tracing::instrument(skip_all)]
            async fn record_policy(&self, digest: &str, version: &str, origin: &str) -> Result<bool, $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                let last: Option<String> =
                    sqlx::query_scalar("SELECT digest FROM policy_history ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&mut *tx)
                        .await?;
                if last.as_deref() == Some(digest) {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query("INSERT INTO policy_history (digest, version, origin, loaded_at) VALUES ($1, $2, $3, $4)")
                    .bind(digest)
                    .bind(version)
                    .bind(origin)
                    .bind(chrono::Utc::now())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            #[tracing::instrument(skip_all)]
            async fn head(&self) -> Result<(i64, Vec<u8>), $crate::StoreError> {
                Ok(sqlx::query_as($crate::shared::SQL_AUDIT_HEAD)
                    .fetch_one(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn entries_after(&self, after: i64, limit: i64) -> Result<Vec<$crate::AuditRecord>, $crate::StoreError> {
                if let Some(reads) = self.point_reads() {
                    return reads.audit_entries_after(after, limit).await;
                }
                let rows: Vec<AuditRow> = sqlx::query_as($crate::shared::SQL_AUDIT_ENTRIES_AFTER)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(audit_record).collect())
            }

            #[tracing::instrument(skip_all)]
            async fn checkpoints(&self) -> Result<Vec<$crate::Checkpoint>, $crate::StoreError> {
                let rows: Vec<(i64, Vec<u8>, i64, String, Vec<u8>)> = sqlx::query_as(
                    "SELECT seq, hash, at_micros, key_id, signature FROM audit_checkpoints ORDER BY seq",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(seq, hash, at_micros, key_id, signature)| $crate::Checkpoint {
                        seq,
                        hash,
                        at_micros,
                        key_id,
                        signature,
                    })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn entries_for_subject(&self, subject: &str, limit: i64) -> Result<Vec<$crate::AuditRecord>, $crate::StoreError> {
                let rows: Vec<AuditRow> = sqlx::query_as(
                    "SELECT seq, at_micros, actor, action, purpose, subject, fields, outcome, detail, prev_hash, hash \
                     FROM audit_log WHERE subject = $1 ORDER BY seq DESC LIMIT $2",
                )
                .bind(subject)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(audit_record).collect())
            }
        }

        #[async_trait::async_trait]
        impl $crate::OperatorStore for $store {
            #[tracing::instrument(skip_all)]
            async fn insert_operator(&self, op: &$crate::OperatorRow) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO operators (id, name, role, password_hash, token_hash, created_at, disabled) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(op.id)
                .bind(&op.name)
                .bind(&op.role)
                .bind(&op.password_hash)
                .bind(&op.token_hash)
                .bind(op.created_at)
                .bind(op.disabled)
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::StoreError::from_insert(e, "operator name"))?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn operator_by_name(&self, name: &str) -> Result<Option<$crate::OperatorRow>, $crate::StoreError> {
                let row: Option<OperatorTuple> = sqlx::query_as(
                    "SELECT id, name, role, password_hash, token_hash, created_at, disabled FROM operators WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(operator_row))
            }

            #[tracing::instrument(skip_all)]
            async fn operator_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<$crate::OperatorRow>, $crate::StoreError> {
                let row: Option<OperatorTuple> = sqlx::query_as(
                    "SELECT id, name, role, password_hash, token_hash, created_at, disabled FROM operators WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(operator_row))
            }

            #[tracing::instrument(skip_all)]
            async fn operators(&self) -> Result<Vec<$crate::OperatorRow>, $crate::StoreError> {
                let rows: Vec<OperatorTuple> = sqlx::query_as(
                    "SELECT id, name, role, password_hash, token_hash, created_at, disabled FROM operators ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(operator_row).collect())
            }

            #[tracing::instrument(skip_all)]
            async fn update_operator(&self, name: &str, role: &str, disabled: bool) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query("UPDATE operators SET role = $1, disabled = $2 WHERE name = $3")
                    .bind(role)
                    .bind(disabled)
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

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

pub(crate) type AuditRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Vec<u8>,
    Vec<u8>,
);

pub(crate) fn audit_record(row: AuditRow) -> crate::AuditRecord {
    let (seq, at_micros, actor, action, purpose, subject, fields, outcome, detail, prev_hash, hash) =
        row;
    crate::AuditRecord {
        seq,
        entry: crate::NewAuditEntry {
            at_micros,
            actor,
            action,
            purpose,
            subject,
            fields,
            outcome,
            detail,
        },
        prev_hash,
        hash,
    }
}

pub(crate) type OperatorTuple = (
    uuid::Uuid,
    String,
    String,
    String,
    Vec<u8>,
    chrono::DateTime<chrono::Utc>,
    bool,
);

pub(crate) fn operator_row(row: OperatorTuple) -> crate::OperatorRow {
    let (id, name, role, password_hash, token_hash, created_at, disabled) = row;
    crate::OperatorRow {
        id,
        name,
        role,
        password_hash,
        token_hash,
        created_at,
        disabled,
    }
}

pub(crate) use impl_audit_and_operator_store;
pub(crate) use impl_key_store;
pub(crate) use impl_person_store;
