package rlscheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// oidJSON reads an oid written by jsonb either as a number or as a string.
type oidJSON uint32

func (o *oidJSON) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseUint(strings.Trim(string(b), `"`), 10, 32)
	*o = oidJSON(n)
	return err
}

// captured is testdata/nodetrees/catalog.json: the operators, functions and
// columns the captured trees refer to, read from the database they were
// captured in (oids are that database's).
type captured struct {
	Operators map[string]struct {
		Schema, Name        string
		Left, Right, Result oidJSON
		Code                oidJSON
	}
	Functions map[string]struct {
		Schema, Name string
		Strict       bool
		Volatility   string
		Result       oidJSON
	}
	Tables map[string]struct {
		OID     oidJSON
		Columns []struct {
			Attnum  int16
			Name    string
			Type    oidJSON
			NotNull bool `json:"not_null"`
		}
	}
}

// capturedResolver returns a resolver over catalog.json and the tables of
// the capture database by name, with tenant keys as rls-check finds them.
func capturedResolver(t *testing.T) (*resolver, map[string]*table) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "nodetrees", "catalog.json"))
	require.NoError(t, err)
	var cat captured
	require.NoError(t, json.Unmarshal(b, &cat))
	r := newResolver()
	for k, o := range cat.Operators {
		oid, _ := strconv.ParseUint(k, 10, 32)
		r.ops[uint32(oid)] = operatorInfo{schema: o.Schema, name: o.Name, left: uint32(o.Left), right: uint32(o.Right), result: uint32(o.Result), code: uint32(o.Code)}
	}
	for k, f := range cat.Functions {
		oid, _ := strconv.ParseUint(k, 10, 32)
		r.funcs[uint32(oid)] = funcInfo{schema: f.Schema, name: f.Name, strict: f.Strict, volatility: f.Volatility, result: uint32(f.Result)}
	}
	tables := map[string]*table{}
	for name, tb := range cat.Tables {
		tab := &table{oid: uint32(tb.OID), schema: "public", name: name}
		for _, c := range tb.Columns {
			r.attrs[attrKey{tab.oid, c.Attnum}] = attrInfo{name: c.Name, typ: uint32(c.Type), notNull: c.NotNull}
			if c.Name == TenantColumn {
				tab.tenantKey, tab.tenantAttnum = c.Name, c.Attnum
			}
		}
		tables[name] = tab
	}
	require.NotEmpty(t, r.ops)
	require.NotEmpty(t, r.funcs)
	return r, tables
}

// TestEvaluatePolicies runs the evaluator and the tenant-check matcher on
// the shipped policies and on weakenings, as Postgres 15 stored them.
func TestEvaluatePolicies(t *testing.T) {
	t.Parallel()
	r, tables := capturedResolver(t)
	cases := []struct {
		tree string
		// always: true for every row in any context; noContext: some row
		// passes with every helper NULL; tenant: a top-level tenant check;
		// context: reads the context.
		always, noContext, tenant, context bool
	}{
		// Shipped: none admits a row without context; the isolation
		// policies hold the tenant check.
		{tree: "projects.projects_isolation.using", tenant: true, context: true},
		{tree: "projects.projects_isolation.check", tenant: true, context: true},
		{tree: "projects.projects_tenant.using", tenant: true, context: true},
		{tree: "projects.projects_writers_update.using", context: true},
		{tree: "tasks.tasks_isolation.using", tenant: true, context: true},
		{tree: "memberships.memberships_isolation_insert.check", tenant: true, context: true},
		{tree: "memberships.memberships_read.using", context: true},
		{tree: "tenants.tenants_visible.using", context: true},
		{tree: "users.users_visible.using", context: true},

		// Always true, whatever the context.
		{tree: "cap.w_1eq1.using", always: true, noContext: true},
		{tree: "cap.w_self_id.using", always: true, noContext: true},
		{tree: "cap.w_coalesce_true.using", always: true, noContext: true},
		{tree: "cap.w_not_false.using", always: true, noContext: true},
		{tree: "cap.w_or_true.using", always: true, noContext: true, context: true},

		// True for some rows without a context.
		{tree: "cap.w_or_branch.using", noContext: true, context: true},
		{tree: "cap.w_case.using", noContext: true, context: true},
		{tree: "cap.w_is_null_or.using", noContext: true, context: true},
		{tree: "cap.w_coalesce_escape.using", noContext: true, context: true},
		{tree: "cap.w_current_user.using", noContext: true},
		{tree: "cap.w_escapes.using", noContext: true},
		{tree: "cap.w_alias.using", noContext: true},
		// public.= is a function of the owner's: it may return anything.
		{tree: "cap.w_operator.using", noContext: true, context: true},

		// Not a leak without context, and still not a tenant check.
		{tree: "cap.w_not_distinct.using", context: true}, // tenant_id is NOT NULL: NULL IS NOT DISTINCT FROM it is false
		{tree: "cap.w_setting.using", context: true},
		{tree: "cap.w_in_sublink.using", context: true}, // the subquery's WHERE needs a user

		// The plain call and the reversed initplan are accepted forms.
		{tree: "cap.w_direct_call.using", tenant: true, context: true},
		{tree: "cap.w_direct_call.check", tenant: true, context: true},
	}
	for _, tc := range cases {
		t.Run(tc.tree, func(t *testing.T) {
			n := parseTree(t, "policy."+tc.tree)
			tab := tables[strings.SplitN(tc.tree, ".", 2)[0]]
			require.NotNil(t, tab)
			require.Equal(t, tc.always, r.alwaysTrue(tab.oid, n), "alwaysTrue")
			require.Equal(t, tc.noContext, r.trueWithoutContext(tab.oid, n), "trueWithoutContext")
			require.Equal(t, tc.tenant, r.isTenantPredicate(tab, n), "isTenantPredicate")
			require.Equal(t, tc.context, r.referencesContext(n), "referencesContext")
		})
	}
}

