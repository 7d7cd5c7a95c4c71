-- Per crossing (site, camera, crosswalk) per UTC hour: kept by add_event in the event's own transaction.
CREATE TABLE hourly (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    crosswalk TEXT NOT NULL,
    hour TEXT NOT NULL,  -- 'YYYY-MM-DDTHH:00:00Z'
    crossings INTEGER NOT NULL DEFAULT 0,  -- every decided entry: crossings and violations
    violations INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0,  -- pre-warnings given
    gaps INTEGER NOT NULL DEFAULT 0,  -- entries decided while enforcement was suspended
    PRIMARY KEY (site, camera, crosswalk, hour)
);
CREATE INDEX hourly_hour ON hourly (hour);
-- Events stored before the rollup existed.
INSERT INTO hourly (site, camera, crosswalk, hour, crossings, violations, warnings, gaps)
SELECT site, camera, COALESCE(json_extract(payload, '$.crosswalk'), ''), substr(decided_time, 1, 13) || ':00:00Z',
       SUM(CASE WHEN type IN ('crossing', 'violation') THEN 1 ELSE 0 END),
       SUM(CASE WHEN type = 'violation' THEN 1 ELSE 0 END),
       SUM(CASE WHEN type = 'pre_warning' THEN 1 ELSE 0 END),
       SUM(CASE WHEN type IN ('crossing', 'violation') AND json_extract(payload, '$.enforced') = 0 THEN 1 ELSE 0 END)
FROM events GROUP BY 1, 2, 3, 4;
