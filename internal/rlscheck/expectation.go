package rlscheck

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
)

// Expectation is the catalog state the committed SQL (db/schema, then
// db/policies) produces: what the drift rules compare the database with.
//
// Where it comes from: expectation.json, embedded in the binary, is
// Snapshot of a database freshly migrated from the embedded SQL by this
// very build (TestExpectationMatchesEmbeddedSQL migrates one and fails,
// saying how to regenerate the file, whenever the SQL and the file
// disagree). So the expectation
//   - is fixed when the binary is built: whoever owns the database cannot
//     edit it (a snapshot stored in the database could be rewritten by the
//     very owner whose mistake it should reveal, and one taken by
//     `migrate up` would record whatever function bodies it found, since
//     migrations do not recreate functions);
//   - needs nothing at check time but read access to the catalogs: no
//     owner credentials, no CREATE DATABASE for a scratch copy, so
//     rls-check still runs as the runtime role against production.
//
// What it costs: deparsed expressions (pg_get_expr, pg_get_triggerdef) are
// compared as text, and their wording may change between major versions of
// PostgreSQL; the file records the major version it was taken on, and a
// drift finding on a server of another version says so.
//
// Snapshot is exported so that `migrate up` may record the state it leaves
// (the format is this struct as JSON); rls-check itself only trusts the
// embedded file.
type Expectation struct {
	Format int `json:"format"`
	// ServerMajor is the PostgreSQL major version the snapshot was taken on.
	ServerMajor int `json:"server_major"`
	// SchemaVersion is golang-migrate's version (-1: none).
	SchemaVersion int64              `json:"schema_version"`
	Relations     []ExpectedRelation `json:"relations"`
	Policies      []ExpectedPolicy   `json:"policies"`
	Functions     []ExpectedFunction `json:"functions"`
	Triggers      []ExpectedTrigger  `json:"triggers"`
	Schemas       []ExpectedSchema   `json:"schemas"`
}

// expectationFormat is bumped when the meaning of a field changes (2:
// grants on relations, functions and schemas; policy roles and grantees
// name the schema owner as SchemaOwner).
const expectationFormat = 2

// SchemaOwner stands for the role that owns the context schema (the
// migrating role), whatever it is called in a given deployment.
const SchemaOwner = "(schema owner)"

// ExpectedRelation is a table, view or foreign table of a user schema.
type ExpectedRelation struct {
	Name  string `json:"name"` // schema.name, quoted where needed
	Kind  string `json:"kind"` // table, partitioned table, view, materialized view, foreign table
	RLS   bool   `json:"rls"`
	Force bool   `json:"force"`
	Owner string `json:"owner"`
	// Runtime lists what the runtime role may do: SELECT, INSERT, UPDATE,
	// DELETE (on any column counts).
	Runtime []string `json:"runtime"`
	// Grants is the relation's privileges, one "grantee: PRIVILEGE, ..."
	// per grantee (PUBLIC, a group role, SchemaOwner), whoever they were
	// granted to: a grant to the admin role or to a login role directly is
	// drift too.
	Grants []string `json:"grants"`
}

// ExpectedPolicy is one policy, as Postgres deparses it.
type ExpectedPolicy struct {
	Table      string   `json:"table"`
	Name       string   `json:"name"`
	Permissive bool     `json:"permissive"`
	Command    string   `json:"command"`
	Roles      []string `json:"roles"`
	Using      string   `json:"using"`
	Check      string   `json:"check"`
}

// ExpectedFunction is a function or procedure of a user schema.
type ExpectedFunction struct {
	Signature       string   `json:"signature"` // schema.name(argument types)
	Returns         string   `json:"returns"`
	Language        string   `json:"language"`
	SecurityDefiner bool     `json:"security_definer"`
	Volatility      string   `json:"volatility"` // immutable, stable, volatile
	Strict          bool     `json:"strict"`
	Leakproof       bool     `json:"leakproof"`
	Parallel        string   `json:"parallel"` // safe, restricted, unsafe
	Config          []string `json:"config"`   // SET clauses: search_path=pg_catalog, pg_temp
	Owner           string   `json:"owner"`
	RuntimeExecute  bool     `json:"runtime_execute"`
	Body            string   `json:"body"`
	// Grants: EXECUTE per grantee, as for relations (the default, EXECUTE
	// for PUBLIC, when nothing was granted or revoked).
	Grants []string `json:"grants"`
}

// ExpectedTrigger is a user trigger.
type ExpectedTrigger struct {
	Table      string `json:"table"`
	Name       string `json:"name"`
	Enabled    string `json:"enabled"` // O (origin), D (disabled), R (replica), A (always)
	Definition string `json:"definition"`
}

