-- The global registries (tenants, users) are no tenant tables, but they
-- must not become an oracle: a user sees the tenants it belongs to (and
-- the one in context), and, as an Owner or Partner, the users of the tenant
-- in context; a Client Viewer sees its own user row only, and its team's
-- names through app.member_name() (issue 11); an Owner sees every tenant.
-- Fixtures: fixtures/seed.sql. The Client Viewer's checks come last:
-- app.enter makes its transaction read-only.
BEGIN;
SELECT plan(14);

SELECT is((SELECT count(*) FROM tenants), 0::bigint, 'no context: no tenant visible');
SELECT is((SELECT count(*) FROM users), 0::bigint, 'no context: no user visible');

SELECT is((SELECT role FROM app.enter('alice@alpha.test', 'alpha', false, :'proof_alice_alpha')), 'partner', 'alice enters alpha as partner');
SELECT set_eq('SELECT slug FROM tenants', ARRAY['alpha', 'gamma'], 'alpha partner: sees its own tenants, not beta');
SELECT set_eq('SELECT email FROM users', ARRAY['alice@alpha.test', 'vera@alpha.test'], 'alpha partner: sees alpha''s users, not bob or olga');

SELECT is((SELECT role FROM app.enter('bob@beta.test', 'beta', false, :'proof_bob_beta')), 'partner', 'bob enters beta as partner');
SELECT set_eq('SELECT slug FROM tenants', ARRAY['beta'], 'beta partner: sees beta only');

SELECT is((SELECT role FROM app.enter('olga@ops.test', 'alpha', false, :'proof_olga_alpha')), 'owner', 'olga enters alpha as owner');
SELECT set_eq('SELECT slug FROM tenants', ARRAY['alpha', 'beta', 'gamma'], 'owner: sees every tenant');

SELECT is((SELECT role FROM app.enter('vera@alpha.test', 'alpha', false, :'proof_vera_alpha')), 'client_viewer', 'vera enters alpha as client viewer');
SELECT is(ARRAY(SELECT email FROM users ORDER BY email), ARRAY['vera@alpha.test'], 'alpha client viewer: its own user row only, no co-member''s email');
SELECT is(ARRAY(SELECT u.email FROM memberships m LEFT JOIN users u ON u.id = m.user_id WHERE m.tenant_id = app.current_tenant_id() ORDER BY 1),
          ARRAY['vera@alpha.test', NULL], 'alpha client viewer: a query joining the members to users gets no co-member''s email');
SELECT is(ARRAY(SELECT app.member_name(m.user_id) IS NOT NULL FROM memberships m WHERE m.tenant_id = app.current_tenant_id()),
          ARRAY[true, true], 'alpha client viewer: its team''s names, through app.member_name()');
SELECT is(app.member_name('bbbbbbbb-0000-0000-0000-000000000001'), NULL, 'alpha client viewer: no name of beta''s');

SELECT * FROM finish();
ROLLBACK;
