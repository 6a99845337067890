package rlscheck

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// This file decides what a policy expression means, on the tree Postgres
// stored (nodetree.go), with every operator, function and column resolved
// through the catalogs (resolve.go): which shapes count as the tenant check
// (IsolationForms), and what an expression can evaluate to when no context
// is set (a small three-valued evaluator).

// Isolation says how policies name the tenant context: one place, so a new
// helper (a sealed or verified variant of the tenant helper, say) is one
// edit here.
var Isolation = struct {
	// Column is the tenant key of tenant tables that do not name theirs
	// otherwise (a foreign key to Registry, or a policy comparing a
	// column with TenantHelper, names it).
	Column string
	// Registry is the table of tenants, in ContextSchema's sibling
	// schema public: a column referencing its key makes a tenant table.
	Registry string
	// ContextSchema holds the helpers that read the context.
	ContextSchema string
	// Helpers read the transaction's context and return NULL when it is
	// unset. Policies call them; nothing else in a policy may read a setting.
	Helpers []string
	// TenantHelper returns the tenant of the context, checked against its
	// seal.
	TenantHelper string
	// Unsealed are helpers that read a setting as written, unchecked: any
	// session can forge what they return, so a policy may use them only
	// where a restrictive check on TenantHelper narrows it.
	Unsealed []string
	// SettingPrefix is the prefix of the settings the helpers read.
	SettingPrefix string
	// Gates are the functions of ContextSchema that set the context (with
	// set_config): the only ones allowed to.
	Gates []string
}{
	Column:        TenantColumn,
	Registry:      "tenants",
	ContextSchema: "app",
	// current_user_email existed before migration 0004; a database (or a
	// captured tree) from before it still calls it.
	Helpers:       []string{"current_tenant_id", "current_user_id", "current_member_role", "current_is_owner", "claimed_tenant_id", "current_user_email"},
	TenantHelper:  "current_tenant_id",
	Unsealed:      []string{"claimed_tenant_id"},
	SettingPrefix: "app.",
	Gates:         []string{"enter", "seal_context"},
}

// IsolationForm is one accepted shape of a comparison between a column and
// a context helper.
type IsolationForm struct {
	// Shape is how the form reads in SQL (messages, docs).
	Shape string
	// Column is the compared column; "" means the table's tenant key.
	Column string
	// Helper is the function of Isolation.ContextSchema on the other side.
	Helper string
	// InitPlan: the helper is called as (SELECT helper()), evaluated once
	// per statement; otherwise as a plain call.
	InitPlan bool
}

// IsolationForms are the accepted tenant checks. Each is an equality with
// pg_catalog's = between the tenant key and the tenant helper, in either
// order: = is strict, so a NULL context matches no row, and nothing else in
// the shape can be widened. The check must be a top-level conjunct of a
// policy's expression: under OR, NOT, CASE or COALESCE it no longer bounds
// the rows.
var IsolationForms = []IsolationForm{
	{Shape: "tenant_id = (SELECT app.current_tenant_id())", Helper: "current_tenant_id", InitPlan: true},
	{Shape: "tenant_id = app.current_tenant_id()", Helper: "current_tenant_id"},
}

// OwnRowForms may stand beside the tenant check, OR-ed, in the only
// permissive SELECT policy of a tenant table, and nowhere else: a user
// sees its own memberships in every tenant (memberships_read). They are
// bound to the user of the context, so they are false without one.
var OwnRowForms = []IsolationForm{
	{Shape: "user_id = (SELECT app.current_user_id())", Column: "user_id", Helper: "current_user_id", InitPlan: true},
}

// Type oids the evaluator knows (pg_type.dat; stable across versions).
const (
	oidBool = 16
	oidName = 19
	oidInt8 = 20
	oidInt2 = 21
	oidInt4 = 23
	oidText = 25
	oidOID  = 26
	oidUUID = 2950
)

// SubLink kinds (primnodes.h).
const (
	subLinkExists = 0
	subLinkAll    = 1
	subLinkAny    = 2
	subLinkExpr   = 4
	subLinkArray  = 6
)

