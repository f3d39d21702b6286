//! [`crate::PersonStore`] for both backends: persons, their sealed fields and blind-index
//! entries.

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
                let rows = self.hot_reads().sealed_fields(id).await?;
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
            async fn delete_person(&self, id: $crate::PersonId) -> Result<bool, $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                // The foreign keys cascade too; deleting explicitly keeps this true
                // whatever a connection's foreign-key setting.
                for sql in [
                    "DELETE FROM sessions WHERE person_id = $1",
                    "DELETE FROM blind_index WHERE person_id = $1",
                    "DELETE FROM person_fields WHERE person_id = $1",
                    "DELETE FROM field_history WHERE person_id = $1",
                    "DELETE FROM policy_acknowledgements WHERE person_id = $1",
                    "DELETE FROM policy_notice_dismissals WHERE person_id = $1",
                    "UPDATE subject_requests SET person_id = NULL WHERE person_id = $1",
                    "DELETE FROM mail_queue WHERE person_id = $1",
                    "DELETE FROM recovery_tokens WHERE person_id = $1",
                ] {
                    sqlx::query(sql).bind(id).execute(&mut *tx).await?;
                }
                let deleted = sqlx::query("DELETE FROM persons WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(deleted > 0)
            }

            #[tracing::instrument(skip_all)]
            async fn account_ids(&self) -> Result<Vec<$crate::PersonId>, $crate::StoreError> {
                Ok(sqlx::query_scalar("SELECT id FROM persons WHERE kind = 'account' ORDER BY created_at, id")
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn account_fields_page(
                &self,
                after: $crate::PersonId,
                limit: u32,
                fields: &[datavow_policy::Field],
            ) -> Result<Vec<($crate::PersonId, Vec<$crate::SealedField>)>, $crate::StoreError> {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT p.id, f.field, f.ciphertext FROM persons p \
                     LEFT JOIN person_fields f ON f.person_id = p.id AND f.field IN (",
                );
                let mut names = query.separated(", ");
                for field in fields {
                    names.push_bind(field.as_str());
                }
                if fields.is_empty() {
                    names.push("NULL");
                }
                query
                    .push(") WHERE p.id IN (SELECT id FROM persons WHERE kind = 'account' AND id > ")
                    .push_bind(after)
                    .push(" ORDER BY id LIMIT ")
                    .push_bind(i64::from(limit))
                    .push(") ORDER BY p.id");
                let rows: Vec<($crate::PersonId, Option<String>, Option<Vec<u8>>)> =
                    query.build_query_as().fetch_all(&self.pool).await?;
                let mut page: Vec<($crate::PersonId, Vec<$crate::SealedField>)> = Vec::new();
                for (id, field, ciphertext) in rows {
                    if page.last().map(|(last, _)| *last) != Some(id) {
                        page.push((id, Vec::new()));
                    }
                    if let (Some(field), Some(ciphertext), Some((_, sealed))) =
                        (field, ciphertext, page.last_mut())
                    {
                        sealed.push($crate::SealedField {
                            field: $crate::shared::parse_field(&field)?,
                            ciphertext,
                        });
                    }
                }
                Ok(page)
            }

            #[tracing::instrument(skip_all)]
            async fn accounts_with_but_not(
                &self,
                has: datavow_policy::Field,
                lacks: datavow_policy::Field,
                limit: u32,
            ) -> Result<Vec<$crate::PersonId>, $crate::StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT p.id FROM persons p WHERE p.kind = 'account' \
                     AND EXISTS (SELECT 1 FROM person_fields f WHERE f.person_id = p.id AND f.field = $1) \
                     AND NOT EXISTS (SELECT 1 FROM person_fields f WHERE f.person_id = p.id AND f.field = $2) \
                     ORDER BY p.created_at, p.id LIMIT $3",
                )
                .bind(has.as_str())
                .bind(lacks.as_str())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn insert_retained(
                &self,
                record: &$crate::RetainedRecord,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO retained_records (id, owner_id, class, field, ciphertext, created_at_micros) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(record.id)
                .bind(record.owner)
                .bind(&record.class)
                .bind(record.field.as_str())
                .bind(&record.ciphertext)
                .bind(record.created_at_micros)
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::StoreError::from_insert(e, "record id"))?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn retained_of(
                &self,
                owner: $crate::PersonId,
            ) -> Result<Vec<$crate::RetainedRecord>, $crate::StoreError> {
                let rows: Vec<(uuid::Uuid, uuid::Uuid, String, String, Vec<u8>, i64)> = sqlx::query_as(
                    "SELECT id, owner_id, class, field, ciphertext, created_at_micros \
                     FROM retained_records WHERE owner_id = $1 ORDER BY created_at_micros, id",
                )
                .bind(owner)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(id, owner, class, field, ciphertext, created_at_micros)| {
                        Ok($crate::RetainedRecord {
                            id,
                            owner,
                            class,
                            field: $crate::shared::parse_field(&field)?,
                            ciphertext,
                            created_at_micros,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(skip_all)]
            async fn delete_retained(
                &self,
                owner: $crate::PersonId,
                class: &str,
            ) -> Result<u64, $crate::StoreError> {
                Ok(sqlx::query("DELETE FROM retained_records WHERE owner_id = $1 AND class = $2")
                    .bind(owner)
                    .bind(class)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            #[tracing::instrument(skip_all)]
            async fn ping(&self) -> Result<(), $crate::StoreError> {
                sqlx::query("UPDATE health_probe SET probes = probes + 1 WHERE id = 1")
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_person_store;
