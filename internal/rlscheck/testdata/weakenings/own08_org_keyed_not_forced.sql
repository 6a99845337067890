-- A tenant table keyed by org_id (a reference to tenants), RLS enabled but not forced.
CREATE TABLE org_docs (org_id uuid NOT NULL REFERENCES tenants (id), id uuid NOT NULL DEFAULT gen_random_uuid(),
    body text NOT NULL, PRIMARY KEY (org_id, id));
ALTER TABLE org_docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY org_docs_isolation ON org_docs USING (org_id = (SELECT app.current_tenant_id()));
GRANT SELECT ON org_docs TO pgtenant_app;