// outcome is the set of values an expression may take.
type outcome uint8

const (
	mayTrue  outcome = 1 << iota
	mayFalse         // booleans
	mayNull
	mayValue // a non-null value of a type other than boolean
	anyBool  = mayTrue | mayFalse | mayNull
)

// abstract is what the evaluator knows about an expression.
type abstract struct {
	may outcome
	// k is the value when the expression is a known non-null constant.
	k *constant
}

func (a abstract) canBeNull() bool { return a.may&mayNull != 0 }
func (a abstract) onlyNull() bool  { return a.may == mayNull }

// asBool reads a value as a boolean: a non-boolean value may be either.
func (a abstract) asBool() outcome {
	m := a.may &^ mayValue
	if a.may&mayValue != 0 {
		m |= mayTrue | mayFalse
	}
	return m
}

// constant is a Const's value: its type and the bytes that matter (a
// by-value datum's first typlen bytes, a varlena's payload).
type constant struct {
	typ     uint32
	payload []byte
}

func constOf(n *Node) *constant {
	if n.Bool("constisnull") {
		return nil
	}
	v, _ := n.Get("constvalue")
	if v.Kind != ValueDatum {
		return nil
	}
	length, _ := n.Int("constlen")
	d := v.Datum
	switch {
	case length > 0 && int(length) <= len(d):
		d = d[:length]
	case length == -1 && len(d) >= 1 && d[0]&1 == 1: // short varlena: 1-byte header
		d = d[1:]
	case length == -1 && len(d) >= 4: // 4-byte header, uncompressed
		d = d[4:]
	default:
		return nil
	}
	return &constant{typ: n.OID("consttype"), payload: d}
}

func (c *constant) int() (int64, bool) {
	switch {
	case c.typ == oidInt4 && len(c.payload) == 4:
		return int64(int32(binary.LittleEndian.Uint32(c.payload))), true
	case c.typ == oidInt2 && len(c.payload) == 2:
		return int64(int16(binary.LittleEndian.Uint16(c.payload))), true
	case c.typ == oidInt8 && len(c.payload) == 8:
		return int64(binary.LittleEndian.Uint64(c.payload)), true
	}
	return 0, false
}

// exactTypes compare equal exactly when their bytes are equal (no
// collation, no scale, no case folding), so two known constants of these
// types can be compared here.
var exactTypes = map[uint32]bool{oidBool: true, oidInt2: true, oidInt4: true, oidInt8: true, oidOID: true, oidUUID: true, oidName: true}

// evalMode says what the context helpers return.
type evalMode int

const (
	// noContext: no context is set; every helper returns NULL (what they
	// do when their setting is unset or empty).
	noContext evalMode = iota
	// anyContext: the helpers may return anything.
	anyContext
)

// evaluator evaluates one policy expression.
type evaluator struct {
	r     *resolver
	table uint32 // the policy's table: Var varno 1 at the top level
	mode  evalMode
}

