-- Plays by hour and level: plays in each hour of day (UTC), free and paid (the level at play time).
SELECT t.hour, COALESCE(sp.level, 'unknown') AS level, COUNT(*) AS plays
FROM songplays AS sp
JOIN time AS t ON t.start_time = sp.start_time
GROUP BY 1, 2
ORDER BY 1, 2
