DROP FUNCTION app.member_name(uuid);
