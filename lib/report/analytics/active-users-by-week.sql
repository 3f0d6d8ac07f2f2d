-- Active users by week: users who played at least one song in each week (Monday to Sunday, UTC), each counted once, at the level of their last play that week.
-- DATE_TRUNC('week', ts) is the Monday of the week on both engines (https://docs.aws.amazon.com/redshift/latest/dg/r_DATE_TRUNC.html).
SELECT per_user.week_start, per_user.level, COUNT(*) AS users
FROM (
    SELECT plays.user_id, plays.week_start, plays.level,
        ROW_NUMBER() OVER (
            PARTITION BY plays.user_id, plays.week_start
            ORDER BY plays.start_time DESC, plays.level DESC
        ) AS from_last
    FROM (
        SELECT sp.user_id, sp.start_time, TO_CHAR(DATE_TRUNC('week', sp.start_time), 'YYYY-MM-DD') AS week_start,
            COALESCE(sp.level, 'unknown') AS level
        FROM songplays AS sp
    ) AS plays
) AS per_user
WHERE per_user.from_last = 1
GROUP BY per_user.week_start, per_user.level
ORDER BY per_user.week_start, per_user.level
