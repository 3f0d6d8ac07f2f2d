-- Conversions by week: level changes in each week (Monday to Sunday, UTC) by event time, from user_levels: an interval whose previous interval (same user) had the other level, counted in its valid_from's week.
-- DATE_TRUNC('week', ts) is the Monday of the week on both engines (https://docs.aws.amazon.com/redshift/latest/dg/r_DATE_TRUNC.html).
SELECT TO_CHAR(DATE_TRUNC('week', changes.valid_from), 'YYYY-MM-DD') AS week_start,
    SUM(CASE WHEN changes.previous_level = 'free' AND changes.level = 'paid' THEN 1 ELSE 0 END) AS free_to_paid,
    SUM(CASE WHEN changes.previous_level = 'paid' AND changes.level = 'free' THEN 1 ELSE 0 END) AS paid_to_free
FROM (
    SELECT ul.level, ul.valid_from,
        LAG(ul.level) OVER (PARTITION BY ul.user_id ORDER BY ul.valid_from, ul.valid_to NULLS LAST) AS previous_level
    FROM user_levels AS ul
) AS changes
WHERE (changes.previous_level = 'free' AND changes.level = 'paid')
    OR (changes.previous_level = 'paid' AND changes.level = 'free')
GROUP BY 1
ORDER BY 1
