package rlscheck

import (
	"fmt"
	"slices"
	"strings"
)

// Rules that compare the database with the committed expectation
// (expectation.go), and the coverage rule that needs no expectation.
var driftRules = []Rule{
	{
		ID:    "runtime_relation_rls",
		Title: "every relation the runtime role can read or write has row-level security",
		Description: "Any table the runtime role may SELECT, INSERT, UPDATE or DELETE (on any column, through any " +
			"group or PUBLIC), in any schema and whatever its key column is called, has RLS enabled: a table " +
			"keyed by org_id, or a global registry like users, with RLS disabled shows every row. Foreign tables " +
			"cannot have RLS and are flagged when the runtime role can reach them. Exempt: the migration " +
			"bookkeeping tables, read-only (schema_migrations, pgtenant_policy_state: versions and checksums, " +
			"no tenant data). Views are view_security_invoker's.",
		check: checkRuntimeRelationRLS,
	},
	{
		ID:    "relation_drift",
		Title: "relations match the committed schema: RLS flags, owner, privileges",
		Description: "Every relation the committed SQL creates exists with the committed ENABLE/FORCE ROW LEVEL " +
			"SECURITY, owner, runtime-role privileges and grants (to anyone: a grant to the admin role or to a " +
			"login role directly is drift too), and no relation outside the committed set is " +
			"reachable by the runtime role. The expectation is embedded in the binary (a snapshot of a " +
			"database migrated from the embedded SQL, kept equal to it by a test), so whoever owns the " +
			"database cannot rewrite it. Also reports a schema version other than the committed one.",
		check: checkRelationDrift,
	},
	{
		ID:    "schema_drift",
		Title: "schemas keep the committed owner and privileges",
		Description: "Each committed schema (public, app, app_private) keeps its committed owner and grants. USAGE on " +
			"app_private would let a single table grant expose the context keys; CREATE on public or app lets a " +
			"role plant a function or operator that a policy or a search_path could pick up.",
		check: checkSchemaDrift,
	},
	{
		ID:    "policy_drift",
		Title: "policies match the committed ones",
		Description: "Every policy on every table of a user schema equals the committed one: same name, " +
			"PERMISSIVE/RESTRICTIVE, command, roles, and USING / WITH CHECK as Postgres deparses them. A policy " +
			"added, dropped or rewritten by hand is reported with what differs, whatever it says.",
		check: checkPolicyDrift,
	},
	{
		ID:    "function_drift",
		Title: "committed functions are unchanged; no uncommitted function in the context schema",
		Description: "Each committed function keeps its body (prosrc), language, SECURITY DEFINER, search_path and " +
			"other SET clauses, volatility, strictness, LEAKPROOF, parallel safety, owner, result type, grants and " +
			"whether the runtime role may execute it. The policies trust the helpers: app.current_is_owner() " +
			"rewritten to return true shows every tenant, and no policy text changes. A function in the " +
			"context schema (app) that was never committed is reported too.",
		check: checkFunctionDrift,
	},
	{
		ID:    "security_definer_uncommitted",
		Title: "no uncommitted SECURITY DEFINER function is executable by the runtime role",
		Description: "A SECURITY DEFINER function runs as its owner, the schema owner, which is not subject to the " +
			"policies of tenants and users (not forced) and may be subject to none if it is a superuser. One " +
			"the runtime role can execute, in any schema, that is not in the committed set is a way around " +
			"RLS: `SELECT * FROM public.all_users()` returns every user, Owners included.",
		check: checkUncommittedDefiners,
	},
	{
		ID:    "trigger_drift",
		Title: "triggers match the committed ones",
		Description: "Every committed trigger exists, enabled as committed, with the committed definition, and no " +
			"other trigger exists on a table of a user schema. audit_log's append-only triggers are what keep " +
			"the audit rows from being edited; an extra trigger runs code on every tenant's writes.",
		check: checkTriggerDrift,
	},
}

// bookkeepingTables may be readable without RLS: the migration tool's own
// tables (versions and checksums, no tenant data), read by the server to
// refuse an outdated schema.
var bookkeepingTables = map[string]bool{"public.schema_migrations": true, "public.pgtenant_policy_state": true}

// driftFix: the regeneration command is in docs/inspection.md and in
// TestExpectationMatchesEmbeddedSQL's failure message.
const driftFix = "restore the committed definition (`server migrate up` re-applies db/policies, functions, triggers and " +
	"grants included); if the change is intended, commit it to db/ and regenerate internal/rlscheck/expectation.json"

