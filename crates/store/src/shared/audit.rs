//! [`crate::AuditStore`] and [`crate::OperatorStore`] for both backends.

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
                // PostgreSQL from here on: every statement is a network round trip, so
                // the head is locked and read in one, and moved in the last insert.
                let mut tx = self.pool.begin().await?;
                // Writing the head row takes the chain lock (a row lock), held until
                // commit.
                let (mut seq, mut hash): (i64, Vec<u8>) = sqlx::query_as(
                    "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash",
                )
                .fetch_one(&mut *tx)
                .await?;
                // (seq, entry, previous hash, own hash)
                let mut rows = Vec::with_capacity(entries.len());
                for entry in &entries {
                    seq += 1;
                    let next = chain(&hash, seq, entry);
                    let prev = std::mem::replace(&mut hash, next.clone());
                    rows.push((seq, entry, prev, next));
                }
                for (seq, _, _, this) in &rows {
                    if checkpoint_every > 0 && seq % checkpoint_every == 0 {
                        insert_checkpoint(&mut tx, &sign(*seq, this)).await?;
                    }
                }
                let batches = rows.chunks($crate::shared::AUDIT_ROWS_PER_INSERT).count();
                for (n, batch) in rows.chunks($crate::shared::AUDIT_ROWS_PER_INSERT).enumerate() {
                    let values: Vec<String> = (0..batch.len())
                        .map(|r| {
                            let p: Vec<String> = (1..=11).map(|c| <$store>::param(r * 11 + c)).collect();
                            format!("({})", p.join(", "))
                        })
                        .collect();
                    let last = n + 1 == batches;
                    let move_head = if last {
                        let (s, h) = (batch.len() * 11 + 1, batch.len() * 11 + 2);
                        format!(
                            "WITH moved AS (UPDATE audit_head SET seq = {}, hash = {} WHERE id = 1) ",
                            <$store>::param(s),
                            <$store>::param(h)
                        )
                    } else {
                        String::new()
                    };
                    let sql = format!("{move_head}{} {}", $crate::shared::SQL_AUDIT_INSERT_PREFIX, values.join(", "));
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
                    if last {
                        query = query.bind(seq).bind(&hash);
                    }
                    query.execute(&mut *tx).await?;
                }
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
            async fn prunes(&self) -> Result<Vec<$crate::AuditPrune>, $crate::StoreError> {
                let rows: Vec<(i64, Vec<u8>, i64, i64, String, Vec<u8>)> = sqlx::query_as(
                    "SELECT through_seq, hash, before_micros, at_micros, key_id, signature \
                     FROM audit_prunes ORDER BY through_seq",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(through_seq, hash, before_micros, at_micros, key_id, signature)| $crate::AuditPrune {
                        through_seq,
                        hash,
                        before_micros,
                        at_micros,
                        key_id,
                        signature,
                    })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn insert_prune(&self, prune: &$crate::AuditPrune) -> Result<(), $crate::StoreError> {
                let inserted = sqlx::query(
                    "INSERT INTO audit_prunes (through_seq, hash, before_micros, at_micros, key_id, signature) \
                     SELECT $1, $2, $3, $4, $5, $6 \
                     WHERE $1 > COALESCE((SELECT MAX(through_seq) FROM audit_prunes), 0)",
                )
                .bind(prune.through_seq)
                .bind(&prune.hash)
                .bind(prune.before_micros)
                .bind(prune.at_micros)
                .bind(&prune.key_id)
                .bind(&prune.signature)
                .execute(&self.pool)
                .await?
                .rows_affected();
                if inserted == 0 {
                    return Err($crate::StoreError::Conflict(
                        "audit prune point",
                    ));
                }
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn delete_pruned(&self, batch: i64) -> Result<u64, $crate::StoreError> {
                let mut deleted = 0;
                loop {
                    let done = sqlx::query(
                        "DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log \
                         WHERE seq <= (SELECT COALESCE(MAX(through_seq), 0) FROM audit_prunes) \
                         ORDER BY seq LIMIT $1)",
                    )
                    .bind(batch.max(1))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                    deleted += done;
                    if done == 0 {
                        return Ok(deleted);
                    }
                }
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

pub(crate) use impl_audit_and_operator_store;
