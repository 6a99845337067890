-- memberships, per role, as the runtime role. One deliberate exception to
-- strict isolation: a user also sees its own memberships in other tenants
-- (memberships_read), never other users' memberships there. Writes are
-- isolated and limited to Owners and Partners. Fixtures: fixtures/seed.sql.
BEGIN;
SELECT plan(17);

-- Rows are compared as 'tenant_id user_id' (fixed fixture ids): joining
-- tenants and users for names would mix in those tables' own policies.
SELECT is((SELECT count(*) FROM memberships), 0::bigint, 'no context: no membership visible');

-- Partner of alpha: alpha's memberships plus its own in gamma.
SELECT is((SELECT role FROM app.enter('alice@alpha.test', 'alpha', false, :'proof_alice_alpha')), 'partner', 'alice enters alpha as partner');
SELECT set_eq(
    'SELECT tenant_id::text || '' '' || user_id::text FROM memberships',
    ARRAY['11111111-1111-1111-1111-111111111111 aaaaaaaa-0000-0000-0000-000000000001',
          '11111111-1111-1111-1111-111111111111 aaaaaaaa-0000-0000-0000-000000000002',
          '33333333-3333-3333-3333-333333333333 aaaaaaaa-0000-0000-0000-000000000001'],
    'alpha partner: alpha''s memberships and its own elsewhere, nothing of beta');
SELECT throws_ok($$INSERT INTO memberships (tenant_id, user_id, role) VALUES ('22222222-2222-2222-2222-222222222222', 'aaaaaaaa-0000-0000-0000-000000000001', 'partner')$$,
                 '42501', NULL, 'alpha partner: cannot make itself a member of beta');
WITH u AS (UPDATE memberships SET role = 'client_viewer' WHERE tenant_id = '22222222-2222-2222-2222-222222222222' RETURNING 1)
SELECT is(count(*), 0::bigint, 'alpha partner: update of beta''s memberships touches nothing') FROM u;
WITH d AS (DELETE FROM memberships WHERE tenant_id = '33333333-3333-3333-3333-333333333333' RETURNING 1)
SELECT is(count(*), 0::bigint, 'alpha partner: cannot delete its own membership in another tenant') FROM d;
SELECT lives_ok($$INSERT INTO memberships (user_id, role) VALUES ('bbbbbbbb-0000-0000-0000-000000000001', 'client_viewer')$$,
                'alpha partner: adds a member to alpha');

-- Partner of beta: beta's memberships (and its new one in alpha, its own).
SELECT is((SELECT role FROM app.enter('bob@beta.test', 'beta', false, :'proof_bob_beta')), 'partner', 'bob enters beta as partner');
SELECT set_eq(
    'SELECT tenant_id::text || '' '' || user_id::text FROM memberships',
    ARRAY['22222222-2222-2222-2222-222222222222 bbbbbbbb-0000-0000-0000-000000000001',
          '11111111-1111-1111-1111-111111111111 bbbbbbbb-0000-0000-0000-000000000001'],
    'beta partner: beta''s memberships and its own elsewhere, no other alpha member');
WITH d AS (DELETE FROM memberships WHERE tenant_id = '11111111-1111-1111-1111-111111111111' RETURNING 1)
SELECT is(count(*), 0::bigint, 'beta partner: cannot delete alpha''s memberships, even its own') FROM d;

-- Platform Owner in beta.
SELECT is((SELECT role FROM app.enter('olga@ops.test', 'beta', false, :'proof_olga_beta')), 'owner', 'olga enters beta as owner');
SELECT set_eq(
    'SELECT tenant_id::text || '' '' || user_id::text FROM memberships',
    ARRAY['22222222-2222-2222-2222-222222222222 bbbbbbbb-0000-0000-0000-000000000001'],
    'owner in beta: beta''s memberships only');

-- No membership anywhere.
SELECT is((SELECT tenant_id FROM app.enter('nina@none.test', 'alpha', false, :'proof_nina_alpha')), NULL::uuid, 'nina is refused alpha');
SELECT is((SELECT count(*) FROM memberships), 0::bigint, 'nina: no membership visible');

-- Client Viewer of alpha (last): reads alpha's memberships, writes nothing.
SELECT is((SELECT role FROM app.enter('vera@alpha.test', 'alpha', false, :'proof_vera_alpha')), 'client_viewer', 'vera enters alpha as client viewer');
SELECT is(
    ARRAY(SELECT tenant_id::text || ' ' || user_id::text FROM memberships ORDER BY 1),
    ARRAY['11111111-1111-1111-1111-111111111111 aaaaaaaa-0000-0000-0000-000000000001',
          '11111111-1111-1111-1111-111111111111 aaaaaaaa-0000-0000-0000-000000000002',
          '11111111-1111-1111-1111-111111111111 bbbbbbbb-0000-0000-0000-000000000001'],
    'alpha viewer: alpha''s memberships only');
SELECT throws_ok($$DELETE FROM memberships$$, '25006', NULL, 'alpha viewer: delete refused (read-only)');

SELECT * FROM finish();
ROLLBACK;
