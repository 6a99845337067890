-- projects, per role, as the runtime role: own rows visible, other tenants'
-- rows invisible, cross-tenant writes refused. Fixtures: fixtures/seed.sql.
-- The Client Viewer comes last: app.enter makes its transaction read-only
-- for good (and set_eq, which builds temporary tables, cannot run there).
BEGIN;
SELECT plan(26);

-- No context (app.enter never called): nothing visible, nothing written.
SELECT is((SELECT count(*) FROM projects), 0::bigint, 'no context: no project visible');
SELECT throws_ok($$INSERT INTO projects (tenant_id, name) VALUES ('11111111-1111-1111-1111-111111111111', 'no context')$$,
                 '42501', NULL, 'no context: insert refused');

-- Partner of alpha.
SELECT is((SELECT role FROM app.enter('alice@alpha.test', 'alpha', false, :'proof_alice_alpha')), 'partner', 'alice enters alpha as partner');
SELECT set_eq('SELECT name FROM projects', ARRAY['alpha-one', 'alpha-two'], 'alpha partner: sees exactly alpha''s projects');
SELECT is_empty($$SELECT 1 FROM projects WHERE id = 'b1000000-0000-0000-0000-000000000001'$$,
                'alpha partner: beta''s project is invisible by id');
SELECT throws_ok($$INSERT INTO projects (tenant_id, name) VALUES ('22222222-2222-2222-2222-222222222222', 'smuggled')$$,
                 '42501', NULL, 'alpha partner: insert into beta refused');
WITH u AS (UPDATE projects SET description = 'touched' WHERE id = 'b1000000-0000-0000-0000-000000000001' RETURNING 1)
SELECT is(count(*), 0::bigint, 'alpha partner: update of beta''s project touches nothing') FROM u;
WITH d AS (DELETE FROM projects WHERE id = 'b1000000-0000-0000-0000-000000000001' RETURNING 1)
SELECT is(count(*), 0::bigint, 'alpha partner: delete of beta''s project touches nothing') FROM d;
SELECT throws_ok($$UPDATE projects SET tenant_id = '22222222-2222-2222-2222-222222222222' WHERE id = 'a1000000-0000-0000-0000-000000000001'$$,
                 '42501', NULL, 'alpha partner: moving a project to beta refused');
WITH u AS (UPDATE projects SET description = 'edited' WHERE id = 'a1000000-0000-0000-0000-000000000001' RETURNING 1)
SELECT is(count(*), 1::bigint, 'alpha partner: updates its own project') FROM u;
SELECT lives_ok($$INSERT INTO projects (name) VALUES ('alpha-three')$$, 'alpha partner: inserts into alpha');
SELECT is((SELECT tenant_id FROM projects WHERE name = 'alpha-three'), '11111111-1111-1111-1111-111111111111'::uuid,
          'alpha partner: tenant_id defaults from the context');

-- Partner of beta.
SELECT is((SELECT role FROM app.enter('bob@beta.test', 'beta', false, :'proof_bob_beta')), 'partner', 'bob enters beta as partner');
SELECT set_eq('SELECT name FROM projects', ARRAY['beta-secret'], 'beta partner: sees exactly beta''s projects');
WITH u AS (UPDATE projects SET description = 'touched' WHERE tenant_id = '11111111-1111-1111-1111-111111111111' RETURNING 1)
SELECT is(count(*), 0::bigint, 'beta partner: update of alpha''s projects touches nothing') FROM u;

-- Platform Owner in beta: the tenant in context, not every tenant.
SELECT is((SELECT role FROM app.enter('olga@ops.test', 'beta', false, :'proof_olga_beta')), 'owner', 'olga enters beta as owner');
SELECT set_eq('SELECT name FROM projects', ARRAY['beta-secret'], 'owner in beta: sees beta''s projects only');

-- Refused contexts: another tenant, a suspended tenant, no membership.
SELECT is((SELECT tenant_id FROM app.enter('alice@alpha.test', 'beta', false, :'proof_alice_beta')), NULL::uuid, 'alice is refused beta');
SELECT is((SELECT count(*) FROM projects), 0::bigint, 'alice naming beta: no project visible');
SELECT is((SELECT tenant_id FROM app.enter('alice@alpha.test', 'gamma', false, :'proof_alice_gamma')), NULL::uuid, 'alice is refused suspended gamma');
SELECT is((SELECT count(*) FROM projects), 0::bigint, 'alice naming suspended gamma: no project visible');
SELECT is((SELECT tenant_id FROM app.enter('nina@none.test', 'alpha', false, :'proof_nina_alpha')), NULL::uuid, 'nina (no membership) is refused alpha');
SELECT is((SELECT count(*) FROM projects), 0::bigint, 'nina naming alpha: no project visible');

-- Client Viewer of alpha (last: the transaction turns read-only).
SELECT is((SELECT role FROM app.enter('vera@alpha.test', 'alpha', false, :'proof_vera_alpha')), 'client_viewer', 'vera enters alpha as client viewer');
-- (No set_eq here: it builds temporary tables, which a read-only
-- transaction refuses.)
SELECT is(ARRAY(SELECT name FROM projects ORDER BY name), ARRAY['alpha-one', 'alpha-three', 'alpha-two'],
          'alpha viewer: sees exactly alpha''s projects');
SELECT throws_ok($$INSERT INTO projects (name) VALUES ('viewer')$$, '25006', NULL, 'alpha viewer: insert refused (read-only)');

SELECT * FROM finish();
ROLLBACK;
