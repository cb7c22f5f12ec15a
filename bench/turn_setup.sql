-- The state bench/turn.pgbench starts from: 1,000 chat users (load-0 … load-999, the load
-- generator's clients) with an open conversation each, as after their first turn.
INSERT INTO users (id, phone_number, display_name, channel, created_at, updated_at)
SELECT gen_random_uuid(), 'chat_load-' || n, NULL, 'chat', now(), now()
FROM generate_series(0, 999) AS n;
INSERT INTO conversations (id, user_id, open_user_id, active_agent, state, human_notice_sent,
                           flag_reason, started_at, last_activity_at, ended_at)
SELECT gen_random_uuid(), id, id, 'anna', 'bot', false, NULL, now(), now(), NULL FROM users;
