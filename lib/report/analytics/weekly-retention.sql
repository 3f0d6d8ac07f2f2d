-- Weekly retention: users first seen (their first song played) in week W (Monday to Sunday, UTC), and how many of them played in week W + week_offset, for every week with plays from W on.
-- DATE_TRUNC('week', ts) is the Monday of the week on both engines (https://docs.aws.amazon.com/redshift/latest/dg/r_DATE_TRUNC.html).
WITH user_weeks AS (
    SELECT DISTINCT sp.user_id, DATE_TRUNC('week', sp.start_time) AS activity_week
    FROM songplays AS sp
),
cohorts AS (
    SELECT uw.user_id, MIN(uw.activity_week) AS cohort_week
    FROM user_weeks AS uw
    GROUP BY uw.user_id
),
cohort_sizes AS (
    SELECT c.cohort_week, COUNT(*) AS cohort_users
    FROM cohorts AS c
    GROUP BY c.cohort_week
),
weeks_with_plays AS (
    SELECT DISTINCT uw.activity_week
    FROM user_weeks AS uw
),
activity AS (
    SELECT c.cohort_week, uw.activity_week, COUNT(*) AS active_users
    FROM cohorts AS c
    JOIN user_weeks AS uw ON uw.user_id = c.user_id
    GROUP BY c.cohort_week, uw.activity_week
)
SELECT TO_CHAR(cs.cohort_week, 'YYYY-MM-DD') AS cohort_week,
    cs.cohort_users,
    {{days_between|cs.cohort_week|w.activity_week}} / 7 AS week_offset,
    COALESCE(a.active_users, 0) AS active_users,
    ROUND(100.0 * COALESCE(a.active_users, 0) / cs.cohort_users, 1) AS retained_pct
FROM cohort_sizes AS cs
JOIN weeks_with_plays AS w ON w.activity_week >= cs.cohort_week
LEFT JOIN activity AS a ON a.cohort_week = cs.cohort_week AND a.activity_week = w.activity_week
ORDER BY cs.cohort_week, w.activity_week
