package rlscheck

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Rule is one check. ID is stable (machines key on it); Title is one line;
// Description says what passes, what fails and which attack it closes.
type Rule struct {
	ID          string
	Title       string
	Description string
	check       func(c *catalog, report func(object, message, fix string))
}

// baseRules are the structural rules, in report order; ruleset.go appends
// the expression and drift rules to make Rules.
var baseRules = []Rule{
	{
		ID:    "tenant_rls_forced",
		Title: "tenant tables have row-level security enabled and forced",
		Description: "Every tenant table has ENABLE and FORCE ROW LEVEL SECURITY. A tenant table is a table with a " +
			"tenant_id column, or, whatever the column is called, one whose column alone references tenants (org_id " +
			"REFERENCES tenants (id)) or whose policies compare a column with app.current_tenant_id(). " +
			"Without ENABLE every role with a grant reads every tenant's rows; without FORCE the table " +
			"owner, and any role that is a member of it, bypasses the policies. Partitions count as " +
			"tables: a partition queried directly is governed by its own RLS flags and policies, not its parent's.",
		check: checkRLSForced,
	},
	{
		ID:    "tenant_policy_coverage",
		Title: "tenant tables have permissive policies for SELECT, INSERT, UPDATE and DELETE",
		Description: "For each command, at least one permissive policy (FOR that command or FOR ALL) applies to the " +
			"runtime role (TO PUBLIC or to a role it inherits from). Without one, RLS denies the command " +
			"outright: not a leak, but a table nobody wrote the isolation rule for, which the next " +
			"change tends to \"fix\" with a broad policy.",
		check: checkCoverage,
	},
	{
		ID:    "policy_always_true",
		Title: "no policy expression is true for every row",
		Description: "A permissive policy whose expression is true for every row opens the table to the roles it " +
			"applies to, whatever the other permissive policies say; a restrictive one restricts nothing. Decided " +
			"on the expression tree Postgres stored, with operators and functions resolved through the catalogs " +
			"(three-valued logic, the context helpers free to return anything): true, 1 = 1, id = id, NOT false, " +
			"coalesce(NULL::bool, true) and `<tenant check> OR true` all fire. Checked on every table, tenant tables and global ones.",
		check: checkAlwaysTrue,
	},
	{
		ID:    "policy_null_escape",
		Title: "no policy expression that reads the context is true without one",
		Description: "A policy such as `app.current_tenant_id() IS NULL OR tenant_id = app.current_tenant_id()` " +
			"turns a missing tenant context (a forgotten scope, a pooled connection, a failed app.enter) " +
			"into access to every tenant. Unset context must mean zero rows and refused writes. Each expression " +
			"that calls an app helper (or reads an app.* setting) is evaluated with every helper returning NULL, " +
			"as they do without a context; it fires when a row could then pass: IS NULL OR, " +
			"tenant_id = coalesce(helper, tenant_id), IS NOT FALSE, a CASE whose ELSE admits.",
		check: checkNullEscape,
	},
	{
		ID:    "tenant_isolation_restrictive",
		Title: "tenant isolation is restrictive, or the only permissive policy",
		Description: "For each command on a tenant table, the tenant check (one of the accepted forms, " +
			"tenant_id = (SELECT app.current_tenant_id()), as a top-level conjunct of the expression: not under OR, " +
			"NOT, CASE or COALESCE) is either in a RESTRICTIVE policy " +
			"that applies to the runtime role, or in the only permissive policy for that command. " +
			"Permissive policies are OR-ed: with two of them, the second widens the first, so a policy " +
			"added later for a feature can expose other tenants' rows. The sole-permissive form is allowed " +
			"(memberships' read policy is one: for SELECT only, the tenant check may be OR-ed with the user's own " +
			"rows, user_id = (SELECT app.current_user_id()), which shows a user its memberships in other tenants): " +
			"the rule then fires the day a second permissive policy appears.",
		check: checkIsolation,
	},
	{
		ID:    "tenant_primary_key",
		Title: "tenant_id leads the primary key",
		Description: "A tenant table's primary key, when it has one, starts with tenant_id: keys are scoped to a " +
			"tenant, lookups by key use the tenant's part of the index, and the table can be distributed " +
			"by tenant_id (Citus requires the distribution column in every primary key and unique " +
			"constraint). A table without a primary key is not flagged here (tenant_index still requires " +
			"an index led by tenant_id).",
		check: checkPrimaryKey,
	},
	{
		ID:    "tenant_unique_keys",
		Title: "tenant_id leads every unique constraint and unique index",
		Description: "A unique constraint or unique index on a tenant table starts with tenant_id. Uniqueness " +
			"across tenants is an oracle: the \"already exists\" error on INSERT tells one tenant that " +
			"another tenant has a row with that value, past RLS.",
		check: checkUniqueKeys,
	},
	{
		ID:    "tenant_foreign_keys",
		Title: "tenant_id leads every foreign key between tenant tables",
		Description: "A foreign key from a tenant table to another tenant table (a table with a tenant_id column) " +
			"is composite and starts with tenant_id on both sides, (tenant_id, parent_id) REFERENCES " +
			"parent (tenant_id, id). Foreign key checks ignore RLS: with a single-column key a client could " +
			"attach its row to a guessed id of another tenant, and learn from the error whether that id exists. " +
			"Foreign keys to global tables (tables without tenant_id, such as tenants and users: reference " +
			"tables in Citus terms) cannot carry tenant_id and are not checked.",
		check: checkForeignKeys,
	},
	{
		ID:    "tenant_index",
		Title: "at least one index of each tenant table leads with tenant_id",
		Description: "Every tenant query filters on tenant_id through the policies; without an index that starts " +
			"with tenant_id each of them scans the whole table, and a tenant's page slows down as other " +
			"tenants grow. Secondary indexes for cross-tenant lookups (memberships (user_id, tenant_id)) are " +
			"allowed: one index led by tenant_id is enough.",
		check: checkIndex,
	},
	{
		ID:    "view_security_invoker",
		Title: "views use security_invoker",
		Description: "A view runs with its owner's privileges unless created WITH (security_invoker = true): " +
			"a view owned by the schema owner over a tenant table, or over tenants/users (whose RLS is not " +
			"forced), returns every tenant's rows to whoever may select from it. Materialized views cannot " +
			"be security_invoker (they are filled as their owner), so one the runtime role can read is flagged too.",
		check: checkViews,
	},
	{
		ID:    "security_definer_search_path",
		Title: "SECURITY DEFINER functions pin search_path",
		Description: "A SECURITY DEFINER function runs as its owner; it must SET search_path to trusted schemas " +
			"ending in pg_temp (e.g. SET search_path = pg_catalog, pg_temp). Without it, or with pg_temp " +
			"not listed last (an unlisted pg_temp is searched first), or with a schema on the path the " +
			"runtime role can CREATE in, a caller plants a table or function of the same name and runs " +
			"code or reads data as the owner.",
		check: checkSecurityDefiner,
	},
	{
		ID:    "leakproof_function",
		Title: "no custom LEAKPROOF function",
		Description: "The planner evaluates LEAKPROOF functions before the RLS filter. A custom function marked " +
			"LEAKPROOF that raises an error or a notice containing its argument reveals rows of other tenants " +
			"through error messages. Only the built-in functions, audited by the PostgreSQL project, should carry it.",
		check: checkLeakproof,
	},
	{
		ID:    "runtime_role_attributes",
		Title: "the runtime role is not superuser, not BYPASSRLS, and cannot become either",
		Description: "Superusers and BYPASSRLS roles skip every policy. The runtime role (DATABASE_URL) must have " +
			"neither attribute and must not be a member of a role that has one (SET ROLE would do).",
		check: checkRuntimeAttributes,
	},
	{
		ID:    "runtime_role_ownership",
		Title: "the runtime role owns no table or schema",
		Description: "A table's owner can disable or unforce its RLS, drop its policies and grant anything; a " +
			"schema's owner can drop and replace what is in it. The runtime role owns nothing, directly or " +
			"as a member of the owning role.",
		check: checkRuntimeOwnership,
	},
	{
		ID:    "runtime_role_privileges",
		Title: "the runtime role has no TRUNCATE, REFERENCES, TRIGGER or CREATE privilege",
		Description: "TRUNCATE is not subject to RLS and empties every tenant's rows at once; REFERENCES lets a " +
			"role build foreign keys that probe keys past RLS; TRIGGER lets it run code on other tenants' writes; " +
			"CREATE on the database or on a schema (public, app, ...) lets it plant objects that shadow the " +
			"application's. Privileges inherited through pgtenant_app or granted to PUBLIC count.",
		check: checkRuntimePrivileges,
	},
	{
		ID:    "admin_role_attributes",
		Title: "the admin role is BYPASSRLS and not superuser",
		Description: "The audited admin scope (ADMIN_DATABASE_URL) needs BYPASSRLS for cross-tenant work, and " +
			"nothing more: a superuser could also disable the audit log's append-only trigger. BYPASSRLS is " +
			"not inherited, so the login roles themselves are checked, not the pgtenant_admin group.",
		check: checkAdminAttributes,
	},
	{
		ID:    "policy_reads_unsealed_setting",
		Title: "policies read the tenant context only through the sealed helpers",
		Description: "Any session of the runtime role can write app.tenant_id, app.user_id or app.role with set_config; " +
			"only app.context() (and app.current_tenant_id(), app.current_user_id(), app.current_member_role(), " +
			"app.current_is_owner(), which read through it) checks the seal app.enter put next to them. A policy " +
			"that calls current_setting('app....') or app.claimed_tenant_id() trusts what the caller wrote: a leaked " +
			"DATABASE_URL then reads and writes any tenant. Allowed in a permissive policy when, for every command " +
			"it covers, a restrictive policy compares tenant_id with the sealed app.current_tenant_id(): a row must " +
			"pass both, so the unchecked one can only narrow (projects_tenant does this to save a seal check).",
		check: checkUnsealedSettings,
	},
	{
		ID:    "role_settings",
		Title: "the runtime and admin roles carry no role-level settings but timeouts and pgaudit.*",
		Description: "Any role may give itself defaults with ALTER ROLE CURRENT_USER SET ...; every session it opens " +
			"afterwards inherits them. `row_security = off` breaks every request, a search_path can redirect " +
			"unqualified names, default_transaction_read_only stops writes. Allowed: statement_timeout, lock_timeout, " +
			"idle_in_transaction_session_timeout, idle_session_timeout and pgaudit.* (session audit logging of the " +
			"admin role). `server serve` refuses the same at start and in /readyz.",
		check: checkRoleSettings,
	},
	{
		ID:    "runtime_role_temp",
		Title: "the runtime role cannot create temporary tables",
		Description: "When pg_temp is not on the search_path it is searched first: a TEMP table named projects, " +
			"created on a pooled connection (by an injected statement, or through pgbouncer by any session of the " +
			"role), is what the next request on that connection reads and writes. PUBLIC holds TEMP on every " +
			"database by default; the migrations revoke it where the migrating role owns the database.",
		check: checkRuntimeTemp,
	},
	{
		ID:    "tenant_text_statistics",
		Title: "text columns of tenant tables and registries keep no planner statistics",
		Description: "ANALYZE stores each column's most common values and a histogram, and the planner uses them under " +
			"RLS: EXPLAIN row estimates tell a member of one tenant another tenant's frequent values, and bisecting " +
			"estimates of < comparisons recovers the strings. Text columns of tenant tables and of tenants and users " +
			"must have STATISTICS 0 (db/policies/05_statistics.sql sets it on every such column).",
		check: checkTextStatistics,
	},
	{
		ID:    "admin_write_audited",
		Title: "every table the admin role can write demands an audit row in the same transaction",
		Description: "The admin role bypasses RLS. Each table it may INSERT, UPDATE or DELETE carries the deferred " +
			"constraint trigger admin_write_audited (db/policies/95_admin_audit.sql), which refuses at COMMIT a " +
			"transaction of an admin login that wrote the table without inserting its audit_log row.",
		check: checkAdminAudited,
	},
	{
		ID:    "citus_distributable",
		Title: "tenant tables could be distributed by tenant_id (Citus)",
		Description: "What Citus needs beyond the key rules above: tenant_id is NOT NULL (Citus refuses NULL " +
			"distribution values); every tenant table's tenant_id has the same type (co-location); no " +
			"table without tenant_id (a future reference table) has a foreign key to a tenant table " +
			"(reference-to-distributed foreign keys are not supported); exclusion constraints include tenant_id.",
		check: checkCitus,
	},
}

