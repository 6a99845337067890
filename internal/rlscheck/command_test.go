package rlscheck_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/rlscheck"
)

func command(env rlscheck.Env, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := rlscheck.Command(context.Background(), args, env, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCommandOnMigratedDatabase is the lint `make test` and CI run: the
// command, configured the way the server is (DATABASE_URL,
// ADMIN_DATABASE_URL), on a freshly migrated database.
func TestCommandOnMigratedDatabase(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	env := rlscheck.Env{DatabaseURL: d.RuntimeURL, AdminDatabaseURL: d.AdminURL}
	code, out, stderr := command(env)
	require.Equal(t, rlscheck.ExitClean, code, "%s%s", out, stderr)
	require.Contains(t, out, "runtime role(s): "+pgtest.RuntimeRole)
	require.Contains(t, out, "admin role(s):   "+pgtest.AdminRole)
	require.Contains(t, out, "rules, all passed")
	for _, r := range rlscheck.Rules {
		require.Contains(t, out, "ok    "+r.ID)
	}

	code, out, _ = command(env, "--json")
	require.Equal(t, rlscheck.ExitClean, code)
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

func TestCommandFindings(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	d.Fixtures(t).Exec(t, `ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY; GRANT TRUNCATE ON projects TO pgtenant_app`)
	env := rlscheck.Env{DatabaseURL: d.RuntimeURL, AdminDatabaseURL: d.AdminURL}

	code, out, _ := command(env)
	require.Equal(t, rlscheck.ExitFindings, code, out)
	require.Contains(t, out, "FAIL  tenant_rls_forced")
	require.Contains(t, out, "- table public.tasks")
	require.Contains(t, out, "fix: ALTER TABLE public.tasks FORCE ROW LEVEL SECURITY;")
	require.Contains(t, out, "FAIL  runtime_role_privileges")
	require.Contains(t, out, "2 failed, 2 finding(s)")

	code, out, _ = command(env, "--json")
	require.Equal(t, rlscheck.ExitFindings, code)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.Equal(t, false, doc["clean"])
	findings := doc["findings"].([]any)
	require.Len(t, findings, 2)
	first := findings[0].(map[string]any)
	for _, k := range []string{"rule", "severity", "object", "message", "fix"} {
		require.Contains(t, first, k)
	}
	require.Equal(t, "tenant_rls_forced", first["rule"])
	require.Equal(t, "table public.tasks", first["object"])
}

func TestCommandUsageAndConfigErrors(t *testing.T) {
	t.Parallel()
	code, _, stderr := command(rlscheck.Env{}, "--frobnicate")
	require.Equal(t, rlscheck.ExitNoCheck, code)
	require.Contains(t, stderr, "usage: server rls-check")

	code, _, stderr = command(rlscheck.Env{})
	require.Equal(t, rlscheck.ExitNoCheck, code)
	require.Contains(t, stderr, "no database")

	code, _, stderr = command(rlscheck.Env{DatabaseURL: "postgres://nobody:secret-pw@127.0.0.1:1/x?connect_timeout=2"})
	require.Equal(t, rlscheck.ExitNoCheck, code)
	require.Contains(t, stderr, "connect")
	require.NotContains(t, stderr, "secret-pw")

	code, out, _ := command(rlscheck.Env{}, "--rules")
	require.Equal(t, rlscheck.ExitClean, code)
	for _, r := range rlscheck.Rules {
		require.Contains(t, out, r.ID)
	}

	d := pgtest.New(t)
	code, _, stderr = command(rlscheck.Env{DatabaseURL: d.RuntimeURL}, "--runtime-role", "no_such_role_x")
	require.Equal(t, rlscheck.ExitNoCheck, code)
	require.Contains(t, stderr, "no role named no_such_role_x")

	empty := pgtest.NewEmpty(t)
	code, _, stderr = command(rlscheck.Env{DatabaseURL: empty.OwnerURL}, "--runtime-role", pgtest.RuntimeRole)
	require.Equal(t, rlscheck.ExitNoCheck, code)
	require.Contains(t, stderr, "is it migrated")
}
