-- Most active users: the ten users with the most plays.
SELECT u.user_id, u.first_name, u.last_name, u.level, COUNT(*) AS plays
FROM songplays AS sp
JOIN users AS u ON u.user_id = sp.user_id
GROUP BY u.user_id, u.first_name, u.last_name, u.level
ORDER BY plays DESC, u.user_id
LIMIT 10
