-- User agents: plays and users by browser and operating system.
SELECT
    CASE
        WHEN user_agent LIKE '%Edge%' THEN 'Edge'
        WHEN user_agent LIKE '%Firefox%' THEN 'Firefox'
        WHEN user_agent LIKE '%Chrome%' THEN 'Chrome'
        WHEN user_agent LIKE '%Safari%' THEN 'Safari'
        WHEN user_agent LIKE '%MSIE%' OR user_agent LIKE '%Trident%' THEN 'Internet Explorer'
        ELSE 'Other'
    END AS browser,
    CASE
        WHEN user_agent LIKE '%iPhone%' OR user_agent LIKE '%iPad%' THEN 'iOS'
        WHEN user_agent LIKE '%Android%' THEN 'Android'
        WHEN user_agent LIKE '%Windows%' THEN 'Windows'
        WHEN user_agent LIKE '%Macintosh%' THEN 'macOS'
        WHEN user_agent LIKE '%Linux%' THEN 'Linux'
        ELSE 'Other'
    END AS os,
    COUNT(*) AS plays,
    COUNT(DISTINCT user_id) AS users
FROM songplays
GROUP BY 1, 2
ORDER BY plays DESC, browser, os
