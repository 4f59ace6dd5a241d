-- Seconds of stream aired per channel and UTC day, for the stats page's chart of
-- the last 30 days. `day` counts days since 1970-01-01 (UTC); a day with nothing
-- aired has no row. Added to by the recorder with each published segment.
CREATE TABLE airtime_by_day (
    channel TEXT NOT NULL,
    day INTEGER NOT NULL,
    seconds REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, day)
) WITHOUT ROWID;
