-- Published policy texts (P16): one row per version and language, never changed once
-- stored. The version in force is the one with the latest effective instant at or
-- before now, so a version takes effect at its instant on every node.
CREATE TABLE policy_texts (
    version             TEXT NOT NULL,
    lang                TEXT NOT NULL,
    effective_at_micros INTEGER NOT NULL,
    material            INTEGER NOT NULL,
    body                TEXT NOT NULL,
    published_at_micros INTEGER NOT NULL,
    published_by        TEXT NOT NULL,
    PRIMARY KEY (version, lang)
);

-- A person who dismissed the dashboard's notice of a changed version.
CREATE TABLE policy_notice_dismissals (
    person_id           BLOB NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    policy_version      TEXT NOT NULL,
    dismissed_at_micros INTEGER NOT NULL,
    PRIMARY KEY (person_id, policy_version)
);

-- Material versions whose announcement mail has been queued (to how many people).
CREATE TABLE policy_announcements (
    policy_version      TEXT PRIMARY KEY,
    announced_at_micros INTEGER NOT NULL,
    queued              INTEGER NOT NULL
);
