-- The state bench/turn.pgbench starts from: the default chat user with an open conversation, as
-- after their first turn.
INSERT INTO users (id, phone_number, display_name, channel, created_at, updated_at)
VALUES ('018f0000-0000-7000-8000-000000000001', 'chat_chat_user', NULL, 'chat', now(), now());
INSERT INTO conversations (id, user_id, open_user_id, active_agent, state, human_notice_sent,
                           flag_reason, started_at, last_activity_at, ended_at)
VALUES ('018f0000-0000-7000-8000-000000000002', '018f0000-0000-7000-8000-000000000001',
        '018f0000-0000-7000-8000-000000000001', 'anna', 'bot', false, NULL, now(), now(), NULL);