var commands = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}

func (p policy) appliesTo(cmd string) bool { return p.cmd == cmd || p.cmd == "ALL" }

// exprsFor returns the expressions of p that decide cmd, as stored trees:
// USING filters rows read, updated and deleted; WITH CHECK (or USING when
// a FOR ALL or UPDATE policy has none) checks rows written. A nil entry is
// an expression the policy lacks.
func (p policy) exprsFor(cmd string) []*Node {
	check := p.checkTree
	if check == nil {
		check = p.usingTree
	}
	switch cmd {
	case "SELECT", "DELETE":
		return []*Node{p.usingTree}
	case "INSERT":
		return []*Node{check}
	default: // UPDATE
		return []*Node{p.usingTree, check}
	}
}

// isTenantPredicate reports whether expr, a stored expression of a policy on
// t, bounds the rows to the context's tenant: one of its top-level conjuncts
// is an accepted tenant check (IsolationForms: the tenant key compared with
// pg_catalog's = to app.current_tenant_id()). Decided on the tree, not the
// text: `tenant_id = (SELECT app.current_tenant_id()) OR true` mentions both
// and bounds nothing.
func (c *catalog) isTenantPredicate(t *table, expr *Node) bool {
	return expr != nil && c.exprs.r.isTenantPredicate(t, expr)
}

