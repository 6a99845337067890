package rlscheck

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// userSchema selects the schemas an application creates objects in: not
// the system schemas, not TOAST or temporary schemas.
const userSchema = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'`

// notExtension drops objects that belong to an extension (pgTAP's
// functions, say): they are the extension's business, not the schema's.
func notExtension(catalog, oid string) string {
	return fmt.Sprintf(`NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
		WHERE d.classid = '%s'::regclass AND d.objid = %s AND d.deptype = 'e')`, catalog, oid)
}

// catalog is what the rules look at: one read of the system catalogs.
type catalog struct {
	database       string
	runtime, admin []string // role names as resolved
	tables         []*table
	byOID          map[uint32]*table
	policies       []policy
	constraints    []constraint
	indexes        []index
	views          []view
	functions      []function
	roles          map[string]role
	owned          []ownedObject
	privileges     []privilege
	writable       map[string][]string // schema -> runtime roles that may CREATE in it
	databaseCreate []string            // runtime roles with CREATE on the database
	exprs          *exprCatalog        // expression trees and what they refer to (catalog_expr.go)
	drift          *driftCatalog       // the catalog as the drift rules compare it (expectation.go)
	guardCatalog
}

type table struct {
	oid           uint32
	schema, name  string
	kind          string // r (table) or p (partitioned)
	rls, force    bool
	partition     bool
	owner         string
	tenantAttnum  int16  // 0: not a tenant table
	tenantKey     string // the tenant key column: tenant_id, or the column naming the tenant otherwise
	tenantType    string
	tenantNotNull bool
}

func (t *table) qname() string  { return qualify(t.schema, t.name) }
func (t *table) isTenant() bool { return t.tenantAttnum > 0 }
func (t *table) object() string { return "table " + t.qname() }
func (c *catalog) tenantTables() []*table {
	var out []*table
	for _, t := range c.tables {
		if t.isTenant() {
			out = append(out, t)
		}
	}
	return out
}

type policy struct {
	table       uint32
	name        string
	permissive  bool
	cmd         string // SELECT, INSERT, UPDATE, DELETE or ALL
	roles       []string
	appliesToRT bool // PUBLIC or a role the runtime role has the privileges of
	using       string
	check       string
	// The same expressions as Postgres stored them (nil when absent).
	usingTree, checkTree *Node
}

type constraint struct {
	table    uint32
	name     string
	kind     string // p, u, f, x
	cols     []string
	refTable uint32
	refCols  []string
}

type index struct {
	table         uint32
	name          string
	unique        bool
	primary       bool
	firstCol      string // "" for an expression
	forConstraint bool   // backs a PRIMARY KEY, UNIQUE or EXCLUDE constraint
}

type view struct {
	schema, name   string
	kind           string // v or m
	options        []string
	runtimeCanRead bool
}

type function struct {
	schema, name, args string
	secdef, leakproof  bool
	config             []string
	owner              string
}

func (f function) object() string {
	return fmt.Sprintf("function %s(%s)", qualify(f.schema, f.name), f.args)
}

type role struct {
	name               string
	super, bypass      bool
	login              bool
	canBecomePrivilege []string // superuser or BYPASSRLS roles it is a member of
}

type ownedObject struct {
	role, kind, schema, name, owner string
}

type privilege struct {
	role, schema, name, kind, priv string
}

// qualify returns schema.name, each part quoted only when it must be, for
// messages and fixes that read like what a person types.
func qualify(schema, name string) string {
	return quoteIdent(schema) + "." + quoteIdent(name)
}

var simpleIdentRE = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

// reserved holds the reserved words likely to be used as names.
var reserved = map[string]bool{
	"all": true, "check": true, "column": true, "constraint": true, "default": true, "end": true,
	"from": true, "grant": true, "group": true, "order": true, "primary": true, "references": true,
	"select": true, "table": true, "user": true, "where": true,
}

func quoteIdent(s string) string {
	if simpleIdentRE.MatchString(s) && !reserved[s] {
		return s
	}
	return pgx.Identifier{s}.Sanitize()
}

