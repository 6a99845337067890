-- Versions for optimistic concurrency (ETag / If-Match).
--
-- Every resource the API serves one at a time carries updated_at, and the
-- API's ETag is derived from it. A conditional PATCH or DELETE compares it
-- in its own statement (WHERE ... AND updated_at = ANY(the If-Match
-- versions)), so two writers that read the same version cannot both win:
-- the second one's UPDATE waits for the first one's row lock, re-reads the
-- row, no longer matches and changes nothing (412 to its client).
--
-- A trigger, not the queries, moves updated_at, so every write moves it:
-- the API, the audited admin scope, a hand edit in psql. The new value is
-- strictly later than the old one even when two writes fall in the same
-- microsecond or the clock steps back, so a version is never reused for
-- different contents of a row.

-- Existing rows get the time of this migration as their first version.
ALTER TABLE memberships ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE tenants ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- SECURITY INVOKER (the default): it only changes the row being written.
CREATE FUNCTION app.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at + interval '1 microsecond');
        RETURN NEW;
    END
    $$;

CREATE TRIGGER projects_touch BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
CREATE TRIGGER tasks_touch BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
CREATE TRIGGER memberships_touch BEFORE UPDATE ON memberships
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
CREATE TRIGGER tenants_touch BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