// allTenantPredicates: every expression deciding the command is a tenant
// check; with ownRows, the memberships_read shape (the tenant check OR-ed
// with the user's own rows) passes as well.
func (c *catalog) allTenantPredicates(t *table, exprs []*Node, ownRows bool) bool {
	for _, e := range exprs {
		if !c.isTenantPredicate(t, e) && (!ownRows || e == nil || !c.exprs.r.isTenantOrOwnRows(t, e)) {
			return false
		}
	}
	return true
}

func (c *catalog) policyObject(p policy) string {
	if t := c.byOID[p.table]; t != nil {
		return fmt.Sprintf("policy %s on %s", p.name, t.qname())
	}
	return "policy " + p.name
}

func checkRLSForced(c *catalog, report func(object, message, fix string)) {
	for _, t := range c.tenantTables() {
		switch {
		case !t.rls:
			report(t.object(), "row-level security is disabled: every role with a grant on the table reads and writes every tenant's rows",
				fmt.Sprintf("ALTER TABLE %s ENABLE ROW LEVEL SECURITY; ALTER TABLE %[1]s FORCE ROW LEVEL SECURITY;", t.qname()))
		case !t.force:
			report(t.object(), fmt.Sprintf("row-level security is enabled but not forced: the owner (%s) and its members bypass every policy", t.owner),
				fmt.Sprintf("ALTER TABLE %s FORCE ROW LEVEL SECURITY;", t.qname()))
		}
	}
}

