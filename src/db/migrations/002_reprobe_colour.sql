-- Probes recorded before the colour description was (ProbeInfo.color): probed again
-- once, so HDR sources are tone-mapped and full-range ones converted. Ranges, LRU
-- place and plays are kept. Files set aside as "no video stream" are probed again
-- too, for the reason in words ("audio only", "only cover art").
UPDATE videos SET probe = NULL, duration = NULL
    WHERE probe IS NOT NULL AND json_extract(probe, '$.color') IS NULL;
UPDATE videos SET error = NULL WHERE error LIKE '%not usable: no video stream';
