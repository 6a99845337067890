-- tasks, per role, as the runtime role. Besides RLS, the composite foreign
-- key (tenant_id, project_id) keeps a task from pointing at another
-- tenant's project: FK checks ignore RLS. Fixtures: fixtures/seed.sql.
BEGIN;
SELECT plan(20);

SELECT is((SELECT count(*) FROM tasks), 0::bigint, 'no context: no task visible');

-- Partner of alpha.
SELECT is((SELECT role FROM app.enter('alice@alpha.test', 'alpha', false, :'proof_alice_alpha')), 'partner', 'alice enters alpha as partner');
SELECT set_eq('SELECT title FROM tasks', ARRAY['alpha task 1', 'alpha task 2'], 'alpha partner: sees exactly alpha''s tasks');
SELECT is_empty($$SELECT 1 FROM tasks WHERE id = 'b2000000-0000-0000-0000-000000000001'$$,
                'alpha partner: beta''s task is invisible by id');
SELECT throws_ok($$INSERT INTO tasks (tenant_id, project_id, title) VALUES ('22222222-2222-2222-2222-222222222222', 'b1000000-0000-0000-0000-000000000001', 'smuggled')$$,
                 '42501', NULL, 'alpha partner: insert into beta refused');
SELECT throws_ok($$INSERT INTO tasks (project_id, title) VALUES ('b1000000-0000-0000-0000-000000000001', 'attached')$$,
                 '23503', NULL, 'alpha partner: a task cannot point at beta''s project');
WITH u AS (UPDATE tasks SET done = true WHERE id = 'b2000000-0000-0000-0000-000000000001' RETURNING 1)
SELECT is(count(*), 0::bigint, 'alpha partner: update of beta''s task touches nothing') FROM u;
WITH d AS (DELETE FROM tasks WHERE id = 'b2000000-0000-0000-0000-000000000001' RETURNING 1)
SELECT is(count(*), 0::bigint, 'alpha partner: delete of beta''s task touches nothing') FROM d;
WITH u AS (UPDATE tasks SET done = true WHERE id = 'a2000000-0000-0000-0000-000000000001' RETURNING 1)
SELECT is(count(*), 1::bigint, 'alpha partner: updates its own task') FROM u;
SELECT lives_ok($$INSERT INTO tasks (project_id, title) VALUES ('a1000000-0000-0000-0000-000000000002', 'alpha task 3')$$,
                'alpha partner: inserts a task into its own project');

-- Partner of beta.
SELECT is((SELECT role FROM app.enter('bob@beta.test', 'beta', false, :'proof_bob_beta')), 'partner', 'bob enters beta as partner');
SELECT set_eq('SELECT title FROM tasks', ARRAY['beta secret task'], 'beta partner: sees exactly beta''s tasks');

-- Platform Owner in alpha.
SELECT is((SELECT role FROM app.enter('olga@ops.test', 'alpha', false, :'proof_olga_alpha')), 'owner', 'olga enters alpha as owner');
SELECT set_eq('SELECT title FROM tasks', ARRAY['alpha task 1', 'alpha task 2', 'alpha task 3'], 'owner in alpha: sees alpha''s tasks only');

-- Refused contexts.
SELECT is((SELECT tenant_id FROM app.enter('bob@beta.test', 'alpha', false, :'proof_bob_alpha')), NULL::uuid, 'bob is refused alpha');
SELECT is((SELECT count(*) FROM tasks), 0::bigint, 'bob naming alpha: no task visible');
SELECT is((SELECT tenant_id FROM app.enter('alice@alpha.test', 'gamma', false, :'proof_alice_gamma')), NULL::uuid, 'alice is refused suspended gamma');
SELECT is((SELECT count(*) FROM tasks), 0::bigint, 'alice naming suspended gamma: no task visible');

-- Client Viewer of alpha (last).
SELECT is((SELECT role FROM app.enter('vera@alpha.test', 'alpha', false, :'proof_vera_alpha')), 'client_viewer', 'vera enters alpha as client viewer');
SELECT is(ARRAY(SELECT title FROM tasks ORDER BY title), ARRAY['alpha task 1', 'alpha task 2', 'alpha task 3'],
          'alpha viewer: sees exactly alpha''s tasks');

SELECT * FROM finish();
ROLLBACK;
