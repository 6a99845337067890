-- One text rule and one email rule, the same in Go and in the database
-- (issue 11).
--
-- Emails: the users_email_check constraint was email = lower(btrim(email)),
-- and app.enter looked users up by lower(btrim(p_email)): Postgres's
-- lower() folds non-ASCII letters by the database's locale and btrim()
-- trims spaces only, while Go folded and trimmed by Unicode. Now one rule
-- (rules.NormalizeEmail, rules.ValidEmail; app.fold_email, app.valid_email):
-- ASCII letters lower-cased, ASCII white space trimmed, invisible or blank
-- characters refused, everything else kept verbatim.
--
-- Text: names, titles, descriptions, comment bodies, display names and
-- audit reasons refused only C0 controls in Go and nothing in the
-- database; now no control, format (zero-width, bidi), or separator
-- character, NFC, and something visible (rules.CleanText; app.text_ok).
--
-- The functions' current definitions are in db/policies/00_functions.sql,
-- re-applied with the policy files; they are created here because the
-- constraints below need them. Rows written before keep their values: each
-- constraint is added NOT VALID, then validated; when existing rows break
-- it (an address with a no-break space, an audit reason with U+200B, which
-- the append-only log cannot fix), the migration says how many and leaves
-- that one constraint NOT VALID: new and updated rows are checked, old
-- ones stay as they were until someone fixes them and runs
-- ALTER TABLE ... VALIDATE CONSTRAINT.
-- app.fold_email is rules.NormalizeEmail (internal/tenancy/rules): ASCII
-- white space trimmed, ASCII letters lower-cased, every other character
-- kept as it is. Not lower(btrim()): Postgres's lower() folds non-ASCII
-- letters as the database's locale says (the KELVIN SIGN of
-- '\u212Aate@acme.com' becomes 'k'), so two distinct identities could
-- find one user row.
CREATE OR REPLACE FUNCTION app.fold_email(p_email text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT pg_catalog.translate(pg_catalog.btrim(p_email, E' \t\n\x0b\f\r'),
                                      'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') $$;

-- app.text_ok is the text rule of every free-text column, rules.CleanText
-- (internal/tenancy/rules; a test compares the character classes below
-- with the Go rule's, and both rules on the same inputs): no C0 or C1
-- control or DEL (multiline text keeps tab, newline and carriage return),
-- no format character (Unicode Cf: zero-width characters, the bidi
-- embeddings, overrides and isolates, ...), no line or paragraph separator;
-- in Unicode NFC; and, when required, at least one character that is not
-- blank (white space, Hangul fillers, variation selectors, ...). Lengths
-- stay in each constraint.
CREATE OR REPLACE FUNCTION app.text_ok(p_text text, p_multiline boolean, p_required boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE WHEN p_multiline
                THEN p_text !~ '[\u0001-\u0008\u000b-\u000c\u000e-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]'
                ELSE p_text !~ '[\u0001-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]' END
       AND p_text IS NFC NORMALIZED
       AND (NOT p_required OR p_text ~ '[^\u0009-\u000d\u0020\u0085\u00a0\u034f\u115f-\u1160\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u2800\u3000\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]')
    $$;

-- app.valid_email is rules.ValidEmail: 3 to 320 bytes, one @ with text on
-- both sides, no ASCII capital (the address is stored as app.fold_email
-- leaves it), the text rule, and no blank character anywhere (a no-break
-- space around an address is not trimmed into another address: it is
-- refused).
CREATE OR REPLACE FUNCTION app.valid_email(p_email text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT pg_catalog.octet_length(p_email) BETWEEN 3 AND 320
       AND p_email ~ '^[^@]+@[^@]+$'
       AND p_email !~ '[A-Z]'
       AND app.text_ok(p_email, false, true)
       AND p_email !~ '[\u0009-\u000d\u0020\u0085\u00a0\u034f\u115f-\u1160\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u2800\u3000\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]'
    $$;

DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM (VALUES
        ('users', 'users_email_check', 'app.valid_email(email)'),
        ('users', 'users_display_name_check', 'length(display_name) <= 200 AND app.text_ok(display_name, false, false)'),
        ('tenants', 'tenants_name_check', 'length(btrim(name)) BETWEEN 1 AND 200 AND app.text_ok(name, false, true)'),
        ('projects', 'projects_name_check', 'length(btrim(name)) BETWEEN 1 AND 200 AND app.text_ok(name, false, true)'),
        ('projects', 'projects_description_check', 'length(description) <= 10000 AND app.text_ok(description, true, false)'),
        ('tasks', 'tasks_title_check', 'length(btrim(title)) BETWEEN 1 AND 500 AND app.text_ok(title, false, true)'),
        ('task_comments', 'task_comments_body_check', 'length(btrim(body)) BETWEEN 1 AND 4000 AND app.text_ok(body, true, true)'),
        ('audit_log', 'audit_log_reason_check', 'length(btrim(reason)) BETWEEN 1 AND 500 AND app.text_ok(reason, false, true)')
    ) v(tbl, con, expr) LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', c.tbl, c.con);
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%s) NOT VALID', c.tbl, c.con, c.expr);
        BEGIN
            -- Validation reads every row (row-level security does not
            -- hide rows from it).
            EXECUTE format('ALTER TABLE %I VALIDATE CONSTRAINT %I', c.tbl, c.con);
        EXCEPTION WHEN check_violation THEN
            RAISE WARNING 'pgtenant: rows of % written before break the new rule of % (%); the constraint stays NOT VALID: new and updated rows are checked. Fix the rows, then ALTER TABLE % VALIDATE CONSTRAINT %',
                c.tbl, c.con, SQLERRM, c.tbl, c.con;
        END;
    END LOOP;
END
$$;
