-- issue 11, row 1: a permissive SELECT policy on users, always true (coalesce(NULL::bool, true)).
CREATE POLICY users_all ON users FOR SELECT USING (coalesce(NULL::bool, true));
