-- Longest sessions: the ten sessions with the most plays, and how long they lasted (minutes).
SELECT sp.user_id, sp.session_id, COUNT(*) AS plays,
    {{minutes_between|MIN(sp.start_time)|MAX(sp.start_time)}} AS minutes
FROM songplays AS sp
GROUP BY sp.user_id, sp.session_id
ORDER BY plays DESC, sp.user_id, sp.session_id
LIMIT 10
