-- Per crossing (site, camera, crosswalk) per UTC hour: kept by add_event in the event's own transaction.
CREATE TABLE hourly (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    crosswalk TEXT NOT NULL,
    hour TIMESTAMPTZ NOT NULL,
    crossings INTEGER NOT NULL DEFAULT 0,
    violations INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0,
    gaps INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, camera, crosswalk, hour)
);
CREATE INDEX hourly_hour ON hourly (hour);