// eval returns the possible outcomes of n at sublink depth level.
func (e *evaluator) eval(n *Node, level int64) abstract {
	if n == nil {
		return abstract{may: mayNull}
	}
	switch n.Type {
	case "CONST":
		if n.Bool("constisnull") {
			return abstract{may: mayNull}
		}
		k := constOf(n)
		if n.OID("consttype") == oidBool && k != nil && len(k.payload) >= 1 {
			if k.payload[0] != 0 {
				return abstract{may: mayTrue}
			}
			return abstract{may: mayFalse}
		}
		return abstract{may: mayValue, k: k}
	case "VAR":
		return e.evalVar(n, level)
	case "BOOLEXPR":
		return e.evalBool(n, level)
	case "NULLTEST":
		a := e.eval(n.Child("arg"), level)
		var out outcome
		isNull, _ := n.Int("nulltesttype")
		if a.canBeNull() {
			out |= pick(isNull == 0, mayTrue, mayFalse)
		}
		if a.may&^mayNull != 0 {
			out |= pick(isNull == 0, mayFalse, mayTrue)
		}
		return abstract{may: out}
	case "BOOLEANTEST":
		return e.evalBooleanTest(n, level)
	case "OPEXPR":
		return e.evalOp(n, level)
	case "DISTINCTEXPR":
		return e.evalDistinct(n, level)
	case "NULLIFEXPR":
		args := n.Nodes("args")
		if len(args) != 2 {
			return unknownOf(n)
		}
		a := e.eval(args[0], level)
		if a.onlyNull() {
			return a
		}
		return abstract{may: a.may | mayNull}
	case "SCALARARRAYOPEXPR":
		args := n.Nodes("args")
		if len(args) == 2 && e.eval(args[0], level).onlyNull() && e.r.strictOp(n.OID("opno")) {
			// NULL = ANY (array): NULL, or false for an empty array.
			return abstract{may: mayNull | mayFalse}
		}
		return abstract{may: anyBool}
	case "FUNCEXPR":
		return e.evalFunc(n, level)
	case "COALESCEEXPR":
		var out outcome
		for _, a := range n.Nodes("args") {
			v := e.eval(a, level)
			out |= v.may &^ mayNull
			if !v.canBeNull() {
				return abstract{may: out, k: soleConst(out, v)}
			}
		}
		return abstract{may: out | mayNull}
	case "CASEEXPR":
		return e.evalCase(n, level)
	case "RELABELTYPE", "COERCEVIAIO", "COLLATEEXPR", "ARRAYCOERCEEXPR", "COERCETODOMAIN":
		a := e.eval(n.Child("arg"), level)
		res := n.OID("resulttype")
		if n.Type == "COLLATEEXPR" {
			return a
		}
		if res == oidBool {
			return abstract{may: a.asBool()}
		}
		out := a.may &^ (mayTrue | mayFalse)
		if a.may&(mayTrue|mayFalse) != 0 {
			out |= mayValue
		}
		if n.Type == "RELABELTYPE" {
			return abstract{may: out, k: a.k}
		}
		return abstract{may: out}
	case "SUBLINK":
		return e.evalSubLink(n, level)
	case "SQLVALUEFUNCTION", "ARRAYEXPR", "ROWEXPR":
		return abstract{may: mayValue} // current_user, current_date, ARRAY[...], ROW(...): never NULL
	}
	return unknownOf(n)
}

func pick(cond bool, a, b outcome) outcome {
	if cond {
		return a
	}
	return b
}

func soleConst(out outcome, v abstract) *constant {
	if out == mayValue {
		return v.k
	}
	return nil
}

// resultTypeFields name the field holding a node's result type.
var resultTypeFields = []string{"opresulttype", "funcresulttype", "vartype", "consttype", "resulttype", "paramtype",
	"coalescetype", "casetype", "minmaxtype", "array_typeid", "row_typeid", "typeId", "aggtype", "wintype"}

// unknownOf is any value of n's type, NULL included.
func unknownOf(n *Node) abstract {
	for _, f := range resultTypeFields {
		if typ := n.OID(f); typ != 0 {
			return unknownType(typ)
		}
	}
	switch n.Type {
	case "SCALARARRAYOPEXPR", "BOOLEXPR", "NULLTEST", "BOOLEANTEST", "DISTINCTEXPR":
		return abstract{may: anyBool}
	}
	return abstract{may: anyBool | mayValue}
}

func unknownType(typ uint32) abstract {
	if typ == oidBool {
		return abstract{may: anyBool}
	}
	return abstract{may: mayValue | mayNull}
}

func (e *evaluator) evalVar(n *Node, level int64) abstract {
	typ := n.OID("vartype")
	up, _ := n.Int("varlevelsup")
	varno, _ := n.Int("varno")
	attno, _ := n.Int("varattno")
	if up != level || varno != 1 {
		return unknownType(typ)
	}
	a, ok := e.r.attrs[attrKey{e.table, int16(attno)}]
	if !ok {
		return unknownType(typ)
	}
	out := abstract{may: mayValue}
	if typ == oidBool {
		out.may = mayTrue | mayFalse
	}
	if !a.notNull {
		out.may |= mayNull
	}
	return out
}

