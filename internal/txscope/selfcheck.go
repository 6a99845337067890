package txscope

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgtenant/pgtenant/internal/migrations"
)

// roleCheckSQL describes the connected role. owned_tenant_tables lists tenant
// tables the role owns or could act as the owner of (membership in the
// owning role, INHERIT or not: SET ROLE would do); privileged_roles lists
// superuser or BYPASSRLS roles it could SET ROLE to.
const roleCheckSQL = `
SELECT r.rolname, r.rolsuper, r.rolbypassrls,
       pg_has_role(current_user, 'pgtenant_app', 'MEMBER') AS in_app,
       pg_has_role(current_user, 'pgtenant_admin', 'MEMBER') AS in_admin,
       coalesce((SELECT string_agg(DISTINCT c.relname, ', ')
                 FROM pg_class c
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
                 WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace
                   AND pg_has_role(current_user, c.relowner, 'MEMBER')), '') AS owned_tenant_tables,
       coalesce((SELECT string_agg(o.rolname, ', ')
                 FROM pg_roles o
                 WHERE (o.rolsuper OR o.rolbypassrls) AND o.rolname <> current_user
                   AND pg_has_role(current_user, o.oid, 'MEMBER')), '') AS privileged_roles
FROM pg_roles r WHERE r.rolname = current_user`

type roleFacts struct {
	name            string
	super, bypass   bool
	inApp, inAdmin  bool
	ownedTables     string
	privilegedRoles string
	temp            bool     // may create temporary tables in this database
	settings        []string // role-level settings outside AllowedRoleSettings
}

// roleSettingsSQL lists the connected role's own settings (ALTER ROLE ...
// SET, for every database or this one) that AllowedRoleSettings does not
// allow. Any role may give itself such defaults: `ALTER ROLE CURRENT_USER
// SET row_security = off` run once by the runtime role breaks (or, with
// search_path, redirects) every session it opens afterwards.
const roleSettingsSQL = `
SELECT coalesce(array_agg(s.setting ORDER BY s.setting), '{}'),
       pg_catalog.has_database_privilege(current_user, current_database(), 'TEMPORARY')
FROM (SELECT unnest(d.setconfig) AS setting FROM pg_catalog.pg_db_role_setting d
      WHERE d.setrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
        AND d.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))) s
WHERE NOT split_part(s.setting, '=', 1) = ANY ($1::text[])
  AND NOT split_part(s.setting, '=', 1) LIKE ANY ($2::text[])`

// AllowedRoleSettings are the role-level settings SelfCheck accepts on the
// runtime and admin roles: timeouts an operator bounds sessions with, and
// pgaudit's (session audit logging of the admin role, docs/security.md).
// Everything else (row_security, search_path, default_transaction_*,
// app.*, ...) is refused: the application never needs it, and it changes
// how every later session runs.
var AllowedRoleSettings = []string{
	"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout",
	"pgaudit.*",
}

func readRole(ctx context.Context, p *pgxpool.Pool) (roleFacts, error) {
	var f roleFacts
	err := p.QueryRow(ctx, roleCheckSQL).Scan(&f.name, &f.super, &f.bypass, &f.inApp, &f.inAdmin, &f.ownedTables, &f.privilegedRoles)
	if err != nil {
		return f, err
	}
	var exact, like []string
	for _, a := range AllowedRoleSettings {
		if p, ok := strings.CutSuffix(a, "*"); ok {
			like = append(like, p+"%")
		} else {
			exact = append(exact, a)
		}
	}
	err = p.QueryRow(ctx, roleSettingsSQL, exact, like).Scan(&f.settings, &f.temp)
	return f, err
}

// settingProblems describes what f's role may not have, for the variable
// that names its connection.
func (f roleFacts) settingProblems(variable string) []string {
	var out []string
	if len(f.settings) > 0 {
		out = append(out, fmt.Sprintf("%s role %q has role-level settings %s that every session inherits (only %s are allowed): ALTER ROLE %s RESET ...",
			variable, f.name, strings.Join(f.settings, ", "), strings.Join(AllowedRoleSettings, ", "), f.name))
	}
	if f.temp && !f.super {
		out = append(out, fmt.Sprintf("%s role %q may create TEMPORARY tables in this database (a temporary table shadows the schema's on a pooled connection): as the database owner, REVOKE TEMPORARY ON DATABASE <db> FROM PUBLIC (and from %s)",
			variable, f.name, f.name))
	}
	return out
}

