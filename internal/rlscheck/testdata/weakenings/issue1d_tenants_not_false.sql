-- issue 11, row 1: a permissive SELECT policy on tenants, always true (NOT false).
CREATE POLICY tenants_all ON tenants FOR SELECT USING (NOT false);