// load reads everything the rules need.
func load(ctx context.Context, conn Querier, runtime, admin []string) (*catalog, error) {
	c := &catalog{runtime: runtime, admin: admin, byOID: map[uint32]*table{}, roles: map[string]role{}, writable: map[string][]string{}}
	steps := []struct {
		name string
		fn   func(context.Context, Querier) error
	}{
		{"tables", c.loadTables},
		{"policies", c.loadPolicies},
		{"constraints", c.loadConstraints},
		{"indexes", c.loadIndexes},
		{"views", c.loadViews},
		{"functions", c.loadFunctions},
		{"roles", c.loadRoles},
		{"ownership", c.loadOwnership},
		{"privileges", c.loadPrivileges},
		{"expressions", c.loadExpressions},
		{"guard", c.loadGuard},
	}
	for _, s := range steps {
		if err := s.fn(ctx, conn); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return c, nil
}

func (c *catalog) loadTables(ctx context.Context, conn Querier) error {
	rows, err := conn.Query(ctx, `
		SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, c.relrowsecurity, c.relforcerowsecurity,
		       c.relispartition, pg_catalog.pg_get_userbyid(c.relowner)::text,
		       coalesce(a.attnum, 0), coalesce(a.attname::text, ''),
		       coalesce(pg_catalog.format_type(a.atttypid, a.atttypmod), ''), coalesce(a.attnotnull, false)
		FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		-- The tenant key: the tenant_id column, else a column that alone
		-- references the tenant registry (org_id REFERENCES tenants (id)):
		-- whatever it is called, such a table holds one tenant's rows.
		LEFT JOIN LATERAL (
		    SELECT a.* FROM pg_catalog.pg_attribute a
		    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		      AND (a.attname = $1 OR EXISTS (
		          SELECT 1 FROM pg_catalog.pg_constraint con
		          WHERE con.conrelid = c.oid AND con.contype = 'f' AND con.conkey = ARRAY[a.attnum]
		            AND con.confrelid = pg_catalog.to_regclass($2) AND con.confrelid <> c.oid))
		    ORDER BY a.attname = $1 DESC, a.attnum LIMIT 1) a ON true
		WHERE c.relkind IN ('r', 'p') AND `+userSchema+` AND `+notExtension("pg_class", "c.oid")+`
		ORDER BY n.nspname, c.relname`, TenantColumn, "public."+Isolation.Registry)
	if err != nil {
		return err
	}
	for rows.Next() {
		t := &table{}
		if err := rows.Scan(&t.oid, &t.schema, &t.name, &t.kind, &t.rls, &t.force, &t.partition, &t.owner,
			&t.tenantAttnum, &t.tenantKey, &t.tenantType, &t.tenantNotNull); err != nil {
			return err
		}
		c.tables = append(c.tables, t)
		c.byOID[t.oid] = t
	}
	return rows.Err()
}

func (c *catalog) loadPolicies(ctx context.Context, conn Querier) error {
	rows, err := conn.Query(ctx, `
		SELECT p.polrelid, `+policyFieldsSQL+`,
		       0 = ANY (p.polroles) OR EXISTS (
		           SELECT 1 FROM unnest(p.polroles) r, unnest($1::text[]) rt
		           WHERE r <> 0 AND pg_catalog.pg_has_role(rt, r, 'USAGE')),
		       `+policyExprsSQL+`
		`+policyFromSQL+`
		ORDER BY n.nspname, c.relname, p.polname`, c.runtime)
	if err != nil {
		return err
	}
	for rows.Next() {
		var p policy
		if err := rows.Scan(&p.table, &p.name, &p.permissive, &p.cmd, &p.roles, &p.appliesToRT, &p.using, &p.check); err != nil {
			return err
		}
		c.policies = append(c.policies, p)
	}
	return rows.Err()
}

func (c *catalog) loadConstraints(ctx context.Context, conn Querier) error {
	rows, err := conn.Query(ctx, `
		SELECT con.conrelid, con.conname::text, con.contype::text,
		       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)
		             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i),
		       con.confrelid,
		       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, i)
		             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.i)
		FROM pg_catalog.pg_constraint con
		JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE con.contype IN ('p', 'u', 'f', 'x') AND `+userSchema+`
		ORDER BY n.nspname, c.relname, con.conname`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k constraint
		if err := rows.Scan(&k.table, &k.name, &k.kind, &k.cols, &k.refTable, &k.refCols); err != nil {
			return err
		}
		c.constraints = append(c.constraints, k)
	}
	return rows.Err()
}

func (c *catalog) loadIndexes(ctx context.Context, conn Querier) error {
	rows, err := conn.Query(ctx, `
		SELECT i.indrelid, ic.relname::text, i.indisunique, i.indisprimary,
		       coalesce((SELECT a.attname::text FROM pg_catalog.pg_attribute a
		                 WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[0] AND i.indkey[0] <> 0), ''),
		       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
		               WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
		FROM pg_catalog.pg_index i
		JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND `+userSchema+`
		ORDER BY n.nspname, c.relname, ic.relname`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var x index
		if err := rows.Scan(&x.table, &x.name, &x.unique, &x.primary, &x.firstCol, &x.forConstraint); err != nil {
			return err
		}
		c.indexes = append(c.indexes, x)
	}
	return rows.Err()
}

func (c *catalog) loadViews(ctx context.Context, conn Querier) error {
	rows, err := conn.Query(ctx, `
		SELECT n.nspname::text, c.relname::text, c.relkind::text, coalesce(c.reloptions, '{}'),
		       EXISTS (SELECT 1 FROM unnest($1::text[]) rt WHERE pg_catalog.has_table_privilege(rt, c.oid, 'SELECT'))
		FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('v', 'm') AND `+userSchema+` AND `+notExtension("pg_class", "c.oid")+`
		ORDER BY n.nspname, c.relname`, c.runtime)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v view
		if err := rows.Scan(&v.schema, &v.name, &v.kind, &v.options, &v.runtimeCanRead); err != nil {
			return err
		}
		c.views = append(c.views, v)
	}
	return rows.Err()
}

