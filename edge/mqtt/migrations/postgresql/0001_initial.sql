-- Events partitioned by month of decided_at: a year of a city stays a set of small tables, old months
-- can be detached or dropped whole. Partitions are created by the centre as months arrive.
-- event_keys (unpartitioned) makes the id unique across partitions: add_event inserts there first.
CREATE TABLE event_keys (
    event_id TEXT PRIMARY KEY,
    decided_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE events (
    event_id TEXT NOT NULL,
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    type TEXT NOT NULL,
    decided_time TEXT NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL,
    historical INTEGER NOT NULL,
    received_utc DOUBLE PRECISION NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (event_id, decided_at)
) PARTITION BY RANGE (decided_at);
CREATE INDEX events_site ON events (site, camera, decided_time);
CREATE TABLE evidence (
    event_id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    status TEXT NOT NULL,
    received_utc DOUBLE PRECISION NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE sites (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    availability TEXT NOT NULL DEFAULT 'unknown',
    availability_utc DOUBLE PRECISION,
    status TEXT,
    status_utc DOUBLE PRECISION,
    duplicates INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    last_rejection TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (site, camera)
);
CREATE TABLE chain_heads (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    device TEXT NOT NULL,
    seq BIGINT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    received_utc DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site, camera)
);
CREATE TABLE chain_gaps (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    noted_utc DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site, camera, first_seq)
);
CREATE TABLE dead_letters (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_utc DOUBLE PRECISION NOT NULL,
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL,
    prefix BYTEA NOT NULL
);