// watchedRelation reports whether drift on relation name's policies and
// triggers counts: it is committed, or the runtime role reaches it (and
// relation_drift reports it). Objects on a relation nobody serving
// requests can reach (a table someone added, whose grants `migrate up`
// revoked, and which a policy file gave its admin-audit trigger) are left
// alone.
func (d *driftCatalog) watchedRelation(name string) bool {
	if slices.ContainsFunc(d.want.Relations, func(r ExpectedRelation) bool { return r.Name == name }) {
		return true
	}
	return slices.ContainsFunc(d.got.Relations, func(r ExpectedRelation) bool { return r.Name == name && len(r.Runtime) > 0 })
}

// versionNote warns that deparsed text is compared across versions.
func (d *driftCatalog) versionNote() string {
	if d.want.ServerMajor == d.got.ServerMajor {
		return ""
	}
	return fmt.Sprintf(" (the expectation was taken on PostgreSQL %d, this server is %d: deparsed text may differ in wording alone)",
		d.want.ServerMajor, d.got.ServerMajor)
}

func privilegeList(p []string) string {
	if len(p) == 0 {
		return "nothing"
	}
	return strings.Join(p, ", ")
}

func checkRuntimeRelationRLS(c *catalog, report func(object, message, fix string)) {
	tenant := map[string]bool{}
	for _, t := range c.tenantTables() {
		tenant[t.qname()] = true // tenant_rls_forced's
	}
	for _, r := range c.drift.got.Relations {
		if len(r.Runtime) == 0 || tenant[r.Name] {
			continue
		}
		switch {
		case r.Kind == "foreign table":
			report(r.Kind+" "+r.Name, fmt.Sprintf("the runtime role can %s a foreign table, which cannot have row-level security", privilegeList(r.Runtime)),
				fmt.Sprintf("REVOKE ALL ON %s FROM <runtime role, its groups, PUBLIC>;", r.Name))
		case (r.Kind == "table" || r.Kind == "partitioned table") && !r.RLS:
			if bookkeepingTables[r.Name] && slices.Equal(r.Runtime, []string{"SELECT"}) {
				continue
			}
			report(r.Kind+" "+r.Name, fmt.Sprintf("row-level security is disabled and the runtime role can %s it: every row, of every tenant, is open to it", privilegeList(r.Runtime)),
				fmt.Sprintf("ALTER TABLE %s ENABLE ROW LEVEL SECURITY; (and FORCE, with an isolation policy, if it holds tenant rows), or REVOKE the runtime role's privileges", r.Name))
		}
	}
}

// differences collects "X is a, committed b" for the attributes that differ.
type differences []string

func (d *differences) add(what string, committed, actual any) {
	if fmt.Sprint(committed) != fmt.Sprint(actual) {
		*d = append(*d, fmt.Sprintf("%s is %v, committed %v", what, actual, committed))
	}
}

func (d differences) String() string { return strings.Join(d, "; ") }

// grants adds, per grantee, what differs between two grant lists
// ("grantee: PRIVILEGE, ..." each).
func (d *differences) grants(committed, actual []string) {
	split := func(gs []string) map[string]string {
		m := map[string]string{}
		for _, g := range gs {
			who, privs, _ := strings.Cut(g, ": ")
			m[who] = privs
		}
		return m
	}
	want, got := split(committed), split(actual)
	for _, who := range sortedKeys(got) {
		if w, ok := want[who]; !ok {
			*d = append(*d, fmt.Sprintf("%s is granted %s, committed nothing", who, got[who]))
		} else if w != got[who] {
			*d = append(*d, fmt.Sprintf("%s is granted %s, committed %s", who, got[who], w))
		}
	}
	for _, who := range sortedKeys(want) {
		if _, ok := got[who]; !ok {
			*d = append(*d, fmt.Sprintf("%s is granted nothing, committed %s", who, want[who]))
		}
	}
}

// compareKeyed walks the union of want's and got's keys in order: extra
// for a key only in got, changed for a key in both, missing for a key only
// in want.
func compareKeyed[T any](want, got map[string]T, extra func(key string, g T), changed func(key string, w, g T), missing func(key string, w T)) {
	for _, key := range sortedKeys(got) {
		if w, ok := want[key]; ok {
			changed(key, w, got[key])
		} else {
			extra(key, got[key])
		}
	}
	for _, key := range sortedKeys(want) {
		if _, ok := got[key]; !ok {
			missing(key, want[key])
		}
	}
}

func keyed[T any](items []T, key func(T) string) map[string]T {
	m := make(map[string]T, len(items))
	for _, it := range items {
		m[key(it)] = it
	}
	return m
}

