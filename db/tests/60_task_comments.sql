-- task_comments, per role, as the runtime role: own rows visible, other
-- tenants' rows invisible, cross-tenant writes refused, a comment only in
-- the writer's own name, no edits. Besides RLS, the composite foreign key
-- (tenant_id, task_id) keeps a comment from pointing at another tenant's
-- task. Fixtures: fixtures/seed.sql. The Client Viewer comes last (its
-- transaction is read-only for good).
BEGIN;
SELECT plan(19);

SELECT is((SELECT count(*) FROM task_comments), 0::bigint, 'no context: no comment visible');

-- Partner of alpha.
SELECT is((SELECT role FROM app.enter('alice@alpha.test', 'alpha', false, :'proof_alice_alpha')), 'partner', 'alice enters alpha as partner');
SELECT set_eq('SELECT body FROM task_comments', ARRAY['alpha comment'], 'alpha partner: sees exactly alpha''s comments');
SELECT is_empty($$SELECT 1 FROM task_comments WHERE id = 'b3000000-0000-0000-0000-000000000001'$$,
                'alpha partner: beta''s comment is invisible by id');
SELECT throws_ok($$INSERT INTO task_comments (tenant_id, task_id, body) VALUES ('22222222-2222-2222-2222-222222222222', 'b2000000-0000-0000-0000-000000000001', 'smuggled')$$,
                 '42501', NULL, 'alpha partner: insert into beta refused');
SELECT throws_ok($$INSERT INTO task_comments (task_id, body) VALUES ('b2000000-0000-0000-0000-000000000001', 'attached')$$,
                 '23503', NULL, 'alpha partner: a comment cannot point at beta''s task');
SELECT throws_ok($$INSERT INTO task_comments (task_id, author_id, body) VALUES ('a2000000-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000002', 'said vera')$$,
                 '42501', NULL, 'alpha partner: a comment in another member''s name refused');
SELECT throws_ok($$UPDATE task_comments SET body = 'edited' WHERE id = 'a3000000-0000-0000-0000-000000000001'$$,
                 '42501', NULL, 'alpha partner: comments are not edited');
WITH d AS (DELETE FROM task_comments WHERE id = 'b3000000-0000-0000-0000-000000000001' RETURNING 1)
SELECT is(count(*), 0::bigint, 'alpha partner: delete of beta''s comment touches nothing') FROM d;
SELECT lives_ok($$INSERT INTO task_comments (task_id, body) VALUES ('a2000000-0000-0000-0000-000000000002', 'alpha comment 2')$$,
                'alpha partner: comments on its own task');
SELECT is((SELECT author_id FROM task_comments WHERE body = 'alpha comment 2'), 'aaaaaaaa-0000-0000-0000-000000000001'::uuid,
          'alpha partner: author_id defaults from the context');

-- Partner of beta.
SELECT is((SELECT role FROM app.enter('bob@beta.test', 'beta', false, :'proof_bob_beta')), 'partner', 'bob enters beta as partner');
SELECT set_eq('SELECT body FROM task_comments', ARRAY['beta secret comment'], 'beta partner: sees exactly beta''s comments');

-- Refused contexts.
SELECT is((SELECT tenant_id FROM app.enter('bob@beta.test', 'alpha', false, :'proof_bob_alpha')), NULL::uuid, 'bob is refused alpha');
SELECT is((SELECT count(*) FROM task_comments), 0::bigint, 'bob naming alpha: no comment visible');
SELECT is((SELECT tenant_id FROM app.enter('alice@alpha.test', 'gamma', false, :'proof_alice_gamma')), NULL::uuid, 'alice is refused suspended gamma');
SELECT is((SELECT count(*) FROM task_comments), 0::bigint, 'alice naming suspended gamma: no comment visible');

-- Client Viewer of alpha (last).
SELECT is((SELECT role FROM app.enter('vera@alpha.test', 'alpha', false, :'proof_vera_alpha')), 'client_viewer', 'vera enters alpha as client viewer');
SELECT is(ARRAY(SELECT body FROM task_comments ORDER BY body), ARRAY['alpha comment', 'alpha comment 2'],
          'alpha viewer: sees exactly alpha''s comments');

SELECT * FROM finish();
ROLLBACK;
