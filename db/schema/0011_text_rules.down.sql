-- Back to 0010's constraints. Rows written under 0011's rules satisfy
-- 0010's constraints, except emails with non-ASCII letters that lower()
-- would fold: those rows block the down migration.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM (VALUES
        ('users', 'users_email_check', 'email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 320 AND email LIKE ''_%@_%'''),
        ('users', 'users_display_name_check', 'length(display_name) <= 200'),
        ('tenants', 'tenants_name_check', 'length(btrim(name)) BETWEEN 1 AND 200'),
        ('projects', 'projects_name_check', 'length(btrim(name)) BETWEEN 1 AND 200'),
        ('projects', 'projects_description_check', 'length(description) <= 10000'),
        ('tasks', 'tasks_title_check', 'length(btrim(title)) BETWEEN 1 AND 500'),
        ('task_comments', 'task_comments_body_check', 'length(btrim(body)) BETWEEN 1 AND 4000'),
        ('audit_log', 'audit_log_reason_check', 'length(btrim(reason)) BETWEEN 1 AND 500')
    ) v(tbl, con, expr) LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I, ADD CONSTRAINT %I CHECK (%s)', c.tbl, c.con, c.con, c.expr);
    END LOOP;
END
$$;
DROP FUNCTION app.valid_email(text);
DROP FUNCTION app.text_ok(text, boolean, boolean);
-- app.fold_email stays: app.enter and app.member_add (db/policies/
-- 00_functions.sql) call it, and a binary from before 0011 does not
-- recreate them when it migrates up again.
