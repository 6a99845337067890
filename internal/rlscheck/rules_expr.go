package rlscheck

import (
	"fmt"
	"regexp"
	"strings"
)

// Rules that read policy and other stored expressions as trees
// (nodetree.go, predicate.go).
var expressionRules = []Rule{
	{
		ID:    "isolation_predicate_form",
		Title: "restrictive isolation policies hold the tenant check as a top-level conjunct",
		Description: "A restrictive policy on a tenant table that uses the tenant key or app.current_tenant_id() is an " +
			"isolation policy; each of its expressions must have an accepted tenant check " +
			"(tenant_id = (SELECT app.current_tenant_id()), or the plain call, with pg_catalog's =) as a top-level " +
			"conjunct. `<check> OR name <> ''`, `tenant_id IS NOT DISTINCT FROM ...`, a CASE or COALESCE around the " +
			"check, or an `=` from another schema (an owner can create public.= returning true) keep the words " +
			"and lose the bound. Other policies and the sole-permissive case are tenant_isolation_restrictive's.",
		check: checkIsolationForm,
	},
	{
		ID:    "policy_context_free",
		Title: "no permissive policy admits rows without a context",
		Description: "A permissive policy that applies to the runtime role must depend on the context: evaluated " +
			"with every app helper returning NULL, no row may pass. `status = 'active'` on tenants, " +
			"`current_user = 'pgtenant_app'`, or a function of the row alone admit rows to any session of the " +
			"runtime role, entered or not. (Expressions that do read the context are policy_null_escape's; " +
			"always-true ones policy_always_true's.)",
		check: checkContextFree,
	},
	{
		ID:    "policy_reads_setting",
		Title: "policies read the context through the app helpers only",
		Description: "A policy calls app.current_tenant_id() and the other helpers, never current_setting(...) " +
			"itself: the helpers turn an unset or emptied setting into NULL (a bare ''::uuid raises, a bare text " +
			"comparison matches ''), and they are the one place a check of the context's origin lives. A policy " +
			"reading the setting directly is an isolation rule the helpers no longer govern.",
		check: checkReadsSetting,
	},
	{
		ID:    "context_set_outside_gate",
		Title: "nothing but the gate (app.enter) sets the context",
		Description: "Only app.enter (its body checked by function_drift) sets the app.* settings. A " +
			"column default, check constraint, index expression, trigger condition, view or policy calling " +
			"set_config, any other function whose body calls set_config (or SETs an app.* setting), or a " +
			"function carrying `SET app.… = …`, rewrites the tenant context in the middle of a transaction: an " +
			"INSERT whose column default switches app.tenant_id passes the WITH CHECK of another tenant; a " +
			"function declared SET app.tenant_id = '<id>' reads that tenant's rows for whoever calls it.",
		check: checkContextWriters,
	},
}

// clause is one expression of a policy.
type clause struct {
	name string // USING or WITH CHECK
	text string // as pg_get_expr deparses it
	tree *Node
}

func (p policy) clauses() []clause {
	var out []clause
	if p.usingTree != nil {
		out = append(out, clause{"USING", p.using, p.usingTree})
	}
	if p.checkTree != nil {
		out = append(out, clause{"WITH CHECK", p.check, p.checkTree})
	}
	return out
}

func checkIsolationForm(c *catalog, report func(object, message, fix string)) {
	r := c.exprs.r
	for _, t := range c.tenantTables() {
		for _, p := range c.policiesOf(t) {
			if p.permissive || !p.appliesToRT {
				continue
			}
			for _, e := range p.clauses() {
				if !r.referencesTenant(t, e.tree) || c.isTenantPredicate(t, e.tree) {
					continue
				}
				report(c.policyObject(p),
					fmt.Sprintf("restrictive %s policy, %s (%s): %s", p.cmd, e.name, e.text, r.formProblem(t, e.tree)),
					fmt.Sprintf("%s (%s = (SELECT %s.%s()))", e.name, t.tenantKey, Isolation.ContextSchema, Isolation.TenantHelper))
			}
		}
	}
}