// and3, or3 and not3 are SQL's three-valued logic lifted to sets of
// outcomes: the result may be whatever some pair of possible inputs gives.
func and3(a, b outcome) outcome {
	return lift(a, b, func(x, y outcome) outcome {
		switch {
		case x == mayFalse || y == mayFalse:
			return mayFalse
		case x == mayTrue && y == mayTrue:
			return mayTrue
		}
		return mayNull
	})
}

func or3(a, b outcome) outcome {
	return lift(a, b, func(x, y outcome) outcome {
		switch {
		case x == mayTrue || y == mayTrue:
			return mayTrue
		case x == mayFalse && y == mayFalse:
			return mayFalse
		}
		return mayNull
	})
}

func lift(a, b outcome, op func(x, y outcome) outcome) outcome {
	var out outcome
	for _, x := range []outcome{mayTrue, mayFalse, mayNull} {
		for _, y := range []outcome{mayTrue, mayFalse, mayNull} {
			if a&x != 0 && b&y != 0 {
				out |= op(x, y)
			}
		}
	}
	return out
}

func not3(a outcome) outcome {
	out := a & mayNull
	if a&mayTrue != 0 {
		out |= mayFalse
	}
	if a&mayFalse != 0 {
		out |= mayTrue
	}
	return out
}

func (e *evaluator) evalBool(n *Node, level int64) abstract {
	args := n.Nodes("args")
	switch n.Str("boolop") {
	case "not":
		if len(args) != 1 {
			return abstract{may: anyBool}
		}
		return abstract{may: not3(e.eval(args[0], level).asBool())}
	case "and", "or":
		if len(args) == 0 {
			return abstract{may: anyBool}
		}
		acc := e.eval(args[0], level).asBool()
		for _, a := range args[1:] {
			v := e.eval(a, level).asBool()
			if n.Str("boolop") == "and" {
				acc = and3(acc, v)
			} else {
				acc = or3(acc, v)
			}
		}
		return abstract{may: acc}
	}
	return abstract{may: anyBool}
}

func (e *evaluator) evalBooleanTest(n *Node, level int64) abstract {
	a := e.eval(n.Child("arg"), level).asBool()
	test, _ := n.Int("booltesttype")
	// IS TRUE, IS NOT TRUE, IS FALSE, IS NOT FALSE, IS UNKNOWN, IS NOT UNKNOWN.
	holds := [6]outcome{mayTrue, mayFalse | mayNull, mayFalse, mayTrue | mayNull, mayNull, mayTrue | mayFalse}
	if test < 0 || test > 5 {
		return abstract{may: mayTrue | mayFalse}
	}
	var out outcome
	if a&holds[test] != 0 {
		out |= mayTrue
	}
	if a&^holds[test] != 0 {
		out |= mayFalse
	}
	return abstract{may: out}
}

// comparison operators whose result follows from equal operands.
var reflexive = map[string]outcome{"=": mayTrue, "<=": mayTrue, ">=": mayTrue, "<>": mayFalse, "<": mayFalse, ">": mayFalse}

func (e *evaluator) evalOp(n *Node, level int64) abstract {
	args := n.Nodes("args")
	op, ok := e.r.ops[n.OID("opno")]
	if !ok || len(args) != 2 {
		return unknownOf(n)
	}
	a, b := e.eval(args[0], level), e.eval(args[1], level)
	strict := e.r.strictOp(n.OID("opno"))
	if strict && (a.onlyNull() || b.onlyNull()) {
		return abstract{may: mayNull}
	}
	nulls := outcome(0)
	if !strict || a.canBeNull() || b.canBeNull() {
		nulls = mayNull
	}
	if op.result != oidBool {
		return abstract{may: mayValue | nulls}
	}
	res, known := reflexive[op.name]
	if !known || !op.builtin() {
		return abstract{may: anyBool}
	}
	if args[0].Equal(args[1]) && e.r.stable(args[0]) {
		// x = x: true (or NULL) whatever x is; x < x: false.
		return abstract{may: res | nulls}
	}
	if a.k != nil && b.k != nil && a.k.typ == b.k.typ && exactTypes[a.k.typ] && (op.name == "=" || op.name == "<>") {
		eq := string(a.k.payload) == string(b.k.payload)
		return abstract{may: pick(eq == (op.name == "="), mayTrue, mayFalse)}
	}
	return abstract{may: mayTrue | mayFalse | nulls}
}

