-- issue 11, row 1: a permissive SELECT policy on tenants, always true (1 = 1).
CREATE POLICY tenants_all ON tenants FOR SELECT USING (1 = 1);
