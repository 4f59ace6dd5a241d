-- Each generation run of a channel, for its history (the original's
-- /api/cron-run-history): when, why (schedule, manual, start) and how many chunks.
CREATE TABLE generation_runs (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    at INTEGER NOT NULL,      -- unix seconds
    trigger TEXT NOT NULL,
    chunks INTEGER NOT NULL
);
CREATE INDEX generation_runs_by_time ON generation_runs (channel, at DESC, id DESC);
