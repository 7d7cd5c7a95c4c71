-- The centre's tables as they were before versioned migrations (IF NOT EXISTS: an existing file keeps its rows).
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    type TEXT NOT NULL,
    decided_time TEXT NOT NULL,
    historical INTEGER NOT NULL,
    received_utc REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_site ON events (site, camera, decided_time);
CREATE TABLE IF NOT EXISTS evidence (
    event_id TEXT PRIMARY KEY,  -- the violation's id in events; either may arrive first
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    status TEXT NOT NULL,  -- recorded | lost
    received_utc REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sites (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    availability TEXT NOT NULL DEFAULT 'unknown',
    availability_utc REAL,
    status TEXT,
    status_utc REAL,
    duplicates INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    last_rejection TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (site, camera)
);
-- Each box's evidence chain as its events announced it: the newest (sequence, manifest hash), and
-- the sequence numbers that were skipped (a range each; a late arrival splits or closes its range).
CREATE TABLE IF NOT EXISTS chain_heads (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    received_utc REAL NOT NULL,
    PRIMARY KEY (site, camera)
);
CREATE TABLE IF NOT EXISTS chain_gaps (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    noted_utc REAL NOT NULL,
    PRIMARY KEY (site, camera, first_seq)
);
-- Messages the collector rejected, kept so nothing that arrived is silently gone: what, from where, why.
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_utc REAL NOT NULL,
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL,
    prefix BLOB NOT NULL
);
