-- Back to 0010's constraints and normalization. Rows written under 0011's
-- rules satisfy 0010's constraints, except emails with non-ASCII letters
-- that lower() would fold: those rows block the down migration.
ALTER TABLE users DROP CONSTRAINT users_email_check,
    ADD CONSTRAINT users_email_check CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 320 AND email LIKE '_%@_%');
ALTER TABLE users DROP CONSTRAINT users_display_name_check,
    ADD CONSTRAINT users_display_name_check CHECK (length(display_name) <= 200);
ALTER TABLE tenants DROP CONSTRAINT tenants_name_check,
    ADD CONSTRAINT tenants_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200);
ALTER TABLE projects DROP CONSTRAINT projects_name_check,
    ADD CONSTRAINT projects_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200);
ALTER TABLE projects DROP CONSTRAINT projects_description_check,
    ADD CONSTRAINT projects_description_check CHECK (length(description) <= 10000);
ALTER TABLE tasks DROP CONSTRAINT tasks_title_check,
    ADD CONSTRAINT tasks_title_check CHECK (length(btrim(title)) BETWEEN 1 AND 500);
ALTER TABLE task_comments DROP CONSTRAINT task_comments_body_check,
    ADD CONSTRAINT task_comments_body_check CHECK (length(btrim(body)) BETWEEN 1 AND 4000);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_reason_check,
    ADD CONSTRAINT audit_log_reason_check CHECK (length(btrim(reason)) BETWEEN 1 AND 500);
DROP FUNCTION app.valid_email(text);
DROP FUNCTION app.text_ok(text, boolean, boolean);
-- app.fold_email stays: app.enter and app.member_add (db/policies/
-- 00_functions.sql) call it, and a binary from before 0011 does not
-- recreate them when it migrates up again.
