-- Users by level: users at each level now (the level of their latest event).
SELECT COALESCE(u.level, 'unknown') AS level, COUNT(*) AS users
FROM users AS u
GROUP BY 1
ORDER BY 1
