-- issue 11, row 1: a permissive SELECT policy on users, always true (id = id).
CREATE POLICY users_all ON users FOR SELECT USING (id = id);
