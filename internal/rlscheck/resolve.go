package rlscheck

import (
	"context"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// resolver names what node trees refer to by oid: operators, functions and
// columns, read from the catalogs of the database under check (oids differ
// between databases: app.current_tenant_id() is 16400 in one and 16533 in
// the next).
type resolver struct {
	ops   map[uint32]operatorInfo
	funcs map[uint32]funcInfo
	attrs map[attrKey]attrInfo
}

type operatorInfo struct {
	schema, name        string
	left, right, result uint32
	code                uint32 // the function implementing it
}

// builtin: an operator of pg_catalog, not a look-alike `=` an owner
// created in public whose function returns true.
func (o operatorInfo) builtin() bool { return o.schema == "pg_catalog" }

type funcInfo struct {
	schema, name string
	strict       bool
	volatility   string // i, s or v
	result       uint32
}

type attrKey struct {
	rel    uint32
	attnum int16
}

type attrInfo struct {
	name    string
	typ     uint32
	notNull bool
}

func newResolver() *resolver {
	return &resolver{ops: map[uint32]operatorInfo{}, funcs: map[uint32]funcInfo{}, attrs: map[attrKey]attrInfo{}}
}

// load reads the operators, functions and columns the trees mention, and
// the columns of tables (the tables policies are on: Var varno 1).
func (r *resolver) load(ctx context.Context, conn Querier, trees []*Node, tables []uint32) error {
	var ops, funcs []uint32
	rels := append([]uint32(nil), tables...)
	for _, t := range trees {
		t.Walk(func(n *Node) bool {
			switch n.Type {
			case "OPEXPR", "DISTINCTEXPR", "NULLIFEXPR", "SCALARARRAYOPEXPR":
				ops = append(ops, n.OID("opno"))
			case "FUNCEXPR":
				funcs = append(funcs, n.OID("funcid"))
			case "AGGREF":
				funcs = append(funcs, n.OID("aggfnoid"))
			case "WINDOWFUNC":
				funcs = append(funcs, n.OID("winfnoid"))
			case "RANGETBLENTRY":
				if oid := n.OID("relid"); oid != 0 {
					rels = append(rels, oid)
				}
			}
			return true
		})
	}
	err := queryEach(ctx, conn, `
		SELECT o.oid, n.nspname::text, o.oprname::text, o.oprleft, o.oprright, o.oprresult, o.oprcode::oid
		FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
		WHERE o.oid = ANY ($1::oid[])`, []any{ops}, func(rows pgx.Rows) error {
		var oid uint32
		var o operatorInfo
		err := rows.Scan(&oid, &o.schema, &o.name, &o.left, &o.right, &o.result, &o.code)
		r.ops[oid] = o
		funcs = append(funcs, o.code)
		return err
	})
	if err != nil {
		return err
	}
	err = queryEach(ctx, conn, `
		SELECT p.oid, n.nspname::text, p.proname::text, p.proisstrict, p.provolatile::text, p.prorettype
		FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE p.oid = ANY ($1::oid[])`, []any{funcs}, func(rows pgx.Rows) error {
		var oid uint32
		var f funcInfo
		err := rows.Scan(&oid, &f.schema, &f.name, &f.strict, &f.volatility, &f.result)
		r.funcs[oid] = f
		return err
	})
	if err != nil {
		return err
	}
	return queryEach(ctx, conn, `
		SELECT a.attrelid, a.attnum, a.attname::text, a.atttypid, a.attnotnull
		FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped`, []any{rels}, func(rows pgx.Rows) error {
		var k attrKey
		var a attrInfo
		err := rows.Scan(&k.rel, &k.attnum, &a.name, &a.typ, &a.notNull)
		r.attrs[k] = a
		return err
	})
}

// queryEach runs sql and calls scan for every row.
func queryEach(ctx context.Context, conn Querier, sql string, args []any, scan func(pgx.Rows) error) error {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r *resolver) strictOp(opno uint32) bool {
	o, ok := r.ops[opno]
	if !ok {
		return false
	}
	return r.funcs[o.code].strict
}

// isHelper reports whether f is one of the context helpers.
func (r *resolver) isHelper(f funcInfo) bool {
	return f.schema == Isolation.ContextSchema && slices.Contains(Isolation.Helpers, f.name)
}

// callsFunction reports whether n is a call of schema.name.
func (r *resolver) callsFunction(n *Node, schema, name string) bool {
	if n == nil || n.Type != "FUNCEXPR" {
		return false
	}
	f, ok := r.funcs[n.OID("funcid")]
	return ok && f.schema == schema && f.name == name
}

// readsContextSetting reports whether n is current_setting('app....'),
// reading the context without the helpers.
func (r *resolver) readsContextSetting(n *Node) bool {
	if !r.callsFunction(n, "pg_catalog", "current_setting") {
		return false
	}
	args := n.Nodes("args")
	if len(args) == 0 || args[0].Type != "CONST" {
		return false
	}
	k := constOf(args[0])
	return k != nil && strings.HasPrefix(string(k.payload), Isolation.SettingPrefix)
}

// stable reports whether n gives the same value wherever it appears in
// one row's evaluation: no volatile function, nothing unresolved, no
// parameter of an enclosing subquery.
func (r *resolver) stable(n *Node) bool {
	ok := true
	n.Walk(func(c *Node) bool {
		switch c.Type {
		case "FUNCEXPR":
			f, found := r.funcs[c.OID("funcid")]
			ok = ok && found && f.volatility != "v"
		case "OPEXPR", "DISTINCTEXPR", "NULLIFEXPR", "SCALARARRAYOPEXPR":
			o, found := r.ops[c.OID("opno")]
			ok = ok && found && r.funcs[o.code].volatility != "v"
		case "PARAM", "AGGREF", "WINDOWFUNC":
			ok = false
		}
		return ok
	})
	return ok
}