func checkRelationDrift(c *catalog, report func(object, message, fix string)) {
	d := c.drift
	if d.want.SchemaVersion != d.got.SchemaVersion {
		report("database "+quoteIdent(c.database), fmt.Sprintf("schema version %d, the committed SQL is version %d: every other drift finding may follow from it", d.got.SchemaVersion, d.want.SchemaVersion),
			"server migrate up")
	}
	compareKeyed(relationsByName(d.want.Relations), relationsByName(d.got.Relations),
		func(name string, r ExpectedRelation) {
			if len(r.Runtime) > 0 {
				report(r.Kind+" "+name, fmt.Sprintf("not in the committed schema, and the runtime role can %s it", privilegeList(r.Runtime)),
					fmt.Sprintf("REVOKE ALL ON %s FROM <runtime role, its groups, PUBLIC>; or commit it (db/schema, db/policies) with its policies", name))
			}
		},
		func(name string, w, r ExpectedRelation) {
			var diffs differences
			diffs.add("kind", w.Kind, r.Kind)
			diffs.add("row-level security enabled", w.RLS, r.RLS)
			diffs.add("row-level security forced", w.Force, r.Force)
			diffs.add("owner", w.Owner, r.Owner)
			if len(c.plainRuntime()) > 0 { // a superuser may do anything: runtime_role_attributes says so
				diffs.add("what the runtime role may do", privilegeList(w.Runtime), privilegeList(r.Runtime))
			}
			diffs.grants(w.Grants, r.Grants)
			if len(diffs) > 0 {
				report(r.Kind+" "+name, diffs.String(), driftFix)
			}
		},
		func(name string, w ExpectedRelation) {
			report(w.Kind+" "+name, "committed, but missing from the database", driftFix)
		})
}

func checkSchemaDrift(c *catalog, report func(object, message, fix string)) {
	d := c.drift
	key := func(s ExpectedSchema) string { return s.Name }
	compareKeyed(keyed(d.want.Schemas, key), keyed(d.got.Schemas, key),
		func(string, ExpectedSchema) {}, // what an extra schema holds, the other rules look at
		func(name string, w, g ExpectedSchema) {
			var diffs differences
			diffs.add("owner", w.Owner, g.Owner)
			diffs.grants(w.Grants, g.Grants)
			if len(diffs) > 0 {
				report("schema "+name, diffs.String(), driftFix)
			}
		},
		func(name string, _ ExpectedSchema) {
			report("schema "+name, "committed, but missing from the database", driftFix)
		})
}

func permissiveWord(p ExpectedPolicy) string {
	if p.Permissive {
		return "PERMISSIVE"
	}
	return "RESTRICTIVE"
}

func checkPolicyDrift(c *catalog, report func(object, message, fix string)) {
	d := c.drift
	key := func(p ExpectedPolicy) string { return "policy " + p.Name + " on " + p.Table }
	compareKeyed(keyed(d.want.Policies, key), keyed(d.got.Policies, key),
		func(key string, g ExpectedPolicy) {
			if !d.watchedRelation(g.Table) {
				return // the relation is relation_drift's (when the runtime role reaches it)
			}
			report(key, fmt.Sprintf("not committed: %s %s for %s, USING (%s) WITH CHECK (%s)", permissiveWord(g), g.Command, joinNames(g.Roles), g.Using, g.Check),
				fmt.Sprintf("DROP POLICY %s ON %s; (or commit it to db/policies)", quoteIdent(g.Name), g.Table))
		},
		func(key string, w, g ExpectedPolicy) {
			var diffs differences
			diffs.add("kind", permissiveWord(w), permissiveWord(g))
			diffs.add("command", w.Command, g.Command)
			diffs.add("roles", joinNames(w.Roles), joinNames(g.Roles))
			diffs.add("USING", "("+w.Using+")", "("+g.Using+")")
			diffs.add("WITH CHECK", "("+w.Check+")", "("+g.Check+")")
			if len(diffs) > 0 {
				report(key, diffs.String()+d.versionNote(), driftFix)
			}
		},
		func(key string, _ ExpectedPolicy) { report(key, "committed, but missing from the database", driftFix) })
}

