-- Most played artists: the ten artists with the most plays (matched songs only).
SELECT a.name AS artist, COUNT(*) AS plays
FROM songplays AS sp
JOIN artists AS a ON a.artist_id = sp.artist_id
GROUP BY a.name
ORDER BY plays DESC, a.name
LIMIT 10