func checkCoverage(c *catalog, report func(object, message, fix string)) {
	for _, t := range c.tenantTables() {
		pols := c.policiesOf(t)
		var missing []string
		for _, cmd := range commands {
			ok := false
			for _, p := range pols {
				if p.permissive && p.appliesToRT && p.appliesTo(cmd) {
					ok = true
				}
			}
			if !ok {
				missing = append(missing, cmd)
			}
		}
		if len(missing) > 0 {
			report(t.object(),
				fmt.Sprintf("no permissive policy applying to the runtime role covers %s: RLS refuses those commands outright, and nobody wrote this table's isolation rule for them", joinNames(missing)),
				fmt.Sprintf("CREATE POLICY %s_tenant ON %s USING (tenant_id = (SELECT app.current_tenant_id())) WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));", t.name, t.qname()))
		}
	}
}

// checkAlwaysTrue evaluates each expression on its tree (predicate.go):
// true for every row whatever the context says, not only the literal
// `true` but 1 = 1, id = id, NOT false, coalesce(NULL::bool, true), and
// `<tenant check> OR true`.
func checkAlwaysTrue(c *catalog, report func(object, message, fix string)) {
	for _, p := range c.policies {
		var which []string
		for _, e := range p.clauses() {
			if c.exprs.r.alwaysTrue(p.table, e.tree) {
				which = append(which, fmt.Sprintf("%s (%s)", e.name, e.text))
			}
		}
		if len(which) == 0 {
			continue
		}
		kind := "permissive: it admits every row for " + joinNames(p.roles)
		if !p.permissive {
			kind = "restrictive: it restricts nothing and only looks like a rule"
		}
		report(c.policyObject(p), fmt.Sprintf("%s %s is true for every row; the policy is %s", p.cmd, strings.Join(which, " and "), kind),
			"replace the constant with the tenant (or user) check the table needs, or drop the policy")
	}
}

// checkNullEscape evaluates each expression that reads the context with
// every context helper returning NULL (no context): if a row can then
// pass, an unset context opens the table. `helper IS NULL OR ...`,
// `tenant_id = coalesce(helper, tenant_id)`, `NOT (tenant_id <> helper)`
// IS NOT FALSE all do.
func checkNullEscape(c *catalog, report func(object, message, fix string)) {
	for _, p := range c.policies {
		for _, e := range p.clauses() {
			r := c.exprs.r
			if r.referencesContext(e.tree) && r.trueWithoutContext(p.table, e.tree) && !r.alwaysTrue(p.table, e.tree) {
				report(c.policyObject(p),
					fmt.Sprintf("%s %s (%s) can be true when the context is unset (every app helper NULL): a session that never entered a context, or whose app.enter failed, would see or write rows", p.cmd, e.name, e.text),
					"compare with the context so that NULL matches nothing (tenant_id = (SELECT app.current_tenant_id())); drop IS NULL and COALESCE branches")
			}
		}
	}
}

func checkIsolation(c *catalog, report func(object, message, fix string)) {
	for _, t := range c.tenantTables() {
		pols := c.policiesOf(t)
		for _, cmd := range commands {
			isolated := false
			var permissive []policy
			for _, p := range pols {
				if !p.appliesToRT || !p.appliesTo(cmd) {
					continue
				}
				if !p.permissive && c.allTenantPredicates(t, p.exprsFor(cmd), false) {
					isolated = true
				}
				if p.permissive {
					permissive = append(permissive, p)
				}
			}
			if isolated || len(permissive) == 0 { // no permissive policy: tenant_policy_coverage
				continue
			}
			if len(permissive) == 1 && c.allTenantPredicates(t, permissive[0].exprsFor(cmd), cmd == "SELECT") {
				continue
			}
			names := make([]string, len(permissive))
			for i, p := range permissive {
				names[i] = p.name
			}
			msg := fmt.Sprintf("%s: no restrictive policy holds the tenant check, and the permissive policies (%s) are OR-ed: each one widens the others", cmd, joinNames(names))
			if len(permissive) == 1 {
				msg = fmt.Sprintf("%s: the only permissive policy (%s) does not bound rows to the context's tenant (no accepted tenant check AND-ed at the top of its expression), and no restrictive policy does", cmd, names[0])
			}
			report(t.object(), msg,
				fmt.Sprintf("CREATE POLICY %s_isolation ON %s AS RESTRICTIVE USING (tenant_id = (SELECT app.current_tenant_id())) WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));", t.name, t.qname()))
		}
	}
}

