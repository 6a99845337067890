package rlscheck

import (
	"context"
	"strings"
)

// What the guard rules (issue 10) read: role-level settings of the runtime
// and admin roles, TEMP on the database, text columns that keep planner
// statistics, and which tables carry the admin-audit trigger.
type guardCatalog struct {
	roleSettings map[string][]string // role -> settings outside AllowedRoleSettings
	runtimeTemp  []string            // runtime roles that may create temporary tables
	textStats    []textColumn        // text columns of tenant tables and registries with statistics on
	unaudited    []unauditedTable    // tables the admin role can write without the audit trigger
}

type textColumn struct{ table, column string }

type unauditedTable struct {
	table string
	roles []string
}

// AllowedRoleSettings are the role-level settings the rule role_settings
// (and the server's self-check, txscope.AllowedRoleSettings: a test keeps
// the two equal) accept: timeouts, and pgaudit's settings for session
// audit logging of the admin role. A trailing * matches a prefix.
var AllowedRoleSettings = []string{
	"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout",
	"pgaudit.*",
}

func allowedSetting(name string) bool {
	for _, a := range AllowedRoleSettings {
		if p, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(name, p) || a == name {
			return true
		}
	}
	return false
}

// plainAdmin returns the admin roles that are not superusers (a superuser
// may write anything; admin_role_attributes reports it once).
func (c *catalog) plainAdmin() []string { return c.nonSuper(c.admin) }

func (c *catalog) loadGuard(ctx context.Context, conn Querier) error {
	c.roleSettings = map[string][]string{}
	roles := append(append([]string{}, c.runtime...), c.admin...)
	rows, err := conn.Query(ctx, `
		SELECT r.rolname::text, s.setting
		FROM pg_catalog.pg_db_role_setting d
		JOIN pg_catalog.pg_roles r ON r.oid = d.setrole
		CROSS JOIN LATERAL unnest(d.setconfig) s(setting)
		WHERE r.rolname = ANY ($1::text[])
		  AND d.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))
		ORDER BY 1, 2`, roles)
	if err != nil {
		return err
	}
	for rows.Next() {
		var role, setting string
		if err := rows.Scan(&role, &setting); err != nil {
			return err
		}
		name, _, _ := strings.Cut(setting, "=")
		if !allowedSetting(name) {
			c.roleSettings[role] = append(c.roleSettings[role], setting)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := conn.QueryRow(ctx, `
		SELECT coalesce(array_agg(rt ORDER BY rt), '{}') FROM unnest($1::text[]) rt
		WHERE pg_catalog.has_database_privilege(rt, current_database(), 'TEMPORARY')`, c.plainRuntime()).Scan(&c.runtimeTemp); err != nil {
		return err
	}
	rows, err = conn.Query(ctx, `
		SELECT c.oid::regclass::text, a.attname::text
		FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
		WHERE c.relkind IN ('r', 'p') AND `+userSchema+` AND `+notExtension("pg_class", "c.oid")+`
		  AND t.typcategory = 'S' AND a.attstattarget <> 0 AND a.attname <> $1
		  AND ((n.nspname = 'public' AND c.relname IN ('tenants', 'users'))
		       OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute ta WHERE ta.attrelid = c.oid AND ta.attname = $1 AND NOT ta.attisdropped))
		ORDER BY 1, a.attnum`, TenantColumn)
	if err != nil {
		return err
	}
	for rows.Next() {
		var tc textColumn
		if err := rows.Scan(&tc.table, &tc.column); err != nil {
			return err
		}
		c.textStats = append(c.textStats, tc)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = conn.Query(ctx, `
		SELECT c.oid::regclass::text,
		       ARRAY(SELECT ad FROM unnest($1::text[]) ad
		             WHERE pg_catalog.has_table_privilege(ad, c.oid, 'INSERT')
		                OR pg_catalog.has_table_privilege(ad, c.oid, 'UPDATE')
		                OR pg_catalog.has_table_privilege(ad, c.oid, 'DELETE') ORDER BY 1)
		FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND `+userSchema+` AND `+notExtension("pg_class", "c.oid")+`
		  AND n.nspname = 'public' AND c.relname NOT IN ('audit_log', 'schema_migrations', 'pgtenant_policy_state')
		  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger tg
		                  WHERE tg.tgrelid = c.oid AND tg.tgname = 'admin_write_audited' AND tg.tgdeferrable AND tg.tginitdeferred
		                    AND tg.tgfoid = to_regprocedure('app.require_audit_row()'))
		ORDER BY 1`, c.plainAdmin())
	if err != nil {
		return err
	}
	for rows.Next() {
		var u unauditedTable
		if err := rows.Scan(&u.table, &u.roles); err != nil {
			return err
		}
		if len(u.roles) > 0 {
			c.unaudited = append(c.unaudited, u)
		}
	}
	return rows.Err()
}