func TestTenantOrOwnRows(t *testing.T) {
	t.Parallel()
	r, tables := capturedResolver(t)
	m := tables["memberships"]
	require.True(t, r.isTenantOrOwnRows(m, parseTree(t, "policy.memberships.memberships_read.using")))
	require.True(t, r.isTenantOrOwnRows(m, parseTree(t, "policy.memberships.memberships_insert.check")))
	cap := tables["cap"]
	require.False(t, r.isTenantOrOwnRows(cap, parseTree(t, "policy.cap.w_or_branch.using")), "name <> '' is no own-row form")
	require.False(t, r.isTenantOrOwnRows(cap, parseTree(t, "policy.cap.w_or_true.using")))
}

func TestFormProblem(t *testing.T) {
	t.Parallel()
	r, tables := capturedResolver(t)
	cap := tables["cap"]
	require.Contains(t, r.formProblem(cap, parseTree(t, "policy.cap.w_or_branch.using")), "under OR")
	require.Contains(t, r.formProblem(cap, parseTree(t, "policy.cap.w_case.using")), "under OR, NOT, CASE")
	require.Contains(t, r.formProblem(cap, parseTree(t, "policy.cap.w_operator.using")), "operator public.=")
	require.Contains(t, r.formProblem(cap, parseTree(t, "policy.cap.w_not_distinct.using")), "no accepted tenant check")
}

// TestThreeValuedLogic checks the connectives against SQL's truth tables,
// one definite value at a time.
func TestThreeValuedLogic(t *testing.T) {
	t.Parallel()
	T, F, N := mayTrue, mayFalse, mayNull
	and := map[[2]outcome]outcome{{T, T}: T, {T, F}: F, {T, N}: N, {F, F}: F, {F, N}: F, {N, N}: N}
	or := map[[2]outcome]outcome{{T, T}: T, {T, F}: T, {T, N}: T, {F, F}: F, {F, N}: N, {N, N}: N}
	for in, want := range and {
		require.Equal(t, want, and3(in[0], in[1]), "%v AND %v", in[0], in[1])
		require.Equal(t, want, and3(in[1], in[0]))
	}
	for in, want := range or {
		require.Equal(t, want, or3(in[0], in[1]), "%v OR %v", in[0], in[1])
		require.Equal(t, want, or3(in[1], in[0]))
	}
	require.Equal(t, F, not3(T))
	require.Equal(t, T, not3(F))
	require.Equal(t, N, not3(N))
	// Sets: (T or N) AND F is F; (T or N) OR F is T or N.
	require.Equal(t, F, and3(T|N, F))
	require.Equal(t, T|N, or3(T|N, F))
}

func TestStoredExpressionsCallingSetConfig(t *testing.T) {
	t.Parallel()
	r, _ := capturedResolver(t)
	def, err := ParseNodeTree(readTree(t, "default.cap_name"))
	require.NoError(t, err)
	found := false
	def.Walk(func(n *Node) bool {
		found = found || r.callsFunction(n, "pg_catalog", "set_config")
		return true
	})
	require.True(t, found, "the captured column default calls set_config")
}
