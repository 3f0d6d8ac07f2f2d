-- Plays by hour of day (UTC): when listeners are active.
SELECT t.hour, COUNT(*) AS plays
FROM songplays AS sp
JOIN time AS t ON t.start_time = sp.start_time
GROUP BY t.hour
ORDER BY t.hour
