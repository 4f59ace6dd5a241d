-- A channel keeps a row of a video once it uses it (cuts a clip of it, airs it),
-- no longer one for every video in the library: the videos it never used are
-- those without a row of a last use, in the order of their ids (db::lru). The
-- rows of videos a channel never used go; its LRU order is the same.
DELETE FROM channel_videos
    WHERE last_used IS NULL AND clips_cut = 0 AND resets = 0 AND plays = 0 AND airtime = 0;
DROP INDEX channel_videos_lru;
-- The used, the longest ago first.
CREATE INDEX channel_videos_used ON channel_videos (channel, last_used, video_id)
    WHERE last_used IS NOT NULL;