func checkPrimaryKey(c *catalog, report func(object, message, fix string)) {
	for _, t := range c.tenantTables() {
		for _, k := range c.constraintsOf(t) {
			if k.kind == "p" && (len(k.cols) == 0 || k.cols[0] != t.tenantKey) {
				report(fmt.Sprintf("constraint %s on %s", k.name, t.qname()),
					fmt.Sprintf("primary key (%s) does not start with %s", joinNames(k.cols), t.tenantKey),
					fmt.Sprintf("make it PRIMARY KEY (%s, ...)", t.tenantKey))
			}
		}
	}
}

func checkUniqueKeys(c *catalog, report func(object, message, fix string)) {
	for _, t := range c.tenantTables() {
		for _, k := range c.constraintsOf(t) {
			if k.kind == "u" && (len(k.cols) == 0 || k.cols[0] != t.tenantKey) {
				report(fmt.Sprintf("constraint %s on %s", k.name, t.qname()),
					fmt.Sprintf("unique constraint (%s) does not start with %s: its violation tells a tenant that another tenant has that value", joinNames(k.cols), t.tenantKey),
					fmt.Sprintf("make it UNIQUE (%s, %s)", t.tenantKey, joinNames(without(k.cols, t.tenantKey))))
			}
		}
		for _, x := range c.indexesOf(t) {
			if x.unique && !x.primary && !x.forConstraint && x.firstCol != t.tenantKey {
				first := x.firstCol
				if first == "" {
					first = "an expression"
				}
				report(fmt.Sprintf("index %s on %s", x.name, t.qname()),
					fmt.Sprintf("unique index starts with %s, not %s: its violation tells a tenant that another tenant has that value", first, t.tenantKey),
					fmt.Sprintf("recreate it with %s as its first column", t.tenantKey))
			}
		}
	}
}

func without(cols []string, drop string) []string {
	var out []string
	for _, c := range cols {
		if c != drop {
			out = append(out, c)
		}
	}
	return out
}

func checkForeignKeys(c *catalog, report func(object, message, fix string)) {
	for _, t := range c.tenantTables() {
		for _, k := range c.constraintsOf(t) {
			ref := c.byOID[k.refTable]
			if k.kind != "f" || ref == nil || !ref.isTenant() {
				continue
			}
			if len(k.cols) > 0 && k.cols[0] == t.tenantKey && len(k.refCols) > 0 && k.refCols[0] == ref.tenantKey {
				continue
			}
			report(fmt.Sprintf("constraint %s on %s", k.name, t.qname()),
				fmt.Sprintf("foreign key (%s) REFERENCES %s (%s) between tenant tables does not start with %s on both sides: FK checks ignore RLS, so a row can point at (and probe for) another tenant's row",
					joinNames(k.cols), ref.qname(), joinNames(k.refCols), t.tenantKey),
				fmt.Sprintf("FOREIGN KEY (%s, %s) REFERENCES %s (%s, %s)", t.tenantKey, joinNames(without(k.cols, t.tenantKey)), ref.qname(), ref.tenantKey, joinNames(without(k.refCols, ref.tenantKey))))
		}
	}
}

func checkIndex(c *catalog, report func(object, message, fix string)) {
	for _, t := range c.tenantTables() {
		ok := false
		for _, x := range c.indexesOf(t) {
			if x.firstCol == t.tenantKey {
				ok = true
			}
		}
		if !ok {
			report(t.object(), fmt.Sprintf("no index starts with %s: every policy-filtered query scans the whole table", t.tenantKey),
				fmt.Sprintf("CREATE INDEX ON %s (%s, ...); or a primary key that starts with %[2]s", t.qname(), t.tenantKey))
		}
	}
}