func (c *catalog) loadFunctions(ctx context.Context, conn Querier) error {
	rows, err := conn.Query(ctx, `
		SELECT n.nspname::text, p.proname::text, pg_catalog.pg_get_function_identity_arguments(p.oid),
		       p.prosecdef, p.proleakproof, coalesce(p.proconfig, '{}'), pg_catalog.pg_get_userbyid(p.proowner)::text
		FROM pg_catalog.pg_proc p
		JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE (p.prosecdef OR p.proleakproof) AND `+userSchema+` AND `+notExtension("pg_proc", "p.oid")+`
		ORDER BY n.nspname, p.proname, 3`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var f function
		if err := rows.Scan(&f.schema, &f.name, &f.args, &f.secdef, &f.leakproof, &f.config, &f.owner); err != nil {
			return err
		}
		c.functions = append(c.functions, f)
	}
	return rows.Err()
}

func (c *catalog) loadRoles(ctx context.Context, conn Querier) error {
	names := append(append([]string{}, c.runtime...), c.admin...)
	rows, err := conn.Query(ctx, `
		SELECT r.rolname::text, r.rolsuper, r.rolbypassrls, r.rolcanlogin,
		       ARRAY(SELECT o.rolname::text FROM pg_catalog.pg_roles o
		             WHERE (o.rolsuper OR o.rolbypassrls) AND o.oid <> r.oid
		               AND pg_catalog.pg_has_role(r.oid, o.oid, 'MEMBER') ORDER BY 1)
		FROM pg_catalog.pg_roles r WHERE r.rolname = ANY ($1::text[])`, names)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r role
		if err := rows.Scan(&r.name, &r.super, &r.bypass, &r.login, &r.canBecomePrivilege); err != nil {
			return err
		}
		c.roles[r.name] = r
	}
	return rows.Err()
}

// plainRuntime returns the runtime roles that are not superusers: a
// superuser owns and may do everything, which runtime_role_attributes
// already reports once instead of once per object.
func (c *catalog) plainRuntime() []string { return c.nonSuper(c.runtime) }

// nonSuper returns the names of roles that are not superusers.
func (c *catalog) nonSuper(names []string) []string {
	var out []string
	for _, n := range names {
		if !c.roles[n].super {
			out = append(out, n)
		}
	}
	return out
}

