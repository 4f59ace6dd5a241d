-- The quality ladder: the heights of the lower rungs made with each clip, highest
-- first and comma-separated ("480,360"), each in its own file beside the clip's.
-- Clips made before the ladder have none.
ALTER TABLE clips ADD COLUMN rungs TEXT NOT NULL DEFAULT '';
