-- Free versus paid: plays at each level (the level at play time) and users at each level now.
SELECT plays_by_level.level, plays_by_level.plays, COALESCE(users_by_level.users, 0) AS users
FROM (SELECT level, COUNT(*) AS plays FROM songplays GROUP BY level) AS plays_by_level
LEFT JOIN (SELECT level, COUNT(*) AS users FROM users GROUP BY level) AS users_by_level
    ON users_by_level.level = plays_by_level.level
ORDER BY plays_by_level.level
