-- Plays by day: plays on each day (UTC) of the loaded period, free and paid (the level at play time).
SELECT t.year, t.month, t.day, COALESCE(sp.level, 'unknown') AS level, COUNT(*) AS plays
FROM songplays AS sp
JOIN time AS t ON t.start_time = sp.start_time
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