// ExpectedSchema is a user schema: its owner and the privileges on it.
type ExpectedSchema struct {
	Name   string   `json:"name"`
	Owner  string   `json:"owner"`
	Grants []string `json:"grants"`
}

//go:embed expectation.json
var embeddedExpectation []byte

// Committed returns the expectation embedded in the binary.
func Committed() (*Expectation, error) {
	var e Expectation
	if err := json.Unmarshal(embeddedExpectation, &e); err != nil {
		return nil, fmt.Errorf("rls-check: embedded expectation: %w", err)
	}
	if e.Format != expectationFormat {
		return nil, fmt.Errorf("rls-check: embedded expectation has format %d, this build reads %d", e.Format, expectationFormat)
	}
	return &e, nil
}

// MarshalIndent writes e as the committed file is written.
func (e *Expectation) MarshalIndent() ([]byte, error) {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Snapshot reads the expectation-shaped state of the database behind conn:
// runtime names the runtime role(s) whose privileges are recorded (the
// group pgtenant_app when taking the committed snapshot). It only reads, in
// a read-only transaction of its own (conn must not be in one); names are
// written schema-qualified whatever the session's search_path.
func Snapshot(ctx context.Context, conn *pgx.Conn, runtime []string) (*Expectation, error) {
	var e *Expectation
	err := readOnly(ctx, conn, func() error {
		var err error
		e, err = snapshot(ctx, conn, runtime)
		return err
	})
	return e, err
}

// SnapshotTx is Snapshot inside the caller's transaction (migrate's policy
// step, the server's self-check), which it leaves as it found it: the
// search_path it needs is set for the snapshot and restored after.
func SnapshotTx(ctx context.Context, tx pgx.Tx, runtime []string) (*Expectation, error) {
	var e *Expectation
	err := catalogPath(ctx, tx, func() error {
		var err error
		e, err = snapshot(ctx, tx, runtime)
		return err
	})
	return e, err
}

// Fingerprint is a digest of e: two snapshots have the same fingerprint
// exactly when they are equal. `migrate up` records the fingerprint of the
// state it leaves; `migrate status` and the server compare with it.
func (e *Expectation) Fingerprint() (string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// readOnly runs fn in a READ ONLY REPEATABLE READ transaction (one
// consistent view of the catalogs) with search_path = pg_catalog, pg_temp
// for that transaction only, so deparsed expressions name every object
// with its schema whatever the role's own search_path.
func readOnly(ctx context.Context, conn *pgx.Conn, fn func() error) error {
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK") }()
	if _, err := conn.Exec(ctx, catalogSettingsSQL); err != nil {
		return err
	}
	return fn()
}

// catalogSettingsSQL sets what the catalog queries need, for the
// transaction only: search_path (deparsed names come out schema-qualified)
// and no JIT (the planner overestimates the snapshot's queries, and
// compiling them took 35 ms of a 40 ms snapshot).
const catalogSettingsSQL = "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true), pg_catalog.set_config('jit', 'off', true)"

// catalogPath runs fn in tx with the settings readOnly uses, then restores
// the ones tx had.
func catalogPath(ctx context.Context, tx pgx.Tx, fn func() error) error {
	var path, jit string
	if err := tx.QueryRow(ctx, "SELECT pg_catalog.current_setting('search_path'), pg_catalog.current_setting('jit')").Scan(&path, &jit); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, catalogSettingsSQL); err != nil {
		return err
	}
	err := fn()
	if _, rerr := tx.Exec(ctx, "SELECT pg_catalog.set_config('search_path', $1, true), pg_catalog.set_config('jit', $2, true)", path, jit); err == nil {
		err = rerr
	}
	return err
}

func snapshot(ctx context.Context, conn Querier, runtime []string) (*Expectation, error) {
	e := &Expectation{Format: expectationFormat, SchemaVersion: -1}
	var owner string
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int / 10000,
		coalesce((SELECT pg_catalog.pg_get_userbyid(nspowner)::text FROM pg_catalog.pg_namespace WHERE nspname = $1), '')`,
		Isolation.ContextSchema).Scan(&e.ServerMajor, &owner); err != nil {
		return nil, err
	}
	if owner == "" {
		return nil, &ConfigError{Msg: fmt.Sprintf("no schema %s: is the database migrated (server migrate up)?", Isolation.ContextSchema)}
	}
	steps := []func(context.Context, Querier, *Expectation, string, []string) error{
		snapshotVersion, snapshotRelations, snapshotPolicies, snapshotFunctions, snapshotTriggers, snapshotSchemas,
	}
	for _, step := range steps {
		if err := step(ctx, conn, e, owner, runtime); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// grantsSQL lists the privileges of an ACL (acl, an SQL expression) as
// "grantee: PRIVILEGE, ..." per grantee, sorted; ownerParam is the
// placeholder holding the schema owner's name, written as SchemaOwner.
func grantsSQL(acl, ownerParam string) string {
	return fmt.Sprintf(`ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
		                  WHEN pg_catalog.pg_get_userbyid(a.grantee)::text = %[2]s THEN '%[3]s'
		                  ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END || ': ' ||
		             string_agg(a.privilege_type || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END, ', ' ORDER BY a.privilege_type)
		      FROM pg_catalog.aclexplode(%[1]s) a GROUP BY a.grantee ORDER BY 1)`, acl, ownerParam, SchemaOwner)
}

func ownerLabel(owner, schemaOwner string) string {
	if owner == schemaOwner {
		return SchemaOwner
	}
	return owner
}

func snapshotVersion(ctx context.Context, conn Querier, e *Expectation, _ string, _ []string) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('public.schema_migrations') IS NOT NULL").Scan(&exists); err != nil || !exists {
		return err
	}
	err := conn.QueryRow(ctx, "SELECT version FROM public.schema_migrations LIMIT 1").Scan(&e.SchemaVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}

// qualifiedSQL writes schema.name of a pg_class row c in namespace n the
// way qualify does in Go.
const qualifiedSQL = `pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)`

// The policy columns the rules (loadPolicies) and the expectation read
// alike: name, permissive, command, roles; USING and WITH CHECK as
// deparsed; from pg_policy p of tables c in user schemas n.
const (
	policyFieldsSQL = `p.polname::text, p.polpermissive,
		       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
		                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
		       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r)::text END
		             FROM unnest(p.polroles) r ORDER BY 1)`
	policyExprsSQL = `coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), ''),
		       coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')`
	policyFromSQL = `FROM pg_catalog.pg_policy p
		JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE ` + userSchema
)

