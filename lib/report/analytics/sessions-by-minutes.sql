-- Sessions by minutes: how long sessions lasted, from their first play's start to their last's (whole minutes).
SELECT
    CASE
        WHEN per_session.minutes < 1 THEN 'under 1'
        WHEN per_session.minutes < 15 THEN '1-14'
        WHEN per_session.minutes < 30 THEN '15-29'
        WHEN per_session.minutes < 60 THEN '30-59'
        WHEN per_session.minutes < 120 THEN '60-119'
        WHEN per_session.minutes < 240 THEN '120-239'
        ELSE '240 or more'
    END AS minutes_per_session,
    COUNT(*) AS sessions,
    MIN(per_session.minutes) AS shortest_minutes
FROM (
    SELECT sp.user_id, sp.session_id,
        {{minutes_between|MIN(sp.start_time)|MAX(sp.start_time)}} AS minutes
    FROM songplays AS sp
    GROUP BY sp.user_id, sp.session_id
) AS per_session
GROUP BY 1
ORDER BY shortest_minutes
