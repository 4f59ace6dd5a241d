-- shufflecast's state. Times are Unix seconds; "clock" columns are values of a
-- counter in `meta` (LRU and airing order must survive clock changes).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Source videos, present or not: a removed video keeps its history, so it resumes
-- its place if it comes back.
CREATE TABLE videos (
    id          INTEGER PRIMARY KEY,
    path        TEXT    NOT NULL UNIQUE,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    present     INTEGER NOT NULL DEFAULT 1,
    -- ffprobe facts (JSON) once probed and usable; NULL until then.
    probe       TEXT,
    duration    REAL,
    -- Why the file is unusable, while it stays unchanged (size, mtime).
    error       TEXT,
    title       TEXT    NOT NULL DEFAULT '',
    creator     TEXT,
    url         TEXT,
    meta_origin TEXT,
    added_at    INTEGER NOT NULL,
    -- LRU clock value of the last clip cut; NULL: never used, so it comes first.
    last_used   INTEGER,
    clips_cut   INTEGER NOT NULL DEFAULT 0,
    -- Times every range of the video was used and the ranges started over.
    resets      INTEGER NOT NULL DEFAULT 0,
    -- Clips of it that went on air, and seconds aired.
    plays       INTEGER NOT NULL DEFAULT 0,
    airtime     REAL    NOT NULL DEFAULT 0
);
-- The LRU pick: the first usable video in (last_used, id) order. Never-used videos
-- sort first as -1. Queries must repeat this WHERE clause to use the index.
CREATE INDEX videos_lru ON videos (coalesce(last_used, -1), id)
    WHERE present = 1 AND duration IS NOT NULL;
CREATE INDEX videos_stamp ON videos (size, mtime_ns);

-- Time ranges of a video already cut into clips (merged, seconds).
CREATE TABLE video_ranges (
    video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    start    REAL    NOT NULL,
    end      REAL    NOT NULL
);
CREATE INDEX video_ranges_video ON video_ranges (video_id);

-- Chunks: a montage of clips airing as a unit. A 'building' chunk is a generation
-- job; it survives a restart and is finished then.
CREATE TABLE chunks (
    id            TEXT    PRIMARY KEY,
    state         TEXT    NOT NULL CHECK (state IN ('building', 'ready')),
    profile       TEXT    NOT NULL,
    encoder       TEXT    NOT NULL,
    target_secs   REAL    NOT NULL,
    created_at    INTEGER NOT NULL,
    ready_at      INTEGER,
    times_aired   INTEGER NOT NULL DEFAULT 0,
    -- Airing clock value of the last airing; NULL: never aired.
    last_aired    INTEGER,
    last_aired_at INTEGER
) WITHOUT ROWID;

CREATE TABLE clips (
    chunk_id   TEXT    NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    file       TEXT    NOT NULL,
    video_id   INTEGER REFERENCES videos (id) ON DELETE SET NULL,
    source     TEXT,
    title      TEXT    NOT NULL,
    creator    TEXT,
    start      REAL    NOT NULL,
    duration   REAL    NOT NULL,
    size_bytes INTEGER NOT NULL,
    encoder    TEXT    NOT NULL,
    PRIMARY KEY (chunk_id, idx)
) WITHOUT ROWID;

-- Music tracks, present or not.
CREATE TABLE tracks (
    id          INTEGER PRIMARY KEY,
    path        TEXT    NOT NULL UNIQUE,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    present     INTEGER NOT NULL DEFAULT 1,
    title       TEXT    NOT NULL DEFAULT '',
    error       TEXT,
    added_at    INTEGER NOT NULL,
    plays       INTEGER NOT NULL DEFAULT 0,
    last_played INTEGER,
    airtime     REAL    NOT NULL DEFAULT 0
);