func checkViews(c *catalog, report func(object, message, fix string)) {
	for _, v := range c.views {
		name := qualify(v.schema, v.name)
		if v.kind == "m" {
			if v.runtimeCanRead {
				report("materialized view "+name, "the runtime role can read a materialized view, which holds rows as its owner saw them when refreshed, past RLS",
					fmt.Sprintf("REVOKE SELECT ON %s FROM <runtime role, its groups, PUBLIC>; or use a security_invoker view", name))
			}
			continue
		}
		if !securityInvoker(v.options) {
			report("view "+name, "view runs with its owner's privileges (no security_invoker): the policies are checked as the owner, not as the caller",
				fmt.Sprintf("ALTER VIEW %s SET (security_invoker = true);", name))
		}
	}
}

func securityInvoker(options []string) bool {
	for _, o := range options {
		k, v, _ := strings.Cut(o, "=")
		if strings.EqualFold(k, "security_invoker") {
			switch strings.ToLower(v) {
			case "true", "on", "yes", "1":
				return true
			}
		}
	}
	return false
}

// searchPath returns the search_path a function pins, and whether it pins one.
func searchPath(config []string) ([]string, bool) {
	for _, s := range config {
		k, v, ok := strings.Cut(s, "=")
		if !ok || !strings.EqualFold(k, "search_path") {
			continue
		}
		var path []string
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
				if p != `"$user"` {
					p = strings.ReplaceAll(p[1:len(p)-1], `""`, `"`)
				}
			}
			if p != "" {
				path = append(path, p)
			}
		}
		return path, true
	}
	return nil, false
}

func checkSecurityDefiner(c *catalog, report func(object, message, fix string)) {
	const fix = "ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp; (and schema-qualify every table it reads)"
	for _, f := range c.functions {
		if !f.secdef {
			continue
		}
		ident := fmt.Sprintf("%s(%s)", qualify(f.schema, f.name), f.args)
		path, pinned := searchPath(f.config)
		if !pinned {
			report(f.object(), fmt.Sprintf("SECURITY DEFINER (runs as %s) without SET search_path: the caller's search_path decides which tables and functions it uses", f.owner),
				fmt.Sprintf(fix, ident))
			continue
		}
		var problems []string
		if len(path) == 0 || path[len(path)-1] != "pg_temp" {
			problems = append(problems, "pg_temp is not listed last (unlisted, it is searched first for tables)")
		}
		for _, s := range path {
			if s == `"$user"` || s == "$user" {
				problems = append(problems, `"$user" makes the path depend on the caller`)
			} else if roles := c.writable[s]; len(roles) > 0 {
				problems = append(problems, fmt.Sprintf("schema %s is on the path and %s can CREATE in it", s, joinNames(roles)))
			}
		}
		if len(problems) > 0 {
			report(f.object(), fmt.Sprintf("SECURITY DEFINER with search_path = %s: %s", strings.Join(path, ", "), strings.Join(problems, "; ")),
				fmt.Sprintf(fix, ident))
		}
	}
}

func checkLeakproof(c *catalog, report func(object, message, fix string)) {
	for _, f := range c.functions {
		if f.leakproof {
			report(f.object(), "custom function marked LEAKPROOF: the planner runs it before the RLS filter, so any error or notice it raises can reveal other tenants' values",
				fmt.Sprintf("ALTER FUNCTION %s(%s) NOT LEAKPROOF;", qualify(f.schema, f.name), f.args))
		}
	}
}

func checkRuntimeAttributes(c *catalog, report func(object, message, fix string)) {
	for _, name := range c.runtime {
		r := c.roles[name]
		if r.super {
			report("role "+name, "the runtime role is a superuser: superusers bypass row-level security (and everything else)",
				fmt.Sprintf("ALTER ROLE %s NOSUPERUSER;", quoteIdent(name)))
			continue
		}
		if r.bypass {
			report("role "+name, "the runtime role has BYPASSRLS: no policy applies to it",
				fmt.Sprintf("ALTER ROLE %s NOBYPASSRLS;", quoteIdent(name)))
		}
		if len(r.canBecomePrivilege) > 0 {
			report("role "+name, fmt.Sprintf("the runtime role is a member of superuser or BYPASSRLS role(s) %s and can SET ROLE to them", joinNames(r.canBecomePrivilege)),
				fmt.Sprintf("REVOKE %s FROM %s;", joinNames(r.canBecomePrivilege), quoteIdent(name)))
		}
	}
}

func checkRuntimeOwnership(c *catalog, report func(object, message, fix string)) {
	type key struct{ kind, schema, name, owner string }
	holders := map[key][]string{}
	var keys []key
	for _, o := range c.owned {
		k := key{o.kind, o.schema, o.name, o.owner}
		if _, ok := holders[k]; !ok {
			keys = append(keys, k)
		}
		holders[k] = append(holders[k], o.role)
	}
	for _, k := range keys {
		object := k.kind + " " + qualify(k.schema, k.name)
		ident := qualify(k.schema, k.name)
		alter := fmt.Sprintf("ALTER %s %s OWNER TO <schema owner role>;", strings.ToUpper(k.kind), ident)
		if k.kind == "schema" {
			object, ident = "schema "+quoteIdent(k.schema), quoteIdent(k.schema)
			alter = fmt.Sprintf("ALTER SCHEMA %s OWNER TO <schema owner role>;", ident)
		}
		report(object, fmt.Sprintf("owned by %s; runtime role(s) %s are that role or members of it: an owner can unforce RLS, drop policies and grant itself anything",
			k.owner, joinNames(holders[k])), alter)
	}
}

