-- Experiment (issue 6): app.enter as SECURITY DEFINER.
--
-- The one measured trade-off left. app.enter runs as the caller (the
-- runtime role), so its two lookups pass through the users, tenants and
-- memberships policies (OR branches, hashed subplans, InitPlans). As the
-- schema owner it would read users and tenants directly (they are not
-- FORCEd) and memberships through the policy's user_id branch: same
-- checks, same result, a pinned search_path.
--
-- Not adopted: issue 3 asks that identity and membership be resolved as
-- the runtime role under RLS policies that let a user see its own rows, and
-- a definer function owned by the schema owner would read every user and
-- tenant row on that path. docs/benchmarks.md shows what it would buy.
--
-- Applied as the superuser to a scratch benchmark database by
-- `make bench-experiments` (-perf.sql); never by migrations. The body is
-- the migrated one (it names every table schema-qualified, so the pinned
-- search_path changes nothing else); the function stays owned by the
-- migrating role.
ALTER FUNCTION app.enter(text, text, boolean)
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