func (e *evaluator) evalDistinct(n *Node, level int64) abstract {
	args := n.Nodes("args")
	if len(args) != 2 {
		return abstract{may: mayTrue | mayFalse}
	}
	if args[0].Equal(args[1]) && e.r.stable(args[0]) {
		return abstract{may: mayFalse}
	}
	a, b := e.eval(args[0], level), e.eval(args[1], level)
	var out outcome
	if a.canBeNull() && b.canBeNull() {
		out |= mayFalse // NULL IS DISTINCT FROM NULL is false
	}
	if (a.canBeNull() && b.may&^mayNull != 0) || (b.canBeNull() && a.may&^mayNull != 0) {
		out |= mayTrue
	}
	if a.may&^mayNull != 0 && b.may&^mayNull != 0 {
		out |= mayTrue | mayFalse
	}
	return abstract{may: out}
}

func (e *evaluator) evalFunc(n *Node, level int64) abstract {
	f, ok := e.r.funcs[n.OID("funcid")]
	args := n.Nodes("args")
	if !ok {
		return unknownOf(n)
	}
	if e.r.isHelper(f) || e.r.readsContextSetting(n) {
		if e.mode == noContext {
			return abstract{may: mayNull}
		}
		return unknownType(f.result)
	}
	vals := make([]abstract, len(args))
	anyNull, allNonNull := false, true
	for i, a := range args {
		vals[i] = e.eval(a, level)
		anyNull = anyNull || vals[i].onlyNull()
		allNonNull = allNonNull && !vals[i].canBeNull()
	}
	if f.strict && anyNull {
		return abstract{may: mayNull}
	}
	format, _ := n.Int("funcformat")
	if (format == 1 || format == 2) && len(vals) >= 1 && f.strict { // a cast: NULL in, NULL out
		out := unknownType(f.result)
		if allNonNull {
			out.may &^= mayNull
		}
		return out
	}
	return unknownType(f.result)
}

func (e *evaluator) evalCase(n *Node, level int64) abstract {
	var out outcome
	var k *constant
	add := func(v abstract) {
		if out == 0 {
			k = v.k
		} else if k == nil || v.k == nil || string(k.payload) != string(v.k.payload) {
			k = nil
		}
		out |= v.may
	}
	simple := !n.IsNull("arg") // CASE x WHEN ...: the tests compare a placeholder
	for _, w := range n.Nodes("args") {
		cond := abstract{may: anyBool}
		if !simple {
			cond = abstract{may: e.eval(w.Child("expr"), level).asBool()}
		}
		if cond.may&mayTrue != 0 {
			add(e.eval(w.Child("result"), level))
		}
		if cond.may == mayTrue {
			return abstract{may: out, k: k}
		}
	}
	add(e.eval(n.Child("defresult"), level)) // nil: ELSE NULL
	return abstract{may: out, k: k}
}

// simpleSelect reports whether q is `SELECT expr` with nothing else: no
// FROM, no WHERE, no grouping, no set operation, no limit.
func simpleSelect(q *Node) (*Node, bool) {
	if q == nil || q.Type != "QUERY" {
		return nil, false
	}
	for _, f := range []string{"rtable", "cteList", "groupClause", "groupingSets", "havingQual", "windowClause",
		"distinctClause", "sortClause", "limitOffset", "limitCount", "setOperations"} {
		if !q.IsNull(f) {
			return nil, false
		}
	}
	if jt := q.Child("jointree"); jt != nil && (!jt.IsNull("fromlist") || !jt.IsNull("quals")) {
		return nil, false
	}
	tl := q.Nodes("targetList")
	if len(tl) != 1 || tl[0].Bool("resjunk") {
		return nil, false
	}
	return tl[0].Child("expr"), true
}

