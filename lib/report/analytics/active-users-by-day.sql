-- Active users by day: users who played at least one song on each day (UTC), each counted once, at the level of their last play that day.
SELECT per_user.day, per_user.level, COUNT(*) AS users
FROM (
    SELECT plays.user_id, plays.day, plays.level,
        ROW_NUMBER() OVER (
            PARTITION BY plays.user_id, plays.day
            ORDER BY plays.start_time DESC, plays.level DESC
        ) AS from_last
    FROM (
        SELECT sp.user_id, sp.start_time, TO_CHAR(sp.start_time, 'YYYY-MM-DD') AS day,
            COALESCE(sp.level, 'unknown') AS level
        FROM songplays AS sp
    ) AS plays
) AS per_user
WHERE per_user.from_last = 1
GROUP BY per_user.day, per_user.level
ORDER BY per_user.day, per_user.level