var privilegeWhy = map[string]string{
	"TRUNCATE":   "TRUNCATE ignores RLS and empties every tenant's rows",
	"REFERENCES": "REFERENCES lets it create foreign keys that probe keys past RLS",
	"TRIGGER":    "TRIGGER lets it run code on every tenant's writes",
}

func checkRuntimePrivileges(c *catalog, report func(object, message, fix string)) {
	type key struct{ kind, schema, name string }
	privs := map[key]map[string][]string{} // object -> privilege -> roles
	var keys []key
	for _, p := range c.privileges {
		k := key{p.kind, p.schema, p.name}
		if privs[k] == nil {
			privs[k] = map[string][]string{}
			keys = append(keys, k)
		}
		privs[k][p.priv] = append(privs[k][p.priv], p.role)
	}
	for _, k := range keys {
		var names, why, held []string
		for _, p := range []string{"TRUNCATE", "REFERENCES", "TRIGGER"} {
			if roles, ok := privs[k][p]; ok {
				names = append(names, p)
				why = append(why, privilegeWhy[p])
				held = append(held, fmt.Sprintf("%s (%s)", p, joinNames(roles)))
			}
		}
		ident := qualify(k.schema, k.name)
		report(k.kind+" "+ident, fmt.Sprintf("the runtime role holds %s: %s", strings.Join(held, ", "), strings.Join(why, "; ")),
			fmt.Sprintf("REVOKE %s ON %s FROM <grantee>; (\\dp %s shows whether the runtime role, a group it is in, or PUBLIC holds it)", joinNames(names), ident, ident))
	}
	if len(c.databaseCreate) > 0 {
		report("database "+quoteIdent(c.database), fmt.Sprintf("runtime role(s) %s can CREATE schemas in the database", joinNames(c.databaseCreate)),
			fmt.Sprintf("REVOKE CREATE ON DATABASE %s FROM <grantee>; (\\l %[1]s shows who holds it)", quoteIdent(c.database)))
	}
	schemas := make([]string, 0, len(c.writable))
	for s := range c.writable {
		schemas = append(schemas, s)
	}
	sort.Strings(schemas)
	for _, s := range schemas {
		var roles []string
		for _, r := range c.writable[s] {
			if !c.roles[r].super && !c.ownsSchema(r, s) {
				roles = append(roles, r)
			}
		}
		if len(roles) > 0 {
			report("schema "+quoteIdent(s), fmt.Sprintf("runtime role(s) %s can CREATE in schema %s: objects planted there can shadow the application's", joinNames(roles), s),
				fmt.Sprintf("REVOKE CREATE ON SCHEMA %s FROM <grantee>; (\\dn+ %[1]s shows who holds it)", quoteIdent(s)))
		}
	}
}

func checkAdminAttributes(c *catalog, report func(object, message, fix string)) {
	for _, name := range c.admin {
		r := c.roles[name]
		if !r.bypass {
			report("role "+name, "the admin role lacks BYPASSRLS: the audited admin scope cannot do cross-tenant work (and BYPASSRLS is not inherited from a group)",
				fmt.Sprintf("ALTER ROLE %s BYPASSRLS;", quoteIdent(name)))
		}
		if r.super {
			report("role "+name, "the admin role is a superuser: it needs BYPASSRLS and narrow grants, not the power to drop the audit trigger",
				fmt.Sprintf("ALTER ROLE %s NOSUPERUSER BYPASSRLS;", quoteIdent(name)))
		}
	}
}

// narrowedBySealedIsolation reports whether every command p covers also
// has a restrictive policy whose expressions are all the tenant check on
// the sealed helper (IsolationForms): then p, OR-ed with other permissive
// policies but AND-ed with that one, can only narrow what the sealed check
// lets through.
func (c *catalog) narrowedBySealedIsolation(p policy) bool {
	t := c.byOID[p.table]
	if !p.permissive || t == nil {
		return false
	}
	for _, cmd := range commands {
		if !p.appliesTo(cmd) {
			continue
		}
		sealed := false
		for _, r := range c.policiesOf(t) {
			if !r.permissive && r.appliesToRT && r.appliesTo(cmd) && c.allTenantPredicates(t, r.exprsFor(cmd), false) {
				sealed = true
				break
			}
		}
		if !sealed {
			return false
		}
	}
	return true
}

