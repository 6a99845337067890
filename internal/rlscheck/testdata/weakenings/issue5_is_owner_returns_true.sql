-- issue 11, row 5: app.current_is_owner() replaced by a body that returns true (same attributes).
CREATE OR REPLACE FUNCTION app.current_is_owner() RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$ BEGIN RETURN true; END $$;
