-- Plays by user agent: plays and users for each user agent string (the report parses them into platform and browser).
SELECT sp.user_agent, COUNT(*) AS plays, COUNT(DISTINCT sp.user_id) AS users
FROM songplays AS sp
GROUP BY sp.user_agent
ORDER BY plays DESC, sp.user_agent
