-- How far `datavow ingest FILE` has read each file (a log shipper's registry), written
-- in the same transaction as the records: a re-run after a crash stores each line once.
-- A file is named by a digest of its device and inode, never by path or content.
CREATE TABLE ingest_marks (
    source          BLOB PRIMARY KEY,
    fingerprint     BLOB NOT NULL,
    fingerprint_len INTEGER NOT NULL,
    byte_offset     INTEGER NOT NULL
);
