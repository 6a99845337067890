package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/rlscheck"
)

// rlsEnv is the part of the server's environment rls-check reads.
type rlsEnv struct{ DatabaseURL, AdminDatabaseURL string }

// rlsCheckRun runs `server rls-check args...` the way main does, configured
// from env, and returns the exit code, stdout and stderr.
func rlsCheckRun(env rlsEnv, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		return map[string]string{"DATABASE_URL": env.DatabaseURL, "ADMIN_DATABASE_URL": env.AdminDatabaseURL}[k]
	}
	code := run(context.Background(), append([]string{"rls-check"}, args...), getenv, &out, &errb)
	return code, out.String(), errb.String()
}

// TestRLSCheckCommandOnMigratedDatabase is the lint `make test` and CI run: the
// command, configured the way the server is (DATABASE_URL,
// ADMIN_DATABASE_URL), on a freshly migrated database.
func TestRLSCheckCommandOnMigratedDatabase(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	env := rlsEnv{DatabaseURL: d.RuntimeURL, AdminDatabaseURL: d.AdminURL}
	code, out, stderr := rlsCheckRun(env)
	require.Equal(t, exitOK, code, "%s%s", out, stderr)
	require.Contains(t, out, "runtime role(s): "+pgtest.RuntimeRole)
	require.Contains(t, out, "admin role(s):   "+pgtest.AdminRole)
	require.Contains(t, out, "rules, all passed")
	for _, r := range rlscheck.Rules {
		require.Contains(t, out, "ok    "+r.ID)
	}

	code, out, _ = rlsCheckRun(env, "--json")
	require.Equal(t, exitOK, code)
	var doc struct {
		Clean    bool                  `json:"clean"`
		Rules    []rlscheck.RuleResult `json:"rules"`
		Findings []rlscheck.Finding    `json:"findings"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.True(t, doc.Clean)
	require.Len(t, doc.Rules, len(rlscheck.Rules))
	require.NotNil(t, doc.Findings, `"findings" is [] when clean, not null`)
}

func TestRLSCheckCommandFindings(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	d.Fixtures(t).Exec(t, `ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY; GRANT TRUNCATE ON projects TO pgtenant_app`)
	env := rlsEnv{DatabaseURL: d.RuntimeURL, AdminDatabaseURL: d.AdminURL}

	code, out, _ := rlsCheckRun(env)
	require.Equal(t, rlsCheckFindings, code, out)
	require.Contains(t, out, "FAIL  tenant_rls_forced")
	require.Contains(t, out, "- table public.tasks")
	require.Contains(t, out, "fix: ALTER TABLE public.tasks FORCE ROW LEVEL SECURITY;")
	require.Contains(t, out, "FAIL  runtime_role_privileges")
	// The committed schema forces RLS on tasks: drift too.
	require.Contains(t, out, "FAIL  relation_drift")
	require.Contains(t, out, "row-level security forced is false, committed true")
	// The grant is drift too (the committed grants of projects).
	require.Contains(t, out, "pgtenant_app is granted DELETE, INSERT, SELECT, TRUNCATE, UPDATE, committed DELETE, INSERT, SELECT, UPDATE")
	require.Contains(t, out, "3 failed, 4 finding(s)")

	code, out, _ = rlsCheckRun(env, "--json")
	require.Equal(t, rlsCheckFindings, code)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.Equal(t, false, doc["clean"])
	findings := doc["findings"].([]any)
	require.Len(t, findings, 4)
	first := findings[0].(map[string]any)
	for _, k := range []string{"rule", "severity", "object", "message", "fix"} {
		require.Contains(t, first, k)
	}
	require.Equal(t, "tenant_rls_forced", first["rule"])
	require.Equal(t, "table public.tasks", first["object"])
}

func TestRLSCheckCommandUsageAndConfigErrors(t *testing.T) {
	t.Parallel()
	code, _, stderr := rlsCheckRun(rlsEnv{}, "--frobnicate")
	require.Equal(t, rlsCheckNoCheck, code)
	require.Contains(t, stderr, "usage: server rls-check")

	code, _, stderr = rlsCheckRun(rlsEnv{}, "extra")
	require.Equal(t, rlsCheckNoCheck, code)
	require.Contains(t, stderr, `unexpected argument "extra"`)
	require.Contains(t, stderr, "usage: server rls-check")

	code, _, stderr = rlsCheckRun(rlsEnv{}, "-h")
	require.Equal(t, exitOK, code)
	require.Contains(t, stderr, "usage: server rls-check")

	code, _, stderr = rlsCheckRun(rlsEnv{})
	require.Equal(t, rlsCheckNoCheck, code)
	require.Contains(t, stderr, "no database")
	require.Contains(t, stderr, "set -a; . ./.devdb/env; set +a", "the hint for the database of make run")

	code, _, stderr = rlsCheckRun(rlsEnv{DatabaseURL: "postgres://nobody:secret-pw@127.0.0.1:1/x?connect_timeout=2"})
	require.Equal(t, rlsCheckNoCheck, code)
	require.Contains(t, stderr, "connect")
	require.NotContains(t, stderr, "secret-pw")

	code, out, _ := rlsCheckRun(rlsEnv{}, "--rules")
	require.Equal(t, exitOK, code)
	for _, r := range rlscheck.Rules {
		require.Contains(t, out, r.ID)
	}

	d := pgtest.New(t)
	code, _, stderr = rlsCheckRun(rlsEnv{DatabaseURL: d.RuntimeURL}, "--runtime-role", "no_such_role_x")
	require.Equal(t, rlsCheckNoCheck, code)
	require.Contains(t, stderr, "no role named no_such_role_x")

	empty := pgtest.NewEmpty(t)
	code, _, stderr = rlsCheckRun(rlsEnv{DatabaseURL: empty.OwnerURL}, "--runtime-role", pgtest.RuntimeRole)
	require.Equal(t, rlsCheckNoCheck, code)
	require.Contains(t, stderr, "is it migrated")
}