// firstDifference shows where two function bodies part, line by line,
// ignoring indentation and blank lines (a body rewritten on one line still
// shows its first statement).
func firstDifference(want, got string) string {
	lines := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	w, g := lines(want), lines(got)
	for i := 0; i < max(len(w), len(g)); i++ {
		switch {
		case i >= len(g):
			return fmt.Sprintf("it ends where the committed one goes on with %q", w[i])
		case i >= len(w):
			return fmt.Sprintf("it goes on with %q where the committed one ends", g[i])
		case w[i] != g[i]:
			return fmt.Sprintf("it has %q where the committed one has %q", g[i], w[i])
		}
	}
	return "only in blank space"
}

func checkFunctionDrift(c *catalog, report func(object, message, fix string)) {
	d := c.drift
	compareKeyed(functionsBySignature(d.want.Functions), functionsBySignature(d.got.Functions),
		func(sig string, g ExpectedFunction) {
			if strings.HasPrefix(sig, quoteIdent(Isolation.ContextSchema)+".") {
				report("function "+sig, fmt.Sprintf("not committed, in the context schema %s (owner %s, SECURITY DEFINER %t)", Isolation.ContextSchema, g.Owner, g.SecurityDefiner),
					fmt.Sprintf("DROP FUNCTION %s; (or commit it to db/schema)", sig))
			}
		},
		func(sig string, w, g ExpectedFunction) {
			var diffs differences
			diffs.add("result", w.Returns, g.Returns)
			diffs.add("language", w.Language, g.Language)
			diffs.add("SECURITY DEFINER", w.SecurityDefiner, g.SecurityDefiner)
			diffs.add("SET clauses", w.Config, g.Config)
			diffs.add("volatility", w.Volatility, g.Volatility)
			diffs.add("STRICT", w.Strict, g.Strict)
			diffs.add("LEAKPROOF", w.Leakproof, g.Leakproof)
			diffs.add("parallel", w.Parallel, g.Parallel)
			diffs.add("owner", w.Owner, g.Owner)
			if len(c.plainRuntime()) > 0 {
				diffs.add("executable by the runtime role", w.RuntimeExecute, g.RuntimeExecute)
			}
			diffs.grants(w.Grants, g.Grants)
			if w.Body != g.Body {
				diffs = append(diffs, "the body differs: "+firstDifference(w.Body, g.Body))
			}
			if len(diffs) > 0 {
				report("function "+sig, diffs.String(), driftFix)
			}
		},
		func(sig string, _ ExpectedFunction) {
			report("function "+sig, "committed, but missing from the database", driftFix)
		})
}

func checkUncommittedDefiners(c *catalog, report func(object, message, fix string)) {
	want := functionsBySignature(c.drift.want.Functions)
	for _, f := range c.drift.got.Functions {
		if _, ok := want[f.Signature]; ok || !f.SecurityDefiner || !f.RuntimeExecute {
			continue
		}
		report("function "+f.Signature, fmt.Sprintf("SECURITY DEFINER (runs as %s), executable by the runtime role, and not committed: whatever it reads, it reads past the caller's policies", f.Owner),
			fmt.Sprintf("DROP FUNCTION %s; or REVOKE EXECUTE ON FUNCTION %[1]s FROM PUBLIC, pgtenant_app; (or commit it, with an explicit tenant check)", f.Signature))
	}
}

// triggerStates names pg_trigger.tgenabled.
var triggerStates = map[string]string{"O": "enabled", "D": "disabled", "R": "enabled on replicas only", "A": "enabled always"}

func checkTriggerDrift(c *catalog, report func(object, message, fix string)) {
	d := c.drift
	key := func(t ExpectedTrigger) string { return "trigger " + t.Name + " on " + t.Table }
	compareKeyed(keyed(d.want.Triggers, key), keyed(d.got.Triggers, key),
		func(key string, g ExpectedTrigger) {
			if !d.watchedRelation(g.Table) {
				return // the relation is relation_drift's (when the runtime role reaches it)
			}
			report(key, "not committed: "+g.Definition, fmt.Sprintf("DROP TRIGGER %s ON %s; (or commit it to db/schema)", quoteIdent(g.Name), g.Table))
		},
		func(key string, w, g ExpectedTrigger) {
			var diffs differences
			if w.Enabled != g.Enabled {
				diffs = append(diffs, fmt.Sprintf("it is %s, committed %s", triggerStates[g.Enabled], triggerStates[w.Enabled]))
			}
			diffs.add("the definition", fmt.Sprintf("%q", w.Definition), fmt.Sprintf("%q", g.Definition))
			if len(diffs) > 0 {
				report(key, diffs.String()+d.versionNote(), driftFix)
			}
		},
		func(key string, w ExpectedTrigger) {
			report(key, "committed, but missing from the database: "+w.Definition, driftFix)
		})
}
