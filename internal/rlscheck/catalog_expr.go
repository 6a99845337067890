package rlscheck

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// exprCatalog holds the expression trees of the database under check and
// the resolver that names what they refer to.
type exprCatalog struct {
	r *resolver
	// stored are the other expressions Postgres keeps as trees and runs on
	// the runtime role's statements: column defaults, check constraints,
	// index expressions and predicates, trigger conditions, view queries.
	stored []storedExpr
}

type storedExpr struct {
	object string // "column public.projects.description default", ...
	tree   Value
}

// loadExpressions parses every policy's USING and WITH CHECK as Postgres
// stored them, and the other stored expressions, then resolves the oids
// they mention and finds the tenant tables that only their policies name.
func (c *catalog) loadExpressions(ctx context.Context, conn Querier) error {
	c.exprs = &exprCatalog{r: newResolver()}
	type key struct {
		table uint32
		name  string
	}
	trees := map[key][2]*Node{}
	var all []*Node
	err := queryEach(ctx, conn, `
		SELECT p.polrelid, p.polname::text, coalesce(p.polqual::text, ''), coalesce(p.polwithcheck::text, '')
		FROM pg_catalog.pg_policy p`, nil, func(rows pgx.Rows) error {
		var k key
		var qual, check string
		if err := rows.Scan(&k.table, &k.name, &qual, &check); err != nil {
			return err
		}
		var pair [2]*Node
		for i, s := range []string{qual, check} {
			if s == "" {
				continue
			}
			n, err := ParseNode(s)
			if err != nil {
				return fmt.Errorf("policy %s: %w", k.name, err)
			}
			pair[i] = n
			all = append(all, n)
		}
		trees[k] = pair
		return nil
	})
	if err != nil {
		return err
	}
	for i := range c.policies {
		p := &c.policies[i]
		pair := trees[key{p.table, p.name}]
		p.usingTree, p.checkTree = pair[0], pair[1]
	}
	if err := c.loadStoredExprs(ctx, conn); err != nil {
		return err
	}
	for _, s := range c.exprs.stored {
		all = append(all, s.tree.Nodes()...)
		if s.tree.Kind == ValueNode {
			all = append(all, s.tree.Node)
		}
	}
	oids := make([]uint32, 0, len(c.tables))
	for _, t := range c.tables {
		oids = append(oids, t.oid)
	}
	if err := c.exprs.r.load(ctx, conn, all, oids); err != nil {
		return err
	}
	return c.detectPolicyTenantKeys(ctx, conn)
}

// storedExprSQL lists the stored expressions of user schemas with a name
// for each.
const storedExprSQL = `
SELECT format('column %s.%s default', c.oid::regclass, a.attname), d.adbin::text
FROM pg_catalog.pg_attrdef d
JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
JOIN pg_catalog.pg_class c ON c.oid = d.adrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ` + userSchema + `
UNION ALL
SELECT format('constraint %s on %s', con.conname, c.oid::regclass), con.conbin::text
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE con.conbin IS NOT NULL AND ` + userSchema + `
UNION ALL
SELECT format('index %s', i.indexrelid::regclass), x
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (VALUES (i.indexprs::text), (i.indpred::text)) v(x)
WHERE x IS NOT NULL AND ` + userSchema + `
UNION ALL
SELECT format('trigger %s on %s', t.tgname, c.oid::regclass), t.tgqual::text
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE t.tgqual IS NOT NULL AND NOT t.tgisinternal AND ` + userSchema + `
UNION ALL
SELECT format('%s %s', CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END, c.oid::regclass), r.ev_action::text
FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ` + userSchema + `
ORDER BY 1`

func (c *catalog) loadStoredExprs(ctx context.Context, conn Querier) error {
	return queryEach(ctx, conn, storedExprSQL, nil, func(rows pgx.Rows) error {
		var s storedExpr
		var text string
		if err := rows.Scan(&s.object, &text); err != nil {
			return err
		}
		var err error
		if s.tree, err = ParseNodeTree(text); err != nil {
			return fmt.Errorf("%s: %w", s.object, err)
		}
		c.exprs.stored = append(c.exprs.stored, s)
		return nil
	})
}

// detectPolicyTenantKeys makes a tenant table of every table whose policies
// compare one of its columns with the tenant helper, under whatever name:
// `org_id = (SELECT app.current_tenant_id())` says org_id holds the tenant.
func (c *catalog) detectPolicyTenantKeys(ctx context.Context, conn Querier) error {
	r := c.exprs.r
	for _, t := range c.tables {
		// The registry's own key is the tenant, not a tenant key.
		if t.isTenant() || (t.schema == "public" && t.name == Isolation.Registry) {
			continue
		}
		for _, p := range c.policiesOf(t) {
			for _, tree := range []*Node{p.usingTree, p.checkTree} {
				if attnum := r.tenantComparedColumn(t, tree); attnum > 0 {
					t.tenantAttnum = attnum
					t.tenantKey = r.attrs[attrKey{t.oid, attnum}].name
				}
			}
		}
		if t.isTenant() {
			err := conn.QueryRow(ctx, `SELECT pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
				FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum = $2`, t.oid, t.tenantAttnum).Scan(&t.tenantType, &t.tenantNotNull)
			if err != nil {
				return err
			}
		}
	}
	return nil
}
