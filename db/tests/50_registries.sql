-- The global registries (tenants, users) are no tenant tables, but they
-- must not become an oracle: a user sees the tenants it belongs to (and
-- the one in context), and the users of the tenant in context; an Owner
-- sees every tenant. Fixtures: fixtures/seed.sql.
BEGIN;
SELECT plan(9);

SELECT is((SELECT count(*) FROM tenants), 0::bigint, 'no context: no tenant visible');
SELECT is((SELECT count(*) FROM users), 0::bigint, 'no context: no user visible');

SELECT is((SELECT role FROM app.enter('alice@alpha.test', 'alpha', false, :'proof_alice_alpha')), 'partner', 'alice enters alpha as partner');
SELECT set_eq('SELECT slug FROM tenants', ARRAY['alpha', 'gamma'], 'alpha partner: sees its own tenants, not beta');
SELECT set_eq('SELECT email FROM users', ARRAY['alice@alpha.test', 'vera@alpha.test'], 'alpha partner: sees alpha''s users, not bob or olga');

SELECT is((SELECT role FROM app.enter('bob@beta.test', 'beta', false, :'proof_bob_beta')), 'partner', 'bob enters beta as partner');
SELECT set_eq('SELECT slug FROM tenants', ARRAY['beta'], 'beta partner: sees beta only');

SELECT is((SELECT role FROM app.enter('olga@ops.test', 'alpha', false, :'proof_olga_alpha')), 'owner', 'olga enters alpha as owner');
SELECT set_eq('SELECT slug FROM tenants', ARRAY['alpha', 'beta', 'gamma'], 'owner: sees every tenant');

SELECT * FROM finish();
ROLLBACK;
