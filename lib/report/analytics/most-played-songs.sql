-- Most played songs: the ten songs with the most plays (matched songs only).
SELECT s.title, a.name AS artist, COUNT(*) AS plays
FROM songplays AS sp
JOIN songs AS s ON s.song_id = sp.song_id
JOIN artists AS a ON a.artist_id = sp.artist_id
GROUP BY s.title, a.name
ORDER BY plays DESC, s.title, a.name
LIMIT 10
