//! Storage for statistics (P10): sealed daily roll-ups beside the browser days, the
//! privacy budget per dataset and period, and the record of releases.
//!
//! Invariants: a roll-up row exists only while its day does (foreign key, cascade);
//! spending budget is one conditional write, so two releases racing for the last of a
//! budget cannot both get it.

use crate::StoreError;
use async_trait::async_trait;
use chrono::NaiveDate;
use std::fmt;

/// A day's sealed roll-up and how many records the day held when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    pub day: NaiveDate,
    pub records: i64,
    pub sealed: Vec<u8>,
}

/// A release to a third party, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRow {
    pub id: String,
    pub at_micros: i64,
    pub report: String,
    /// The release's manifest (JSON): parameters, cells released and suppressed.
    pub manifest: String,
}

#[async_trait]
pub trait StatsStore: Send + Sync + fmt::Debug {
    /// Stores (or replaces) a day's roll-up; nothing if the day does not exist.
    async fn put_rollup(&self, row: &RollupRow) -> Result<(), StoreError>;

    /// The roll-ups of the days from `from` to `to`, inclusive, by day.
    async fn rollups(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<RollupRow>, StoreError>;

    /// Adds `micros` millionths of ε to what `dataset` has spent in each of `periods`
    /// if every total stays within `limit_micros`; `false` and nothing spent otherwise
    /// (one transaction).
    async fn spend_budget(
        &self,
        dataset: &str,
        periods: &[String],
        micros: i64,
        limit_micros: i64,
    ) -> Result<bool, StoreError>;

    /// What `dataset` has spent in `period`, in millionths of ε.
    async fn budget_spent(&self, dataset: &str, period: &str) -> Result<i64, StoreError>;

    async fn record_release(&self, release: &ReleaseRow) -> Result<(), StoreError>;

    /// Every release, oldest first.
    async fn releases(&self) -> Result<Vec<ReleaseRow>, StoreError>;

    /// Accounts (not leads) per controlling entity.
    async fn accounts_per_entity(&self) -> Result<Vec<(String, i64)>, StoreError>;
}

/// Implements [`StatsStore`] for a type with a `pool` field.
macro_rules! impl_stats_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::StatsStore for $store {
            #[tracing::instrument(skip_all)]
            async fn put_rollup(&self, row: &$crate::RollupRow) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO browser_rollups (day, records, sealed) \
                     SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM browser_days WHERE day = $1) \
                     ON CONFLICT (day) DO UPDATE SET records = excluded.records, sealed = excluded.sealed",
                )
                .bind(row.day)
                .bind(row.records)
                .bind(&row.sealed)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn rollups(
                &self,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
            ) -> Result<Vec<$crate::RollupRow>, $crate::StoreError> {
                let rows: Vec<(chrono::NaiveDate, i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT day, records, sealed FROM browser_rollups WHERE day >= $1 AND day <= $2 ORDER BY day",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(day, records, sealed)| $crate::RollupRow { day, records, sealed })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn spend_budget(
                &self,
                dataset: &str,
                periods: &[String],
                micros: i64,
                limit_micros: i64,
            ) -> Result<bool, $crate::StoreError> {
                if micros > limit_micros {
                    return Ok(false);
                }
                let mut tx = self.pool.begin().await?;
                for period in periods {
                    let done = sqlx::query(
                        "INSERT INTO stats_budgets (dataset, period, spent_micros) VALUES ($1, $2, $3) \
                         ON CONFLICT (dataset, period) DO UPDATE SET spent_micros = stats_budgets.spent_micros + excluded.spent_micros \
                         WHERE stats_budgets.spent_micros + excluded.spent_micros <= $4",
                    )
                    .bind(dataset)
                    .bind(period)
                    .bind(micros)
                    .bind(limit_micros)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                }
                tx.commit().await?;
                Ok(true)
            }

            #[tracing::instrument(skip_all)]
            async fn budget_spent(&self, dataset: &str, period: &str) -> Result<i64, $crate::StoreError> {
                let spent: Option<i64> = sqlx::query_scalar(
                    "SELECT spent_micros FROM stats_budgets WHERE dataset = $1 AND period = $2",
                )
                .bind(dataset)
                .bind(period)
                .fetch_optional(&self.pool)
                .await?;
                Ok(spent.unwrap_or(0))
            }

            #[tracing::instrument(skip_all)]
            async fn record_release(&self, r: &$crate::ReleaseRow) -> Result<(), $crate::StoreError> {
                sqlx::query("INSERT INTO stats_releases (id, at_micros, report, manifest) VALUES ($1, $2, $3, $4)")
                    .bind(&r.id)
                    .bind(r.at_micros)
                    .bind(&r.report)
                    .bind(&r.manifest)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn releases(&self) -> Result<Vec<$crate::ReleaseRow>, $crate::StoreError> {
                let rows: Vec<(String, i64, String, String)> = sqlx::query_as(
                    "SELECT id, at_micros, report, manifest FROM stats_releases ORDER BY at_micros, id",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, at_micros, report, manifest)| $crate::ReleaseRow { id, at_micros, report, manifest })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn accounts_per_entity(&self) -> Result<Vec<(String, i64)>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT entity, COUNT(*) FROM persons WHERE kind = 'account' GROUP BY entity ORDER BY entity",
                )
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}
pub(crate) use impl_stats_store;