// mayReturnRows reports whether q's WHERE can be true: a subquery whose
// filter needs a context (m.user_id = (SELECT app.current_user_id()))
// returns nothing without one.
func (e *evaluator) mayReturnRows(q *Node, level int64) bool {
	jt := q.Child("jointree")
	if jt == nil || jt.IsNull("quals") {
		return true
	}
	return e.eval(jt.Child("quals"), level+1).asBool()&mayTrue != 0
}

func (e *evaluator) evalSubLink(n *Node, level int64) abstract {
	q := n.Child("subselect")
	kind, _ := n.Int("subLinkType")
	if q == nil || q.Type != "QUERY" {
		return unknownOf(n)
	}
	expr, simple := simpleSelect(q)
	rows := e.mayReturnRows(q, level)
	switch kind {
	case subLinkExists:
		switch {
		case !rows:
			return abstract{may: mayFalse}
		case simple:
			return abstract{may: mayTrue}
		}
		return abstract{may: mayTrue | mayFalse}
	case subLinkExpr:
		if simple {
			return e.eval(expr, level+1)
		}
		if !rows {
			return abstract{may: mayNull}
		}
		tl := q.Nodes("targetList")
		if len(tl) > 0 {
			v := e.eval(tl[0].Child("expr"), level+1)
			return abstract{may: v.may | mayNull} // no row: NULL
		}
	case subLinkAny:
		if !rows {
			return abstract{may: mayFalse}
		}
		return abstract{may: anyBool}
	case subLinkAll:
		if !rows {
			return abstract{may: mayTrue}
		}
		return abstract{may: anyBool}
	case subLinkArray:
		return abstract{may: mayValue}
	}
	return unknownOf(n)
}

// conjuncts returns the top-level AND-ed parts of n.
func conjuncts(n *Node) []*Node { return flatten(n, "and") }

// disjuncts returns the top-level OR-ed parts of n.
func disjuncts(n *Node) []*Node { return flatten(n, "or") }

func flatten(n *Node, op string) []*Node {
	if n == nil {
		return nil
	}
	if n.Type == "BOOLEXPR" && n.Str("boolop") == op {
		var out []*Node
		for _, a := range n.Nodes("args") {
			out = append(out, flatten(a, op)...)
		}
		return out
	}
	return []*Node{n}
}

// matchForm reports whether n is form f for table t: `col = helper` with
// pg_catalog's = on two operands of one type, in either order.
func (r *resolver) matchForm(t *table, f IsolationForm, n *Node) bool {
	if n == nil || n.Type != "OPEXPR" {
		return false
	}
	op, ok := r.ops[n.OID("opno")]
	if !ok || !op.builtin() || op.name != "=" || op.left != op.right {
		return false
	}
	args := n.Nodes("args")
	if len(args) != 2 {
		return false
	}
	col := f.Column
	if col == "" {
		col = t.tenantKey
	}
	for _, order := range [][2]*Node{{args[0], args[1]}, {args[1], args[0]}} {
		if r.isColumn(t, order[0], col) && r.isHelperCall(order[1], f.Helper, f.InitPlan) {
			return true
		}
	}
	return false
}

// isColumn reports whether n is column col of the policy's table.
func (r *resolver) isColumn(t *table, n *Node, col string) bool {
	if n == nil || n.Type != "VAR" || col == "" {
		return false
	}
	up, _ := n.Int("varlevelsup")
	varno, _ := n.Int("varno")
	attno, _ := n.Int("varattno")
	a, ok := r.attrs[attrKey{t.oid, int16(attno)}]
	return up == 0 && varno == 1 && ok && a.name == col
}

