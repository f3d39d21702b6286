//! SQL shared by both backends. The statements are written once in the dialect both
//! SQLite and PostgreSQL accept (`$N` placeholders, `ON CONFLICT`; a statement built at
//! run time takes its placeholders from the backend's `param`), and a macro
//! implements the traits for each backend's pool type. Backend differences (locks,
//! compaction, connection set-up) stay in `sqlite.rs` and `postgres.rs`.

mod accounts;
mod audit;
mod keys;
mod persons;

pub(crate) use accounts::impl_account_store;
pub(crate) use audit::impl_audit_and_operator_store;
pub(crate) use keys::impl_key_store;
pub(crate) use persons::impl_person_store;

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

/// The hot point reads' statements ([`crate::point_reads`]); their `$N` appear in
/// order, so SQLite numbers them as rusqlite binds them.
pub(crate) const SQL_SESSION: &str =
    "SELECT person_id, own_reads_day FROM sessions WHERE token_hash = $1 AND expires_at_micros > $2";
pub(crate) const SQL_ACCOUNT_SUMMARY: &str =
    "SELECT p.entity, (SELECT a.policy_version FROM policy_acknowledgements a \
     WHERE a.person_id = p.id ORDER BY a.acknowledged_at DESC LIMIT 1) \
     FROM persons p WHERE p.id = $1";
pub(crate) const SQL_SEALED_FIELDS: &str =
    "SELECT field, ciphertext FROM person_fields WHERE person_id = $1 ORDER BY field";
pub(crate) const SQL_PERSON_KEY: &str = "SELECT wrapped FROM person_keys WHERE person_id = $1";

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

pub(crate) type ClassKeyTuple = (String, Vec<u8>, Option<i64>, bool);

pub(crate) fn class_key_row(row: ClassKeyTuple) -> crate::ClassKeyRow {
    let (class, wrapped, expires_at_micros, restricted) = row;
    crate::ClassKeyRow {
        class,
        wrapped,
        expires_at_micros,
        restricted,
    }
}

pub(crate) type TombstoneTuple = (uuid::Uuid, String, String, i64);

pub(crate) fn tombstone(row: TombstoneTuple) -> crate::Tombstone {
    let (owner, class, reason, at_micros) = row;
    crate::Tombstone {
        owner,
        class,
        reason,
        at_micros,
    }
}

pub(crate) type MailTuple = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    Vec<u8>,
    String,
    i64,
    i64,
    Option<String>,
    i64,
);

pub(crate) fn queued_mail(row: MailTuple) -> crate::QueuedMail {
    let (
        id,
        person,
        kind,
        sealed,
        status,
        attempts,
        next_attempt_micros,
        last_error,
        created_at_micros,
    ) = row;
    crate::QueuedMail {
        id,
        person,
        kind,
        sealed,
        status,
        attempts,
        next_attempt_micros,
        last_error,
        created_at_micros,
    }
}