// checkUnsealedSettings: a policy of the runtime role that reads the context
// unchecked (an Isolation.Unsealed helper, or current_setting of an app.*
// setting) trusts a value any session can write with set_config, unless a
// restrictive policy on the sealed helper narrows it for every command.
func checkUnsealedSettings(c *catalog, report func(object, message, fix string)) {
	r := c.exprs.r
	for _, p := range c.policies {
		if !p.appliesToRT || c.narrowedBySealedIsolation(p) {
			continue
		}
		for _, e := range p.clauses() {
			if r.readsUnsealedContext(e.tree) {
				report(c.policyObject(p), fmt.Sprintf("%s %s reads a context setting unchecked: %s", p.cmd, e.name, e.text),
					"compare with (SELECT app.current_tenant_id()) (or current_user_id, current_member_role, current_is_owner), which check the seal")
			}
		}
	}
}

func checkRoleSettings(c *catalog, report func(object, message, fix string)) {
	for _, name := range append(append([]string{}, c.runtime...), c.admin...) {
		for _, s := range c.roleSettings[name] {
			key, _, _ := strings.Cut(s, "=")
			report("role "+name, fmt.Sprintf("role-level setting %s applies to every session of the role", s),
				fmt.Sprintf("ALTER ROLE %s RESET %s; (and ALTER ROLE %[1]s IN DATABASE ... RESET %[2]s)", quoteIdent(name), key))
		}
	}
}

func checkRuntimeTemp(c *catalog, report func(object, message, fix string)) {
	if len(c.runtimeTemp) > 0 {
		report("database "+quoteIdent(c.database), fmt.Sprintf("runtime role(s) %s can create temporary tables, which shadow the schema's tables on a pooled connection", joinNames(c.runtimeTemp)),
			fmt.Sprintf("as the database owner: REVOKE TEMPORARY ON DATABASE %s FROM PUBLIC; (and from any role that holds it: \\l %[1]s)", quoteIdent(c.database)))
	}
}

func checkTextStatistics(c *catalog, report func(object, message, fix string)) {
	for _, tc := range c.textStats {
		report(fmt.Sprintf("column %s.%s", tc.table, quoteIdent(tc.column)),
			"keeps planner statistics (most common values, histogram): EXPLAIN estimates reveal other tenants' values",
			fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET STATISTICS 0; then ALTER COLUMN %[2]s TYPE <its type> to drop what was collected (or migrate up)", tc.table, quoteIdent(tc.column)))
	}
}

func checkAdminAudited(c *catalog, report func(object, message, fix string)) {
	for _, u := range c.unaudited {
		report("table "+u.table, fmt.Sprintf("admin role(s) %s can write it with no audit row: it lacks the admin_write_audited constraint trigger", joinNames(u.roles)),
			"server migrate up (db/policies/95_admin_audit.sql puts the trigger on every table)")
	}
}

func checkCitus(c *catalog, report func(object, message, fix string)) {
	tenant := c.tenantTables()
	types := map[string]int{}
	for _, t := range tenant {
		types[t.tenantType]++
	}
	common, best := "", 0
	for ty, n := range types {
		if n > best || (n == best && ty < common) {
			common, best = ty, n
		}
	}
	for _, t := range tenant {
		if !t.tenantNotNull {
			report(t.object(), fmt.Sprintf("%s is nullable: a distributed table cannot hold a NULL distribution value", t.tenantKey),
				fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;", t.qname(), t.tenantKey))
		}
		if len(types) > 1 && t.tenantType != common {
			report(t.object(), fmt.Sprintf("%s is %s while most tenant tables use %s: tables are co-located only when their distribution columns have the same type", t.tenantKey, t.tenantType, common),
				fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s;", t.qname(), t.tenantKey, common))
		}
		for _, k := range c.constraintsOf(t) {
			if k.kind == "x" && !slices.Contains(k.cols, t.tenantKey) {
				report(fmt.Sprintf("constraint %s on %s", k.name, t.qname()),
					fmt.Sprintf("exclusion constraint (%s) does not include %s: Citus enforces constraints per shard only when they include the distribution column", joinNames(k.cols), t.tenantKey),
					fmt.Sprintf("add %s WITH = to the constraint", t.tenantKey))
			}
		}
	}
	for _, k := range c.constraints {
		from, to := c.byOID[k.table], c.byOID[k.refTable]
		if k.kind != "f" || from == nil || to == nil || from.isTenant() || !to.isTenant() {
			continue
		}
		report(fmt.Sprintf("constraint %s on %s", k.name, from.qname()),
			fmt.Sprintf("%s has no %s (a reference table under Citus) but its foreign key points at tenant table %s: foreign keys from reference tables to distributed tables are not supported",
				from.qname(), TenantColumn, to.qname()),
			fmt.Sprintf("give %s a %s column (it is then a tenant table), or drop the foreign key", from.qname(), TenantColumn))
	}
}