// isHelperCall reports whether n calls helper (of Isolation.ContextSchema)
// without arguments, as (SELECT helper()) when initPlan, else directly.
func (r *resolver) isHelperCall(n *Node, helper string, initPlan bool) bool {
	if initPlan {
		if n == nil || n.Type != "SUBLINK" {
			return false
		}
		if kind, _ := n.Int("subLinkType"); kind != subLinkExpr || !n.IsNull("testexpr") {
			return false
		}
		expr, ok := simpleSelect(n.Child("subselect"))
		if !ok {
			return false
		}
		n = expr
	}
	if n == nil || n.Type != "FUNCEXPR" || !n.IsNull("args") {
		return false
	}
	f, ok := r.funcs[n.OID("funcid")]
	return ok && f.schema == Isolation.ContextSchema && f.name == helper
}

// isTenantPredicate reports whether clause bounds the rows to the tenant of
// the context: one of its top-level conjuncts is an IsolationForm. A
// comparison under OR, NOT, CASE or COALESCE does not count.
func (r *resolver) isTenantPredicate(t *table, clause *Node) bool {
	for _, c := range conjuncts(clause) {
		for _, f := range IsolationForms {
			if r.matchForm(t, f, c) {
				return true
			}
		}
	}
	return false
}

// isTenantOrOwnRows reports whether clause is the tenant check OR-ed only
// with OwnRowForms (memberships_read's shape).
func (r *resolver) isTenantOrOwnRows(t *table, clause *Node) bool {
	tenant := false
	for _, d := range disjuncts(clause) {
		switch {
		case r.isTenantPredicate(t, d):
			tenant = true
		case !slices.ContainsFunc(OwnRowForms, func(f IsolationForm) bool { return r.matchForm(t, f, d) }):
			return false
		}
	}
	return tenant
}

// alwaysTrue reports whether clause is true (or NULL) for every row, in any
// context: 1 = 1, id = id, NOT false, coalesce(NULL, true), x OR true.
func (r *resolver) alwaysTrue(t uint32, clause *Node) bool {
	if clause == nil {
		return false
	}
	e := &evaluator{r: r, table: t, mode: anyContext}
	m := e.eval(clause, 0).asBool()
	return m&mayTrue != 0 && m&mayFalse == 0
}

// trueWithoutContext reports whether clause can be true for some row when
// every context helper returns NULL: the policy then admits rows to a
// session that never entered a context.
func (r *resolver) trueWithoutContext(t uint32, clause *Node) bool {
	if clause == nil {
		return false
	}
	e := &evaluator{r: r, table: t, mode: noContext}
	return e.eval(clause, 0).asBool()&mayTrue != 0
}

// referencesContext reports whether clause calls a context helper or reads
// a context setting.
func (r *resolver) referencesContext(clause *Node) bool {
	found := false
	clause.Walk(func(n *Node) bool {
		if n.Type == "FUNCEXPR" {
			if f, ok := r.funcs[n.OID("funcid")]; ok && (r.isHelper(f) || r.readsContextSetting(n)) {
				found = true
			}
		}
		return !found
	})
	return found
}

// readsUnsealedContext reports whether clause reads the context without
// its seal: an Isolation.Unsealed helper, or current_setting('app....').
func (r *resolver) readsUnsealedContext(clause *Node) bool {
	found := false
	clause.Walk(func(n *Node) bool {
		if n.Type == "FUNCEXPR" {
			f, ok := r.funcs[n.OID("funcid")]
			found = ok && f.schema == Isolation.ContextSchema && slices.Contains(Isolation.Unsealed, f.name) || r.readsContextSetting(n)
		}
		return !found
	})
	return found
}

// referencesTenant reports whether clause uses table t's tenant key or
// calls the tenant helper: a policy doing either is meant to isolate.
func (r *resolver) referencesTenant(t *table, clause *Node) bool {
	found := false
	walkLevels(clause, 0, func(n *Node, level int64) bool {
		switch n.Type {
		case "VAR":
			up, _ := n.Int("varlevelsup")
			varno, _ := n.Int("varno")
			attno, _ := n.Int("varattno")
			a, ok := r.attrs[attrKey{t.oid, int16(attno)}]
			found = found || (up == level && varno == 1 && ok && a.name == t.tenantKey)
		case "FUNCEXPR":
			f, ok := r.funcs[n.OID("funcid")]
			found = found || (ok && f.schema == Isolation.ContextSchema && f.name == Isolation.TenantHelper)
		}
		return !found
	})
	return found
}

