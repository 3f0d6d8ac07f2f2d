-- Plays around upgrading: each change from free to paid (user_levels), with the user's plays and days with plays in the free interval it ends and in the paid interval it starts.
WITH intervals AS (
    SELECT ul.user_id, ul.level, ul.valid_from, ul.valid_to,
        LAG(ul.level) OVER (PARTITION BY ul.user_id ORDER BY ul.valid_from, ul.valid_to NULLS LAST) AS previous_level,
        LAG(ul.valid_from) OVER (PARTITION BY ul.user_id ORDER BY ul.valid_from, ul.valid_to NULLS LAST) AS previous_from
    FROM user_levels AS ul
),
upgrades AS (
    SELECT i.user_id, i.previous_from AS free_from, i.valid_from AS upgraded_at, i.valid_to AS paid_to
    FROM intervals AS i
    WHERE i.previous_level = 'free' AND i.level = 'paid'
)
SELECT u.user_id, u.upgraded_at,
    SUM(CASE WHEN sp.start_time < u.upgraded_at THEN 1 ELSE 0 END) AS plays_before,
    SUM(CASE WHEN sp.start_time >= u.upgraded_at THEN 1 ELSE 0 END) AS plays_after,
    COUNT(DISTINCT CASE WHEN sp.start_time < u.upgraded_at THEN TO_CHAR(sp.start_time, 'YYYY-MM-DD') END) AS days_before,
    COUNT(DISTINCT CASE WHEN sp.start_time >= u.upgraded_at THEN TO_CHAR(sp.start_time, 'YYYY-MM-DD') END) AS days_after
FROM upgrades AS u
LEFT JOIN songplays AS sp
    ON sp.user_id = u.user_id
    AND sp.start_time >= u.free_from
    AND (u.paid_to IS NULL OR sp.start_time < u.paid_to)
GROUP BY u.user_id, u.upgraded_at
ORDER BY u.upgraded_at, u.user_id
