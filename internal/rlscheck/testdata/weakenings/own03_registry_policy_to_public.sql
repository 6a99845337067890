-- A permissive policy TO PUBLIC on a registry that does not look at the context.
CREATE POLICY tenants_active ON tenants FOR SELECT USING (status = 'active');
