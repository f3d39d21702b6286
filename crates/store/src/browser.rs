//! Storage of browser records (P6) in day partitions: a table per day on SQLite, a
//! declarative LIST partition per day on PostgreSQL. Records arrive as blocks the vault
//! sealed under the day's key; the store sees only ciphertext and counts.
//!
//! Invariants:
//! - A day's table exists exactly while its row in `browser_days` exists; both are
//!   created and dropped in one transaction.
//! - Dropping a day removes every block of it at once (retention, P8).

use crate::StoreError;
use async_trait::async_trait;
use chrono::NaiveDate;
use std::fmt;
use uuid::Uuid;

/// One block of a day's browser records, sealed by the vault. Opaque to the store.
#[derive(Clone, PartialEq, Eq)]
pub struct EventBlock {
    /// Random; bound into the block's ciphertexts, so a block moved to another day or
    /// swapped with another block fails authentication.
    pub id: Uuid,
    pub records: u32,
    /// Everything but the client addresses, sealed.
    pub meta: Vec<u8>,
    /// The client addresses, sealed apart so statistics never need to open them.
    pub ips: Vec<u8>,
}

impl fmt::Debug for EventBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EventBlock({} records, {} + {} bytes)",
            self.records,
            self.meta.len(),
            self.ips.len()
        )
    }
}

/// A stored day and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserDay {
    pub day: NaiveDate,
    pub records: u64,
    pub blocks: u64,
}

/// How far an ingest has read one input file, like a log shipper's registry: stored in
/// the same transaction as the blocks read up to there, so a run killed at any point
/// resumes after the last line it stored, and stores no line twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestMark {
    /// Which file: a digest of its device and inode (no path, no content).
    pub source: Vec<u8>,
    /// A digest of the file's first `fingerprint_len` bytes: a file rotated or truncated
    /// in place under the same inode no longer matches and is read from the start.
    pub fingerprint: Vec<u8>,
    pub fingerprint_len: u64,
    /// Bytes of the file read and stored (to the end of a line).
    pub offset: u64,
}

/// Day-partitioned browser records.
#[async_trait]
pub trait BrowserStore: Send + Sync + fmt::Debug {
    /// Appends blocks to `day`, creating its partition on first use; all or nothing.
    async fn append_blocks(&self, day: NaiveDate, blocks: &[EventBlock]) -> Result<(), StoreError> {
        self.append_days(&[(day, blocks.to_vec())], None).await
    }

    /// Appends blocks to several days and records `mark`, all in one transaction: all
    /// or nothing. Days are written in date order, so concurrent writers cannot deadlock.
    async fn append_days(
        &self,
        days: &[(NaiveDate, Vec<EventBlock>)],
        mark: Option<&IngestMark>,
    ) -> Result<(), StoreError>;

    /// The mark of the file `source`, if an ingest has recorded one.
    async fn ingest_mark(&self, source: &[u8]) -> Result<Option<IngestMark>, StoreError>;

    /// Every stored day, oldest first.
    async fn browser_days(&self) -> Result<Vec<BrowserDay>, StoreError>;

    /// The blocks of one day; empty for a day that is not stored.
    async fn day_blocks(&self, day: NaiveDate) -> Result<Vec<EventBlock>, StoreError>;

    /// Drops a day's partition with all its blocks. Returns whether it existed.
    async fn drop_day(&self, day: NaiveDate) -> Result<bool, StoreError>;
}

/// The name of a day's table. Built from a date only, so it is safe to splice into SQL.
pub(crate) fn day_table(day: NaiveDate) -> String {
    format!("browser_blocks_{}", day.format("%Y%m%d"))
}

