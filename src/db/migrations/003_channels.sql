-- Many channels. The library of files stays shared (each video probed once); what
-- a channel did with it is the channel's: its LRU place and plays of each video,
-- its used ranges, its chunks, its tracks and their plays, its counters and its
-- continuity point. Everything a one-channel release recorded belongs to the
-- classic channel, `main`.

-- Channels made through the API (the file's channels and the classic one are not
-- stored): the definition as the API takes it, JSON.
CREATE TABLE channels (
    slug       TEXT    PRIMARY KEY,
    definition TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- A video as one channel sees it: a row for every video the channel has looked at
-- (added as the library grows), in the channel's LRU order by the index below.
CREATE TABLE channel_videos (
    channel   TEXT    NOT NULL,
    video_id  INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    -- LRU clock value of the last clip this channel cut of it.
    last_used INTEGER,
    clips_cut INTEGER NOT NULL DEFAULT 0,
    resets    INTEGER NOT NULL DEFAULT 0,
    plays     INTEGER NOT NULL DEFAULT 0,
    airtime   REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, video_id)
) WITHOUT ROWID;
INSERT INTO channel_videos (channel, video_id, last_used, clips_cut, resets, plays, airtime)
    SELECT 'main', id, last_used, clips_cut, resets, plays, airtime FROM videos
    WHERE last_used IS NOT NULL OR clips_cut > 0 OR resets > 0 OR plays > 0 OR airtime > 0;
CREATE INDEX channel_videos_lru ON channel_videos (channel, coalesce(last_used, -1), video_id);
-- videos.last_used, clips_cut and resets are no longer read; plays and airtime stay
-- the totals of every channel.
DROP INDEX videos_lru;

ALTER TABLE video_ranges ADD COLUMN channel TEXT NOT NULL DEFAULT 'main';
DROP INDEX video_ranges_video;
CREATE INDEX video_ranges_video ON video_ranges (channel, video_id);

ALTER TABLE chunks ADD COLUMN channel TEXT NOT NULL DEFAULT 'main';
CREATE INDEX chunks_channel ON chunks (channel);

-- Tracks become per channel (each channel scans its own music folder).
CREATE TABLE tracks_by_channel (
    id          INTEGER PRIMARY KEY,
    channel     TEXT    NOT NULL DEFAULT 'main',
    path        TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    present     INTEGER NOT NULL DEFAULT 1,
    title       TEXT    NOT NULL DEFAULT '',
    error       TEXT,
    added_at    INTEGER NOT NULL,
    plays       INTEGER NOT NULL DEFAULT 0,
    last_played INTEGER,
    airtime     REAL    NOT NULL DEFAULT 0,
    UNIQUE (channel, path)
);
INSERT INTO tracks_by_channel
    (id, channel, path, size, mtime_ns, present, title, error, added_at, plays, last_played, airtime)
    SELECT id, 'main', path, size, mtime_ns, present, title, error, added_at, plays, last_played, airtime
    FROM tracks;
DROP TABLE tracks;
ALTER TABLE tracks_by_channel RENAME TO tracks;

-- Counters, requests, the airing clock (the order of a channel's airings) and the
-- continuity point, per channel: `<slug>/<key>`. The LRU clock stays shared: it
-- only has to grow.
UPDATE meta SET key = 'main/' || key
    WHERE key IN ('next_seq', 'next_pts', 'next_pdt_ms', 'discontinuity_number',
                  'seconds_streamed', 'chunks_created', 'chunks_aired',
                  'requested_chunks', 'schedule_last_run', 'airing_clock');
