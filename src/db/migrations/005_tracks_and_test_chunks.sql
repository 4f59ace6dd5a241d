-- A track's length, read once when it is first seen (the music view shows it), and
-- when an operator took it out of rotation (POST /api/delete_audio): it stays out,
-- even if the file is put back.
ALTER TABLE tracks ADD COLUMN duration REAL;
ALTER TABLE tracks ADD COLUMN removed_at INTEGER;

-- A chunk made to try the settings (POST /api/generate_test_chunk) airs only when
-- an operator plays it.
ALTER TABLE chunks ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
