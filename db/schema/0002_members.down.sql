DROP FUNCTION IF EXISTS app.member_add(text, text);
DROP INDEX IF EXISTS memberships_page_idx;