// SelfCheck refuses a misconfiguration that would leak at run time: the
// runtime connection must not be a superuser, have BYPASSRLS, own (or be able
// to become the owner of) a tenant table, or be able to SET ROLE to a
// privileged role; it must be a member of pgtenant_app, may not create
// temporary tables, and may carry no role-level settings but
// AllowedRoleSettings; the schema and the policies must be exactly the ones
// this binary embeds. When an admin pool is configured, its role must have
// BYPASSRLS, must not be a superuser, must be a member of pgtenant_admin and
// may carry no settings but AllowedRoleSettings.
//
// The returned error lists every problem found, one per line.
func (s *Scope) SelfCheck(ctx context.Context) error {
	if s.pool == nil {
		return ErrNoRuntime
	}
	var problems []string
	rt, err := readRole(ctx, s.pool)
	if err != nil {
		return fmt.Errorf("self-check: runtime connection (DATABASE_URL): %w", mapError(err))
	}
	if rt.super {
		problems = append(problems, fmt.Sprintf("DATABASE_URL role %q is a superuser: superusers bypass row-level security", rt.name))
	}
	if rt.bypass {
		problems = append(problems, fmt.Sprintf("DATABASE_URL role %q has BYPASSRLS: the runtime role must be subject to row-level security", rt.name))
	}
	if rt.ownedTables != "" {
		problems = append(problems, fmt.Sprintf("DATABASE_URL role %q owns (or is a member of the owner of) tenant tables %s: use a role that owns nothing", rt.name, rt.ownedTables))
	}
	if rt.privilegedRoles != "" {
		problems = append(problems, fmt.Sprintf("DATABASE_URL role %q can SET ROLE to privileged roles %s", rt.name, rt.privilegedRoles))
	}
	if !rt.inApp {
		problems = append(problems, fmt.Sprintf("DATABASE_URL role %q is not a member of pgtenant_app (CREATE ROLE ... IN ROLE pgtenant_app)", rt.name))
	}
	problems = append(problems, rt.settingProblems("DATABASE_URL")...)
	var schema string
	st, unread := migrations.ReadStatus(ctx, s.pool)
	if unread != nil {
		// No verdict on the schema (a timeout, a lock held by a migration
		// in progress): reported, but not as a mismatch of its own.
		unread = fmt.Errorf("self-check: cannot read the migration state: %w", mapError(unread))
		problems = append(problems, unread.Error())
	} else if p := st.Problem(); p != "" {
		problems = append(problems, "database not as expected: "+st.Explain())
		schema = p
	}
	if s.admin != nil {
		ad, err := readRole(ctx, s.admin)
		if err != nil {
			problems = append(problems, "admin connection (ADMIN_DATABASE_URL): "+mapError(err).Error())
		} else {
			if !ad.bypass {
				problems = append(problems, fmt.Sprintf("ADMIN_DATABASE_URL role %q lacks BYPASSRLS", ad.name))
			}
			if ad.super {
				problems = append(problems, fmt.Sprintf("ADMIN_DATABASE_URL role %q is a superuser: use a BYPASSRLS role with narrow grants", ad.name))
			}
			if !ad.inAdmin {
				problems = append(problems, fmt.Sprintf("ADMIN_DATABASE_URL role %q is not a member of pgtenant_admin", ad.name))
			}
			if len(ad.settings) > 0 {
				problems = append(problems, ad.settingProblems("ADMIN_DATABASE_URL")[0])
			}
			if ad.name == rt.name {
				problems = append(problems, "DATABASE_URL and ADMIN_DATABASE_URL use the same role")
			}
		}
	}
	switch {
	case unread != nil && len(problems) == 1:
		return unread
	case len(problems) > 0:
		return &SelfCheckError{Problems: problems, Schema: schema}
	}
	return nil
}

// SelfCheckError lists what SelfCheck found wrong.
type SelfCheckError struct {
	Problems []string
	// Schema is the schema's problem alone, "" when the schema is as this
	// binary expects: migrations.Status.Problem, which names objects but
	// never their SQL, a role or a setting.
	Schema string
}

// Mismatch marks the error as a verdict on the database, not a failure to
// reach it: readiness keeps tenant and admin routes closed on it until a
// check passes.
func (e *SelfCheckError) Mismatch() bool { return true }

// Detail is what a client refused because of e may read: the schema's
// problem, and that the roles are misconfigured without naming them (the
// log has Error's full text).
func (e *SelfCheckError) Detail() string {
	var parts []string
	if e.Schema != "" {
		parts = append(parts, e.Schema)
	}
	if len(e.Problems) > len(parts) {
		parts = append(parts, "the server's database roles or their settings are not as required, or the migration state could not be read (see the server log)")
	}
	return strings.Join(parts, "; ")
}

func (e *SelfCheckError) Error() string {
	return "self-check failed:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// IsSelfCheckError reports whether err is a SelfCheckError.
func IsSelfCheckError(err error) bool {
	var sce *SelfCheckError
	return errors.As(err, &sce)
}
