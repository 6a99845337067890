-- The tenant context cannot be forged (issue 10): as the runtime role,
-- settings written with set_config read as no context at all, app.enter
-- refuses a missing or altered proof, and a proof for one context is no
-- proof for another. The proofs (:'proof_...') come from the harness, which
-- signs them with the database's key as the server does.
BEGIN;
SELECT plan(12);

-- Forged settings, session-level and transaction-level.
SELECT set_config('app.tenant_id', '22222222-2222-2222-2222-222222222222', true),
       set_config('app.user_id', '00000000-0000-0000-0000-0000000000f0', true), -- olga, an Owner
       set_config('app.role', 'partner', true), set_config('app.is_owner', 'true', true);
SELECT is(app.current_tenant_id(), NULL::uuid, 'forged settings: no tenant in context');
SELECT is(app.current_is_owner(), false, 'forged settings naming an Owner: not an Owner');
SELECT is((SELECT count(*) FROM projects), 0::bigint, 'forged settings: no project visible');
SELECT is((SELECT count(*) FROM tenants), 0::bigint, 'forged settings: no tenant visible');
SELECT throws_ok($$INSERT INTO projects (name) VALUES ('forged')$$, '42501', NULL, 'forged settings: insert refused');

-- app.enter without the server's proof.
SELECT throws_ok($$SELECT * FROM app.enter('olga@ops.test', 'beta', false, '')$$, 'PT001', NULL,
                 'no proof: app.enter refuses an Owner''s email');
SELECT throws_ok($$SELECT * FROM app.enter('olga@ops.test', 'beta', false,
                   'v1.1.99999999999.0000000000000000000000000000000000000000000000000000000000000000')$$,
                 'PT001', NULL, 'made-up proof: refused');
SELECT throws_ok(format('SELECT * FROM app.enter(%L, %L, false, %L)', 'olga@ops.test', 'alpha', :'proof_alice_alpha'),
                 'PT001', NULL, 'alice''s proof does not let olga in');
SELECT throws_ok(format('SELECT * FROM app.enter(%L, %L, false, %L)', 'alice@alpha.test', 'beta', :'proof_alice_alpha'),
                 'PT001', NULL, 'a proof for alpha is none for beta');

-- Positive control: the proof the server would send.
SELECT is((SELECT role FROM app.enter('alice@alpha.test', 'alpha', false, :'proof_alice_alpha')), 'partner', 'alice enters alpha with her proof');
SELECT is((SELECT count(*) FROM projects), 2::bigint, 'alice sees alpha''s projects');
-- Rewriting one setting after entering voids the whole context.
SELECT set_config('app.tenant_id', '22222222-2222-2222-2222-222222222222', true);
SELECT is((SELECT count(*) FROM projects), 0::bigint, 'a rewritten tenant setting: nothing visible');

SELECT * FROM finish();
ROLLBACK;
