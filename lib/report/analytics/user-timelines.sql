-- User timelines: every user's free and paid intervals by event time (user_levels; valid_to NULL: the current one), with the user's name.
SELECT ul.user_id, u.first_name, u.last_name, ul.level, ul.valid_from, ul.valid_to
FROM user_levels AS ul
LEFT JOIN users AS u ON u.user_id = ul.user_id
ORDER BY ul.user_id, ul.valid_from, ul.valid_to
