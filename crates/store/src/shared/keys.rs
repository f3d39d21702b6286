//! [`crate::KeyStore`] for both backends: wrapped person keys and named keys.

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
            async fn person_keys_made_between(
                &self,
                from: chrono::DateTime<chrono::Utc>,
                before: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> Result<Vec<$crate::PersonId>, $crate::StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT person_id FROM person_keys WHERE created_at >= $1 AND created_at < $2 \
                     ORDER BY created_at LIMIT $3",
                )
                .bind(from)
                .bind(before)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn person_key(
                &self,
                person: $crate::PersonId,
            ) -> Result<Option<Vec<u8>>, $crate::StoreError> {
                self.hot_reads().person_key(person).await
            }

            #[tracing::instrument(skip_all)]
            async fn person_keys_between(
                &self,
                first: $crate::PersonId,
                last: $crate::PersonId,
            ) -> Result<Vec<($crate::PersonId, Vec<u8>)>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT person_id, wrapped FROM person_keys WHERE person_id >= $1 AND person_id <= $2",
                )
                .bind(first)
                .bind(last)
                .fetch_all(&self.pool)
                .await?)
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
                let classes: Vec<(uuid::Uuid, String, Vec<u8>)> =
                    sqlx::query_as("SELECT owner_id, class, wrapped FROM class_keys")
                        .fetch_all(&mut *tx)
                        .await?;
                let mut count = 0u64;
                for (owner, class, wrapped) in classes {
                    let rewrapped = rewrap($crate::KeyOwner::Class { owner, class: &class }, &wrapped)
                        .map_err($crate::StoreError::Rewrap)?;
                    sqlx::query("UPDATE class_keys SET wrapped = $1 WHERE owner_id = $2 AND class = $3")
                        .bind(rewrapped)
                        .bind(owner)
                        .bind(&class)
                        .execute(&mut *tx)
                        .await?;
                    count += 1;
                }
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
                let class_keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM class_keys")
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::KeyCounts {
                    person_keys: u64::try_from(person_keys).unwrap_or(0),
                    named_keys: u64::try_from(named_keys).unwrap_or(0),
                    class_keys: u64::try_from(class_keys).unwrap_or(0),
                })
            }

            #[tracing::instrument(skip_all)]
            async fn class_key(
                &self,
                owner: $crate::PersonId,
                class: &str,
            ) -> Result<Option<$crate::ClassKeyRow>, $crate::StoreError> {
                let row: Option<$crate::shared::ClassKeyTuple> = sqlx::query_as(
                    "SELECT class, wrapped, expires_at_micros, restricted FROM class_keys \
                     WHERE owner_id = $1 AND class = $2",
                )
                .bind(owner)
                .bind(class)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map($crate::shared::class_key_row))
            }

            #[tracing::instrument(skip_all)]
            async fn insert_class_key_if_absent(
                &self,
                owner: $crate::PersonId,
                class: &str,
                wrapped: &[u8],
                expires_at_micros: Option<i64>,
            ) -> Result<$crate::ClassKeyRow, $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO class_keys (owner_id, class, wrapped, expires_at_micros, restricted, created_at) \
                     VALUES ($1, $2, $3, $4, FALSE, $5) ON CONFLICT (owner_id, class) DO NOTHING",
                )
                .bind(owner)
                .bind(class)
                .bind(wrapped)
                .bind(expires_at_micros)
                .bind(chrono::Utc::now())
                .execute(&self.pool)
                .await?;
                self.class_key(owner, class)
                    .await?
                    .ok_or_else(|| $crate::StoreError::Corrupt("a class key vanished as it was stored".into()))
            }

            #[tracing::instrument(skip_all)]
            async fn class_keys_of(
                &self,
                owner: $crate::PersonId,
            ) -> Result<Vec<$crate::ClassKeyRow>, $crate::StoreError> {
                let rows: Vec<$crate::shared::ClassKeyTuple> = sqlx::query_as(
                    "SELECT class, wrapped, expires_at_micros, restricted FROM class_keys \
                     WHERE owner_id = $1 ORDER BY class",
                )
                .bind(owner)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::shared::class_key_row).collect())
            }

            #[tracing::instrument(skip_all)]
            async fn erase_keys(
                &self,
                owner: $crate::PersonId,
                erasure: &$crate::KeyErasure,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                for tombstone in &erasure.tombstones {
                    sqlx::query(
                        "INSERT INTO erasure_ledger (owner_id, class, reason, at_micros, rows_cleared) \
                         VALUES ($1, $2, $3, $4, FALSE)",
                    )
                    .bind(tombstone.owner)
                    .bind(&tombstone.class)
                    .bind(&tombstone.reason)
                    .bind(tombstone.at_micros)
                    .execute(&mut *tx)
                    .await?;
                }
                if erasure.account_key {
                    sqlx::query("DELETE FROM person_keys WHERE person_id = $1")
                        .bind(owner)
                        .execute(&mut *tx)
                        .await?;
                }
                for class in &erasure.destroy {
                    sqlx::query("DELETE FROM class_keys WHERE owner_id = $1 AND class = $2")
                        .bind(owner)
                        .bind(class)
                        .execute(&mut *tx)
                        .await?;
                }
                for class in &erasure.restrict {
                    sqlx::query("UPDATE class_keys SET restricted = TRUE WHERE owner_id = $1 AND class = $2")
                        .bind(owner)
                        .bind(class)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn expired_class_keys(
                &self,
                now_micros: i64,
            ) -> Result<Vec<($crate::PersonId, String)>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT owner_id, class FROM class_keys \
                     WHERE expires_at_micros IS NOT NULL AND expires_at_micros <= $1 \
                     ORDER BY expires_at_micros",
                )
                .bind(now_micros)
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn uncleared_tombstones(&self) -> Result<Vec<$crate::Tombstone>, $crate::StoreError> {
                let rows: Vec<$crate::shared::TombstoneTuple> = sqlx::query_as(
                    "SELECT owner_id, class, reason, at_micros FROM erasure_ledger \
                     WHERE rows_cleared = FALSE ORDER BY seq",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::shared::tombstone).collect())
            }

            #[tracing::instrument(skip_all)]
            async fn mark_cleared(
                &self,
                owner: $crate::PersonId,
                class: &str,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "UPDATE erasure_ledger SET rows_cleared = TRUE WHERE owner_id = $1 AND class = $2",
                )
                .bind(owner)
                .bind(class)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn tombstones_of(
                &self,
                owner: $crate::PersonId,
            ) -> Result<Vec<$crate::Tombstone>, $crate::StoreError> {
                let rows: Vec<$crate::shared::TombstoneTuple> = sqlx::query_as(
                    "SELECT owner_id, class, reason, at_micros FROM erasure_ledger \
                     WHERE owner_id = $1 ORDER BY seq",
                )
                .bind(owner)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::shared::tombstone).collect())
            }
        }
    };
}

pub(crate) use impl_key_store;