func snapshotRelations(ctx context.Context, conn Querier, e *Expectation, owner string, runtime []string) error {
	return queryEach(ctx, conn, `
		SELECT `+qualifiedSQL+`,
		       CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
		                      WHEN 'm' THEN 'materialized view' ELSE 'foreign table' END,
		       c.relrowsecurity, c.relforcerowsecurity, pg_catalog.pg_get_userbyid(c.relowner)::text,
		       ARRAY(SELECT priv FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) WITH ORDINALITY p(priv, i)
		             WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) rt
		                           WHERE CASE WHEN priv = 'DELETE' THEN pg_catalog.has_table_privilege(rt, c.oid, priv)
		                                      ELSE pg_catalog.has_any_column_privilege(rt, c.oid, priv) END)
		             ORDER BY i),
		       `+grantsSQL("coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))", "$2")+`
		FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND `+userSchema+` AND `+notExtension("pg_class", "c.oid")+`
		ORDER BY 1`, []any{runtime, owner}, func(rows pgx.Rows) error {
		var r ExpectedRelation
		var relOwner string
		err := rows.Scan(&r.Name, &r.Kind, &r.RLS, &r.Force, &relOwner, &r.Runtime, &r.Grants)
		r.Owner = ownerLabel(relOwner, owner)
		e.Relations = append(e.Relations, r)
		return err
	})
}

func snapshotPolicies(ctx context.Context, conn Querier, e *Expectation, owner string, _ []string) error {
	return queryEach(ctx, conn, `SELECT `+qualifiedSQL+`, `+policyFieldsSQL+`, `+policyExprsSQL+` `+policyFromSQL+` ORDER BY 1, 2`, nil,
		func(rows pgx.Rows) error {
			var p ExpectedPolicy
			err := rows.Scan(&p.Table, &p.Name, &p.Permissive, &p.Command, &p.Roles, &p.Using, &p.Check)
			// A policy TO CURRENT_USER (memberships_resolve) names the
			// migrating role, whatever a deployment calls it.
			for i, r := range p.Roles {
				p.Roles[i] = ownerLabel(r, owner)
			}
			e.Policies = append(e.Policies, p)
			return err
		})
}

// typeNameSQL writes a type as schema.name (arrays as schema.name[]; the
// schema left out for pg_catalog, searched first unless a search_path lists
// it later), independent of the session's search_path.
const typeNameSQL = `(SELECT CASE WHEN et.oid IS NOT NULL
                 THEN coalesce(nullif(pg_catalog.quote_ident(en.nspname) || '.', 'pg_catalog.'), '') || pg_catalog.quote_ident(et.typname) || '[]'
                 ELSE coalesce(nullif(pg_catalog.quote_ident(tn.nspname) || '.', 'pg_catalog.'), '') || pg_catalog.quote_ident(t.typname) END
        FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
        LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
        LEFT JOIN pg_catalog.pg_namespace en ON en.oid = et.typnamespace
        WHERE t.oid = %s)`

