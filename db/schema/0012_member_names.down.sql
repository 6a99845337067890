DROP FUNCTION app.member_names();