func (c *catalog) loadOwnership(ctx context.Context, conn Querier) error {
	// MEMBER, not USAGE: a member of the owning role can SET ROLE to it and
	// then act as the owner (ALTER TABLE ... NO FORCE ROW LEVEL SECURITY).
	rows, err := conn.Query(ctx, `
		SELECT rt, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
		                          WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
		                          ELSE 'sequence' END,
		       n.nspname::text, c.relname::text, pg_catalog.pg_get_userbyid(c.relowner)::text
		FROM unnest($1::text[]) rt
		CROSS JOIN pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND `+userSchema+` AND `+notExtension("pg_class", "c.oid")+`
		  AND pg_catalog.pg_has_role(rt, c.relowner, 'MEMBER')
		UNION ALL
		SELECT rt, 'schema', n.nspname::text, '', pg_catalog.pg_get_userbyid(n.nspowner)::text
		FROM unnest($1::text[]) rt
		CROSS JOIN pg_catalog.pg_namespace n
		WHERE `+userSchema+` AND pg_catalog.pg_has_role(rt, n.nspowner, 'MEMBER')
		ORDER BY 1, 3, 4`, c.plainRuntime())
	if err != nil {
		return err
	}
	for rows.Next() {
		var o ownedObject
		if err := rows.Scan(&o.role, &o.kind, &o.schema, &o.name, &o.owner); err != nil {
			return err
		}
		c.owned = append(c.owned, o)
	}
	return rows.Err()
}

func (c *catalog) loadPrivileges(ctx context.Context, conn Querier) error {
	plain := c.plainRuntime()
	// has_table_privilege and friends count privileges inherited through
	// role membership (pgtenant_app's grants) and granted to PUBLIC.
	// Objects the role owns are left to runtime_role_ownership.
	rows, err := conn.Query(ctx, `
		SELECT rt, n.nspname::text, c.relname::text,
		       CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END,
		       priv
		FROM unnest($1::text[]) rt
		CROSS JOIN pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		CROSS JOIN unnest(ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER']) priv
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND `+userSchema+` AND `+notExtension("pg_class", "c.oid")+`
		  AND NOT pg_catalog.pg_has_role(rt, c.relowner, 'MEMBER')
		  AND (pg_catalog.has_table_privilege(rt, c.oid, priv)
		       OR (priv = 'REFERENCES' AND pg_catalog.has_any_column_privilege(rt, c.oid, 'REFERENCES')))
		ORDER BY 1, 2, 3, 5`, plain)
	if err != nil {
		return err
	}
	for rows.Next() {
		var p privilege
		if err := rows.Scan(&p.role, &p.schema, &p.name, &p.kind, &p.priv); err != nil {
			return err
		}
		c.privileges = append(c.privileges, p)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// CREATE on schemas: counted for every runtime role, superusers
	// included, because the SECURITY DEFINER rule needs to know which
	// schemas on a pinned search_path the runtime role could plant objects in.
	rows, err = conn.Query(ctx, `
		SELECT n.nspname::text, rt
		FROM pg_catalog.pg_namespace n CROSS JOIN unnest($1::text[]) rt
		WHERE `+userSchema+` AND pg_catalog.has_schema_privilege(rt, n.oid, 'CREATE')
		ORDER BY 1, 2`, c.runtime)
	if err != nil {
		return err
	}
	for rows.Next() {
		var schema, rt string
		if err := rows.Scan(&schema, &rt); err != nil {
			return err
		}
		c.writable[schema] = append(c.writable[schema], rt)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return conn.QueryRow(ctx, `
		SELECT coalesce(array_agg(rt ORDER BY rt), '{}') FROM unnest($1::text[]) rt
		WHERE pg_catalog.has_database_privilege(rt, current_database(), 'CREATE')`, plain).Scan(&c.databaseCreate)
}

// ownsSchema reports whether role owns (or is a member of the owner of)
// schema: CREATE there is implied and reported as ownership.
func (c *catalog) ownsSchema(role, schema string) bool {
	for _, o := range c.owned {
		if o.role == role && o.kind == "schema" && o.schema == schema {
			return true
		}
	}
	return false
}

func (c *catalog) policiesOf(t *table) []policy {
	var out []policy
	for _, p := range c.policies {
		if p.table == t.oid {
			out = append(out, p)
		}
	}
	return out
}

func (c *catalog) constraintsOf(t *table) []constraint {
	var out []constraint
	for _, k := range c.constraints {
		if k.table == t.oid {
			out = append(out, k)
		}
	}
	return out
}

func (c *catalog) indexesOf(t *table) []index {
	var out []index
	for _, x := range c.indexes {
		if x.table == t.oid {
			out = append(out, x)
		}
	}
	return out
}

func joinNames(names []string) string { return strings.Join(names, ", ") }
