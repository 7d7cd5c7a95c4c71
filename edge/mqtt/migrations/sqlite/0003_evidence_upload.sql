-- Boxes that upload evidence: a bearer token (only its SHA-256 is kept) and the pinned Ed25519 public key.
CREATE TABLE boxes (
    box TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    pubkey_pem TEXT NOT NULL,
    created_utc REAL NOT NULL
);
-- One uploaded violation: its signed manifest (verified on receipt), place in the box's chain, review.
CREATE TABLE uploads (
    event_id TEXT PRIMARY KEY,
    box TEXT NOT NULL,
    seq BIGINT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    prev_manifest_sha256 TEXT NOT NULL,
    folder TEXT NOT NULL,
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    crosswalk TEXT NOT NULL,
    entry_time TEXT NOT NULL,
    received_utc REAL NOT NULL,
    confirmed_utc REAL,  -- every listed file arrived and matched: the box may forget it (once reviewed)
    review_state TEXT NOT NULL DEFAULT 'new',
    reviewer TEXT NOT NULL DEFAULT '',
    review_reason TEXT NOT NULL DEFAULT '',
    reviewed_utc REAL
);
CREATE UNIQUE INDEX uploads_box_seq ON uploads (box, seq);
CREATE INDEX uploads_review ON uploads (review_state, entry_time);
CREATE TABLE upload_files (
    event_id TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (event_id, path)
);
-- Alarms for the operators: evidence chain gaps, refused uploads; open until acknowledged.
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    utc REAL NOT NULL,
    box TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    cleared_utc REAL
);
-- Who did what at the centre: reviews, commands, exports. Append-only by convention of the code.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    utc REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
