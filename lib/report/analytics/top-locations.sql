-- Top locations: where the most plays come from.
SELECT sp.location, COUNT(*) AS plays, COUNT(DISTINCT sp.user_id) AS users
FROM songplays AS sp
WHERE sp.location IS NOT NULL
GROUP BY sp.location
ORDER BY plays DESC, sp.location
LIMIT 10
