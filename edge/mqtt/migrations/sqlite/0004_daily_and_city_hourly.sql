-- Coarser rollups, kept by add_event in the event's own transaction next to ``hourly``, so analytics over
-- weeks read a few thousand rows instead of every crossing's every hour.
-- Per crossing per UTC day: compliance by crossing (and by weekday/week/day of one site) over whole days.
CREATE TABLE daily (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    crosswalk TEXT NOT NULL,
    day TEXT NOT NULL,  -- 'YYYY-MM-DD' (UTC)
    crossings INTEGER NOT NULL DEFAULT 0,
    violations INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0,
    gaps INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, camera, crosswalk, day)
);
CREATE INDEX daily_day ON daily (day);
-- The whole city per UTC hour: compliance by hour of day, weekday, week and day without a site filter.
CREATE TABLE city_hourly (
    hour TEXT PRIMARY KEY,  -- 'YYYY-MM-DDTHH:00:00Z'
    crossings INTEGER NOT NULL DEFAULT 0,
    violations INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0,
    gaps INTEGER NOT NULL DEFAULT 0
);
-- What the hourly rollup already holds.
INSERT INTO daily (site, camera, crosswalk, day, crossings, violations, warnings, gaps)
SELECT site, camera, crosswalk, substr(hour, 1, 10), SUM(crossings), SUM(violations), SUM(warnings), SUM(gaps)
FROM hourly GROUP BY 1, 2, 3, 4;
INSERT INTO city_hourly (hour, crossings, violations, warnings, gaps)
SELECT hour, SUM(crossings), SUM(violations), SUM(warnings), SUM(gaps) FROM hourly GROUP BY hour;
