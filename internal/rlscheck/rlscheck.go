// Package rlscheck is a catalog lint for pgtenant's tenant isolation, in the
// spirit of Supabase's splinter: it reads the system catalogs of a migrated
// database and reports every table, policy, view, function, trigger and role
// that breaks one of the rules that keep Postgres row-level security (RLS) a
// reliable tenant boundary (Rules lists them).
//
// It reasons about expressions, not their text: policies (and column
// defaults, constraints, views, trigger conditions) are read as the trees
// Postgres stores (nodetree.go), with operators, functions and columns
// resolved through the catalogs, and evaluated in three-valued logic
// (predicate.go): the tenant check must be an accepted form AND-ed at the
// top of every isolation policy, and no expression may be true for every
// row, or true when no context is set. And it compares the database with
// the committed expectation embedded in the binary (expectation.go):
// policies, RLS flags, privileges and grants, function bodies and attributes,
// triggers, as the embedded db/schema and db/policies produce them.
//
// What it guarantees: it only reads (catalog queries in one READ ONLY
// transaction whose only settings are its own search_path, so deparsed
// names come out schema-qualified, and jit off), so it may run as any role, the runtime role
// included, against any database (a test database, `make run`'s,
// production). What it does not: prove what code does. A function body is
// compared with the committed one as text, not understood; the evaluator
// knows SQL's logic and pg_catalog's comparison operators, and treats
// everything else as able to return anything (so it may report an
// expression that is in fact safe, never the reverse for the shapes it
// evaluates). The isolation tests and pgTAP tests prove the behaviour.
package rlscheck

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Default group roles: the migrations create them, and the login roles the
// operator creates are their members.
const (
	RuntimeGroup = "pgtenant_app"
	AdminGroup   = "pgtenant_admin"
)

// TenantColumn is the column that makes a table a tenant table.
const TenantColumn = "tenant_id"

// Severity of a finding. Every rule of the issue is an error; the field
// exists so machines reading --json need not change when a rule is added
// as advice.
const SeverityError = "error"

// Options says which roles are the runtime and admin roles.
type Options struct {
	// RuntimeRoles are the roles the API's DATABASE_URL logs in as. Empty:
	// the group pgtenant_app and its login members.
	RuntimeRoles []string
	// AdminRoles are the BYPASSRLS roles of ADMIN_DATABASE_URL. Empty: the
	// login members of pgtenant_admin (the group itself cannot carry
	// BYPASSRLS for them: the attribute is not inherited).
	AdminRoles []string
	// Expect is what the drift rules compare the database with. Nil: the
	// expectation embedded in the binary (Committed).
	Expect *Expectation
}

// Finding is one rule broken by one object. The JSON keys are stable.
type Finding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Object   string `json:"object"`
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
}

// Report is the result of a check.
type Report struct {
	Database     string    `json:"database"`
	ConnectedAs  string    `json:"connected_as"`
	RuntimeRoles []string  `json:"runtime_roles"`
	AdminRoles   []string  `json:"admin_roles"`
	TenantTables []string  `json:"tenant_tables"`
	Findings     []Finding `json:"findings"`
}

// Clean reports whether no rule fired.
func (r Report) Clean() bool { return len(r.Findings) == 0 }

// ByRule returns the findings of one rule.
func (r Report) ByRule(id string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Rule == id {
			out = append(out, f)
		}
	}
	return out
}

// ConfigError means the check could not run as asked (a role that does not
// exist, a database without tenant tables): exit 2, not a finding.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return "rls-check: " + e.Msg }

// IsConfigError reports whether err is a ConfigError.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// Querier reads the catalogs: a connection, a transaction, a pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CheckURL connects to databaseURL and runs Check.
func CheckURL(ctx context.Context, databaseURL string, opts Options) (Report, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return Report{}, &ConfigError{Msg: "connect: " + redact(err, databaseURL).Error()}
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return Check(ctx, conn, opts)
}