/// Implements [`BrowserStore`] for a type with a `pool` field; `$create` is a function
/// giving the DDL that creates a day's table.
macro_rules! impl_browser_store {
    ($store:ty, $create:path) => {
        #[async_trait::async_trait]
        impl $crate::BrowserStore for $store {
            #[tracing::instrument(skip_all)]
            async fn append_days(
                &self,
                days: &[(chrono::NaiveDate, Vec<$crate::EventBlock>)],
                mark: Option<&$crate::IngestMark>,
            ) -> Result<(), $crate::StoreError> {
                let mut ordered: Vec<_> = days.iter().collect();
                ordered.sort_by_key(|(day, _)| *day);
                let mut tx = self.pool.begin().await?;
                for (day, blocks) in ordered {
                    let day = *day;
                    let table = $crate::browser::day_table(day);
                    // The registry row is taken first: a racing writer waits on it, so
                    // the table is created once.
                    let created = sqlx::query("INSERT INTO browser_days (day) VALUES ($1) ON CONFLICT (day) DO NOTHING")
                        .bind(day)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1;
                    if created {
                        sqlx::query(&$create(day)).execute(&mut *tx).await?;
                    }
                    let insert = format!(
                        "INSERT INTO {table} (day, block_id, records, meta, ips) VALUES ($1, $2, $3, $4, $5)"
                    );
                    let mut records: i64 = 0;
                    for block in blocks {
                        sqlx::query(&insert)
                            .bind(day)
                            .bind(block.id)
                            .bind(i64::from(block.records))
                            .bind(&block.meta)
                            .bind(&block.ips)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| $crate::StoreError::from_insert(e, "block id"))?;
                        records += i64::from(block.records);
                    }
                    sqlx::query("UPDATE browser_days SET records = records + $2, blocks = blocks + $3 WHERE day = $1")
                        .bind(day)
                        .bind(records)
                        .bind(i64::try_from(blocks.len()).unwrap_or(i64::MAX))
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(mark) = mark {
                    sqlx::query(
                        "INSERT INTO ingest_marks (source, fingerprint, fingerprint_len, byte_offset) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (source) DO UPDATE SET \
                         fingerprint = excluded.fingerprint, fingerprint_len = excluded.fingerprint_len, \
                         byte_offset = excluded.byte_offset",
                    )
                    .bind(&mark.source)
                    .bind(&mark.fingerprint)
                    .bind(i64::try_from(mark.fingerprint_len).unwrap_or(i64::MAX))
                    .bind(i64::try_from(mark.offset).unwrap_or(i64::MAX))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn ingest_mark(&self, source: &[u8]) -> Result<Option<$crate::IngestMark>, $crate::StoreError> {
                let row: Option<(Vec<u8>, i64, i64)> = sqlx::query_as(
                    "SELECT fingerprint, fingerprint_len, byte_offset FROM ingest_marks WHERE source = $1",
                )
                .bind(source)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(fingerprint, len, offset)| $crate::IngestMark {
                    source: source.to_vec(),
                    fingerprint,
                    fingerprint_len: u64::try_from(len).unwrap_or(0),
                    offset: u64::try_from(offset).unwrap_or(0),
                }))
            }

            #[tracing::instrument(skip_all)]
            async fn browser_days(&self) -> Result<Vec<$crate::BrowserDay>, $crate::StoreError> {
                let rows: Vec<(chrono::NaiveDate, i64, i64)> =
                    sqlx::query_as("SELECT day, records, blocks FROM browser_days ORDER BY day")
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(|(day, records, blocks)| $crate::BrowserDay {
                        day,
                        records: u64::try_from(records).unwrap_or(0),
                        blocks: u64::try_from(blocks).unwrap_or(0),
                    })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn day_blocks(
                &self,
                day: chrono::NaiveDate,
            ) -> Result<Vec<$crate::EventBlock>, $crate::StoreError> {
                let known: Option<(i64,)> = sqlx::query_as("SELECT blocks FROM browser_days WHERE day = $1")
                    .bind(day)
                    .fetch_optional(&self.pool)
                    .await?;
                if known.is_none() {
                    return Ok(Vec::new());
                }
                let table = $crate::browser::day_table(day);
                let rows: Vec<(uuid::Uuid, i64, Vec<u8>, Vec<u8>)> =
                    sqlx::query_as(&format!("SELECT block_id, records, meta, ips FROM {table}"))
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter()
                    .map(|(id, records, meta, ips)| {
                        Ok($crate::EventBlock {
                            id,
                            records: u32::try_from(records)
                                .map_err(|_| $crate::StoreError::Corrupt("block record count".into()))?,
                            meta,
                            ips,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(skip_all)]
            async fn drop_day(&self, day: chrono::NaiveDate) -> Result<bool, $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                let existed = sqlx::query("DELETE FROM browser_days WHERE day = $1")
                    .bind(day)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                let table = $crate::browser::day_table(day);
                sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(existed)
            }
        }
    };
}
pub(crate) use impl_browser_store;