func snapshotFunctions(ctx context.Context, conn Querier, e *Expectation, owner string, runtime []string) error {
	return queryEach(ctx, conn, `
		SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' ||
		       coalesce((SELECT string_agg(`+fmt.Sprintf(typeNameSQL, "a.t")+`, ', ' ORDER BY a.i)
		                 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, i)), '') || ')',
		       CASE WHEN p.proretset THEN 'SETOF ' ELSE '' END || coalesce(`+fmt.Sprintf(typeNameSQL, "p.prorettype")+`, ''),
		       l.lanname::text, p.prosecdef,
		       CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
		       p.proisstrict, p.proleakproof,
		       CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END,
		       coalesce(p.proconfig, '{}'), pg_catalog.pg_get_userbyid(p.proowner)::text,
		       EXISTS (SELECT 1 FROM unnest($1::text[]) rt WHERE pg_catalog.has_function_privilege(rt, p.oid, 'EXECUTE')),
		       coalesce(p.prosrc, ''),
		       `+grantsSQL("coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))", "$2")+`
		FROM pg_catalog.pg_proc p
		JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		JOIN pg_catalog.pg_language l ON l.oid = p.prolang
		WHERE p.prokind IN ('f', 'p') AND `+userSchema+` AND `+notExtension("pg_proc", "p.oid")+`
		ORDER BY 1`, []any{runtime, owner}, func(rows pgx.Rows) error {
		var f ExpectedFunction
		var fOwner string
		err := rows.Scan(&f.Signature, &f.Returns, &f.Language, &f.SecurityDefiner, &f.Volatility, &f.Strict, &f.Leakproof,
			&f.Parallel, &f.Config, &fOwner, &f.RuntimeExecute, &f.Body, &f.Grants)
		f.Owner = ownerLabel(fOwner, owner)
		e.Functions = append(e.Functions, f)
		return err
	})
}

func snapshotTriggers(ctx context.Context, conn Querier, e *Expectation, _ string, _ []string) error {
	return queryEach(ctx, conn, `
		SELECT `+qualifiedSQL+`, t.tgname::text, t.tgenabled::text, pg_catalog.pg_get_triggerdef(t.oid)
		FROM pg_catalog.pg_trigger t
		JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT t.tgisinternal AND `+userSchema+`
		ORDER BY 1, 2`, nil, func(rows pgx.Rows) error {
		var t ExpectedTrigger
		err := rows.Scan(&t.Table, &t.Name, &t.Enabled, &t.Definition)
		e.Triggers = append(e.Triggers, t)
		return err
	})
}

func snapshotSchemas(ctx context.Context, conn Querier, e *Expectation, owner string, _ []string) error {
	return queryEach(ctx, conn, `
		SELECT pg_catalog.quote_ident(n.nspname), pg_catalog.pg_get_userbyid(n.nspowner)::text,
		       `+grantsSQL("coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))", "$1")+`
		FROM pg_catalog.pg_namespace n
		WHERE `+userSchema+`
		ORDER BY 1`, []any{owner}, func(rows pgx.Rows) error {
		var s ExpectedSchema
		var sOwner string
		err := rows.Scan(&s.Name, &sOwner, &s.Grants)
		s.Owner = ownerLabel(sOwner, owner)
		e.Schemas = append(e.Schemas, s)
		return err
	})
}

// driftCatalog is the database's state in the expectation's shape, next to
// the expectation it is compared with.
type driftCatalog struct {
	want, got *Expectation
}

func (c *catalog) loadDrift(ctx context.Context, conn Querier, want *Expectation) error {
	// Privileges of the runtime roles that are not superusers: a superuser
	// may do anything, which runtime_role_attributes reports once.
	got, err := snapshot(ctx, conn, c.plainRuntime())
	if err != nil {
		return err
	}
	if want == nil {
		if want, err = Committed(); err != nil {
			return err
		}
	}
	c.drift = &driftCatalog{want: want, got: got}
	return nil
}

func relationsByName(rs []ExpectedRelation) map[string]ExpectedRelation {
	return keyed(rs, func(r ExpectedRelation) string { return r.Name })
}

func functionsBySignature(fs []ExpectedFunction) map[string]ExpectedFunction {
	return keyed(fs, func(f ExpectedFunction) string { return f.Signature })
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
