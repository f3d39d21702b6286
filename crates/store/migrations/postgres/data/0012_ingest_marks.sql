-- How far `datavow ingest FILE` has read each file (a log shipper's registry), written
-- in the same transaction as the records: a re-run after a crash stores each line once.
-- A file is named by a digest of its device and inode, never by path or content.
CREATE TABLE ingest_marks (
    source          BYTEA PRIMARY KEY,
    fingerprint     BYTEA NOT NULL,
    fingerprint_len BIGINT NOT NULL,
    byte_offset     BIGINT NOT NULL
);
