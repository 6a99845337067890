-- issue 11, row 7: a table keyed by org_id (no tenant_id column), no RLS, granted to the runtime role.
CREATE TABLE org_notes (org_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), body text NOT NULL,
    PRIMARY KEY (org_id, id));
GRANT SELECT, INSERT, UPDATE, DELETE ON org_notes TO pgtenant_app;
INSERT INTO org_notes (org_id, body) VALUES ('00000000-0000-0000-0000-0000000000a1', 'alpha''s'), ('00000000-0000-0000-0000-0000000000b2', 'beta''s');