// walkLevels walks n like Node.Walk and passes each node's query level: 0
// at the top, one more inside each subquery, so a Var can be matched with
// its range table (a Var's varlevelsup counts the levels up to its own).
func walkLevels(n *Node, level int64, fn func(*Node, int64) bool) {
	if n == nil || !fn(n, level) {
		return
	}
	for _, f := range n.Fields {
		for _, c := range childNodes(f.Value) {
			l := level
			if c.Type == "QUERY" {
				l++
			}
			walkLevels(c, l, fn)
		}
	}
}

func childNodes(v Value) []*Node {
	switch v.Kind {
	case ValueNode:
		return []*Node{v.Node}
	case ValueList:
		var out []*Node
		for _, e := range v.List {
			out = append(out, childNodes(e)...)
		}
		return out
	}
	return nil
}

// tenantComparedColumn returns the column of t that tree compares, with
// any operator, with an expression calling the tenant helper; 0 if none.
func (r *resolver) tenantComparedColumn(t *table, tree *Node) int16 {
	var found int16
	walkLevels(tree, 0, func(n *Node, level int64) bool {
		if found != 0 || level != 0 || n.Type != "OPEXPR" {
			return found == 0
		}
		args := n.Nodes("args")
		if len(args) != 2 {
			return true
		}
		for _, pair := range [][2]*Node{{args[0], args[1]}, {args[1], args[0]}} {
			v := stripCasts(pair[0])
			if v.Type != "VAR" || !r.callsTenantHelper(pair[1]) {
				continue
			}
			up, _ := v.Int("varlevelsup")
			varno, _ := v.Int("varno")
			attno, _ := v.Int("varattno")
			if _, ok := r.attrs[attrKey{t.oid, int16(attno)}]; ok && up == 0 && varno == 1 {
				found = int16(attno)
			}
		}
		return found == 0
	})
	return found
}

func (r *resolver) callsTenantHelper(n *Node) bool {
	found := false
	n.Walk(func(c *Node) bool {
		found = found || r.callsFunction(c, Isolation.ContextSchema, Isolation.TenantHelper)
		return !found
	})
	return found
}

// stripCasts returns the expression under type coercions.
func stripCasts(n *Node) *Node {
	for n != nil {
		switch n.Type {
		case "RELABELTYPE", "COERCEVIAIO", "COLLATEEXPR":
			n = n.Child("arg")
		case "FUNCEXPR":
			format, _ := n.Int("funcformat")
			args := n.Nodes("args")
			if (format != 1 && format != 2) || len(args) == 0 {
				return n
			}
			n = args[0]
		default:
			return n
		}
	}
	return n
}

func isolationShapes() string {
	shapes := make([]string, len(IsolationForms))
	for i, f := range IsolationForms {
		shapes[i] = f.Shape
	}
	return strings.Join(shapes, "; ")
}

// formProblem says why clause, which mentions the tenant, is not a tenant
// check.
func (r *resolver) formProblem(t *table, clause *Node) string {
	nested := false
	var foreignOp string
	clause.Walk(func(n *Node) bool {
		for _, f := range IsolationForms {
			nested = nested || r.matchForm(t, f, n)
		}
		if n.Type == "OPEXPR" {
			if op, ok := r.ops[n.OID("opno")]; ok && !op.builtin() && r.tenantComparedColumn(t, n) > 0 {
				foreignOp = op.schema + "." + op.name
			}
		}
		return true
	})
	switch {
	case nested:
		return "the tenant check is there, but under OR, NOT, CASE or COALESCE rather than AND-ed at the top: another branch can admit other tenants' rows"
	case foreignOp != "":
		return fmt.Sprintf("the tenant key is compared with operator %s, not pg_catalog's =: its function decides, and may well return true", foreignOp)
	}
	return "it has no accepted tenant check (accepted: " + isolationShapes() + ")"
}
