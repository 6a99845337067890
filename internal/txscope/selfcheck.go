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
}

func readRole(ctx context.Context, p *pgxpool.Pool) (roleFacts, error) {
	var f roleFacts
	err := p.QueryRow(ctx, roleCheckSQL).Scan(&f.name, &f.super, &f.bypass, &f.inApp, &f.inAdmin, &f.ownedTables, &f.privilegedRoles)
	return f, err
}

// SelfCheck refuses a misconfiguration that would leak at run time: the
// runtime connection must not be a superuser, have BYPASSRLS, own (or be able
// to become the owner of) a tenant table, or be able to SET ROLE to a
// privileged role; it must be a member of pgtenant_app; the schema and the
// policies must be exactly the ones this binary embeds. When an admin pool
// is configured, its role must have BYPASSRLS, must not be a superuser and
// must be a member of pgtenant_admin.
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
	st, err := migrations.ReadStatus(ctx, s.pool)
	if err != nil {
		problems = append(problems, "cannot read the migration state: "+err.Error())
	} else if p := st.Problem(); p != "" {
		problems = append(problems, "database not migrated: "+p)
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
			if ad.name == rt.name {
				problems = append(problems, "DATABASE_URL and ADMIN_DATABASE_URL use the same role")
			}
		}
	}
	if len(problems) > 0 {
		return &SelfCheckError{Problems: problems}
	}
	return nil
}

// SelfCheckError lists what SelfCheck found wrong.
type SelfCheckError struct{ Problems []string }

func (e *SelfCheckError) Error() string {
	return "self-check failed:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// IsSelfCheckError reports whether err is a SelfCheckError.
func IsSelfCheckError(err error) bool {
	var sce *SelfCheckError
	return errors.As(err, &sce)
}
