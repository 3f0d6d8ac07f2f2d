-- Plays around upgrading: each user who went from free to paid (user_levels), their plays and days with plays before and from their first upgrade on.
WITH upgrades AS (
    SELECT changes.user_id, MIN(changes.valid_from) AS upgraded_at
    FROM (
        SELECT ul.user_id, ul.level, ul.valid_from,
            LAG(ul.level) OVER (PARTITION BY ul.user_id ORDER BY ul.valid_from, ul.valid_to NULLS LAST) AS previous_level
        FROM user_levels AS ul
    ) AS changes
    WHERE changes.previous_level = 'free' AND changes.level = 'paid'
    GROUP BY changes.user_id
)
SELECT u.user_id, u.upgraded_at,
    SUM(CASE WHEN sp.start_time < u.upgraded_at THEN 1 ELSE 0 END) AS plays_before,
    SUM(CASE WHEN sp.start_time >= u.upgraded_at THEN 1 ELSE 0 END) AS plays_after,
    COUNT(DISTINCT CASE WHEN sp.start_time < u.upgraded_at THEN TO_CHAR(sp.start_time, 'YYYY-MM-DD') END) AS days_before,
    COUNT(DISTINCT CASE WHEN sp.start_time >= u.upgraded_at THEN TO_CHAR(sp.start_time, 'YYYY-MM-DD') END) AS days_after
FROM upgrades AS u
LEFT JOIN songplays AS sp ON sp.user_id = u.user_id
GROUP BY u.user_id, u.upgraded_at
ORDER BY u.upgraded_at, u.user_id