func checkContextFree(c *catalog, report func(object, message, fix string)) {
	r := c.exprs.r
	for _, p := range c.policies {
		if !p.permissive || !p.appliesToRT {
			continue
		}
		for _, e := range p.clauses() {
			if r.referencesContext(e.tree) || r.alwaysTrue(p.table, e.tree) || !r.trueWithoutContext(p.table, e.tree) {
				continue
			}
			report(c.policyObject(p),
				fmt.Sprintf("permissive %s policy for %s, %s (%s), does not depend on the context: rows pass for any session of the runtime role, whoever it serves, entered or not",
					p.cmd, joinNames(p.roles), e.name, e.text),
				"AND the expression with the tenant (or user) check, e.g. tenant_id = (SELECT app.current_tenant_id()), or drop the policy")
		}
	}
}

func checkReadsSetting(c *catalog, report func(object, message, fix string)) {
	r := c.exprs.r
	for _, p := range c.policies {
		if !p.appliesToRT { // app.enter's owner-only lookup policy reads its own setting
			continue
		}
		for _, e := range p.clauses() {
			reads := false
			e.tree.Walk(func(n *Node) bool {
				reads = reads || r.callsFunction(n, "pg_catalog", "current_setting")
				return !reads
			})
			if reads {
				report(c.policyObject(p),
					fmt.Sprintf("%s %s (%s) reads a setting with current_setting(...) instead of calling the app helpers", p.cmd, e.name, e.text),
					"call the helper instead: (SELECT app.current_tenant_id()), (SELECT app.current_user_id()), ...")
			}
		}
	}
}

// contextWriteRE finds a body that sets a setting: set_config(...), or
// SET [LOCAL|SESSION] app.x in PL/pgSQL.
var contextWriteRE = regexp.MustCompile(`(?i)\bset_config\b|\bset\s+(local\s+|session\s+)?` + regexp.QuoteMeta(Isolation.SettingPrefix))

func checkContextWriters(c *catalog, report func(object, message, fix string)) {
	r := c.exprs.r
	callsSetConfig := func(v Value) bool {
		found := false
		v.Walk(func(n *Node) bool {
			found = found || r.callsFunction(n, "pg_catalog", "set_config")
			return !found
		})
		return found
	}
	for _, p := range c.policies {
		for _, e := range p.clauses() {
			if callsSetConfig(Value{Kind: ValueNode, Node: e.tree}) {
				report(c.policyObject(p), fmt.Sprintf("%s %s calls set_config: evaluating the policy changes settings", p.cmd, e.name),
					"drop the set_config call; policies only read the context, through the app helpers")
			}
		}
	}
	for _, s := range c.exprs.stored {
		if callsSetConfig(s.tree) {
			report(s.object, "calls set_config: every statement that evaluates it can rewrite the transaction's tenant context",
				"drop the set_config call: only app.enter sets the context")
		}
	}
	gates := map[string]bool{}
	for _, g := range Isolation.Gates {
		gates[quoteIdent(Isolation.ContextSchema)+"."+quoteIdent(g)] = true
	}
	for _, f := range c.drift.got.Functions {
		var why []string
		for _, cfg := range f.Config {
			if strings.HasPrefix(cfg, Isolation.SettingPrefix) {
				why = append(why, fmt.Sprintf("it runs with SET %s, a context of its own choosing", cfg))
			}
		}
		name, _, _ := strings.Cut(f.Signature, "(")
		if !gates[name] && contextWriteRE.MatchString(f.Body) {
			why = append(why, "its body sets settings (set_config, or SET app.…), and it is not the gate ("+strings.Join(Isolation.Gates, ", ")+")")
		}
		if len(why) > 0 {
			report("function "+f.Signature, strings.Join(why, "; ")+": the context of every statement after it is whatever it set",
				fmt.Sprintf("drop the function, or its SET clause (ALTER FUNCTION %s RESET ALL); only app.enter sets the context", f.Signature))
		}
	}
}
