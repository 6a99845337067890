-- Planner statistics of free text (issue 10, item 5). ANALYZE keeps each
-- column's most common values and a histogram of its values, and the
-- planner uses them under RLS: a member of one tenant could read another
-- tenant's frequent values from EXPLAIN row estimates (a 300-row title of
-- another tenant estimated at 150 rows, an absent one at 1) and recover a
-- string by bisecting the estimates of < comparisons. So no text column of
-- a tenant table or of the registries (tenants, users) keeps value
-- statistics: STATISTICS 0 makes ANALYZE skip the column, and the planner
-- falls back to the same default estimate for every value.
--
-- Statistics collected before are not removed by ANALYZE; the first time a
-- column is switched, ALTER COLUMN ... TYPE to its own type drops them
-- (binary-coercible: no table rewrite, indexes kept). What stays visible is
-- in docs/security.md ("Planner statistics").
--
-- Re-applied with every policy file, so a new tenant table gets the same
-- (rls-check's rule tenant_text_statistics reports one that does not).
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT a.attrelid::regclass AS tbl, a.attname, a.attstattarget,
               pg_catalog.format_type(a.atttypid, a.atttypmod) AS typ, co.collname
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class r ON r.oid = a.attrelid
        JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
        WHERE r.relnamespace = 'public'::regnamespace AND r.relkind IN ('r', 'p')
          AND r.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
          AND a.attnum > 0 AND NOT a.attisdropped AND a.attstattarget <> 0
          AND t.typcategory = 'S'
          AND (r.relname IN ('tenants', 'users')
               OR EXISTS (SELECT FROM pg_catalog.pg_attribute ta
                          WHERE ta.attrelid = r.oid AND ta.attname = 'tenant_id' AND NOT ta.attisdropped))
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', c.tbl, c.attname);
        BEGIN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE %s COLLATE %I', c.tbl, c.attname, c.typ, c.collname);
        EXCEPTION WHEN feature_not_supported OR dependent_objects_still_exist OR wrong_object_type THEN
            RAISE WARNING 'pgtenant: statistics of %.% collected before may remain until its next type change (%)', c.tbl, c.attname, SQLERRM;
        END;
    END LOOP;
END
$$;
