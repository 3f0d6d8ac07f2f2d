-- Sessions by plays: how many sessions had 1, 2-5, 6-10, … plays.
SELECT
    CASE
        WHEN per_session.plays = 1 THEN '1'
        WHEN per_session.plays <= 5 THEN '2-5'
        WHEN per_session.plays <= 10 THEN '6-10'
        WHEN per_session.plays <= 20 THEN '11-20'
        WHEN per_session.plays <= 50 THEN '21-50'
        WHEN per_session.plays <= 100 THEN '51-100'
        ELSE 'over 100'
    END AS plays_per_session,
    COUNT(*) AS sessions,
    MIN(per_session.plays) AS fewest_plays
FROM (
    SELECT sp.user_id, sp.session_id, COUNT(*) AS plays
    FROM songplays AS sp
    GROUP BY sp.user_id, sp.session_id
) AS per_session
GROUP BY 1
ORDER BY fewest_plays
