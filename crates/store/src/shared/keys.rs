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

pub(crate) use impl_key_store;