// Check reads the catalogs through conn and runs every rule. It opens (and
// rolls back) a read-only transaction of its own: conn must not be in one.
func Check(ctx context.Context, conn *pgx.Conn, opts Options) (Report, error) {
	var rep Report
	if err := conn.QueryRow(ctx, "SELECT current_database()::text, current_user::text").Scan(&rep.Database, &rep.ConnectedAs); err != nil {
		return Report{}, fmt.Errorf("rls-check: %w", err)
	}
	runtime, err := resolveRoles(ctx, conn, opts.RuntimeRoles, RuntimeGroup, true, "--runtime-role")
	if err != nil {
		return Report{}, err
	}
	admin, err := resolveRoles(ctx, conn, opts.AdminRoles, AdminGroup, false, "--admin-role")
	if err != nil {
		return Report{}, err
	}
	var cat *catalog
	err = readOnly(ctx, conn, func() error {
		var err error
		if cat, err = load(ctx, conn, runtime, admin); err != nil {
			return fmt.Errorf("rls-check: read catalogs: %w", err)
		}
		if len(cat.tenantTables()) == 0 {
			return &ConfigError{Msg: fmt.Sprintf("database %q has no table with a %s column: is it migrated (server migrate up)?", rep.Database, TenantColumn)}
		}
		if err := cat.loadDrift(ctx, conn, opts.Expect); err != nil {
			return fmt.Errorf("rls-check: read catalogs: %w", err)
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	cat.database = rep.Database
	rep.RuntimeRoles, rep.AdminRoles = runtime, admin
	if rep.AdminRoles == nil {
		rep.AdminRoles = []string{}
	}
	for _, t := range cat.tenantTables() {
		rep.TenantTables = append(rep.TenantTables, t.qname())
	}
	rep.Findings = runRules(cat, Rules)
	return rep, nil
}

// runRules runs rules on cat, in order, each rule's findings sorted by
// object.
func runRules(cat *catalog, rules []Rule) []Finding {
	out := []Finding{}
	for _, r := range rules {
		var fs []Finding
		r.check(cat, func(object, message, fix string) {
			fs = append(fs, Finding{Rule: r.ID, Severity: SeverityError, Object: object, Message: message, Fix: fix})
		})
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].Object < fs[j].Object })
		out = append(out, fs...)
	}
	return out
}

// DriftRules are the rules Drift runs: the ones that compare the database
// with an expectation, and need nothing else of the catalogs.
var DriftRules = []string{"relation_drift", "schema_drift", "policy_drift", "function_drift", "security_definer_uncommitted", "trigger_drift"}

// Drift compares the database tx reads with want (nil: the committed
// expectation embedded in the binary) by the rules of DriftRules, as
// `server rls-check` would with its default roles (pgtenant_app and its
// login members), and returns their findings: none when the database is
// what want describes. It only reads, inside tx, whose search_path it
// restores; any role may run it (the server's self-check runs it as the
// runtime role).
func Drift(ctx context.Context, tx pgx.Tx, want *Expectation) ([]Finding, error) {
	runtime, err := resolveRoles(ctx, tx, nil, RuntimeGroup, true, "--runtime-role")
	if err != nil {
		return nil, err
	}
	cat := &catalog{runtime: runtime, roles: map[string]role{}}
	err = catalogPath(ctx, tx, func() error {
		if err := tx.QueryRow(ctx, "SELECT current_database()::text").Scan(&cat.database); err != nil {
			return err
		}
		if err := cat.loadRoles(ctx, tx); err != nil {
			return err
		}
		return cat.loadDrift(ctx, tx, want)
	})
	if err != nil {
		return nil, fmt.Errorf("rls-check: drift: %w", err)
	}
	var rules []Rule
	for _, r := range Rules {
		if slices.Contains(DriftRules, r.ID) {
			rules = append(rules, r)
		}
	}
	return runRules(cat, rules), nil
}

// resolveRoles returns the named roles after checking they exist, or, when
// none are named, the group and its login members (the group itself only
// when withGroup).
func resolveRoles(ctx context.Context, conn Querier, names []string, group string, withGroup bool, flag string) ([]string, error) {
	if len(names) > 0 {
		var missing []string
		if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(n ORDER BY n), '{}') FROM unnest($1::text[]) n
			WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = n)`, names).Scan(&missing); err != nil {
			return nil, fmt.Errorf("rls-check: %w", err)
		}
		if len(missing) > 0 {
			return nil, &ConfigError{Msg: fmt.Sprintf("%s: no role named %s", flag, strings.Join(missing, ", "))}
		}
		out := append([]string(nil), names...)
		sort.Strings(out)
		return dedup(out), nil
	}
	// pg_auth_members, not pg_has_role: a superuser "has" every role, and
	// would otherwise be checked as a runtime role.
	var roles []string
	var groupExists bool
	err := conn.QueryRow(ctx, `
		WITH RECURSIVE m(oid) AS (
			SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1
			UNION
			SELECT am.member FROM pg_catalog.pg_auth_members am JOIN m ON am.roleid = m.oid
		)
		SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1),
		       coalesce(array_agg(r.rolname::text ORDER BY r.rolname)
		                FILTER (WHERE r.rolcanlogin OR ($2 AND r.rolname = $1)), '{}')
		FROM m JOIN pg_catalog.pg_roles r ON r.oid = m.oid`, group, withGroup).Scan(&groupExists, &roles)
	if err != nil {
		return nil, fmt.Errorf("rls-check: %w", err)
	}
	if !groupExists && withGroup {
		return nil, &ConfigError{Msg: fmt.Sprintf("no role %s in this cluster: pass %s (or set DATABASE_URL), or migrate the database first", group, flag)}
	}
	return roles, nil
}

func dedup(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// URLUser returns the user name of a postgres:// URL, "" when it has none.
func URLUser(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	return u.User.Username()
}

// redact removes the password of rawURL from an error's text.
func redact(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}
