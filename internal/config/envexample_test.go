package config

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readEnvExample returns the NAME=value lines of the repository's
// .env.example (commented-out ones too, in commented).
func readEnvExample(t *testing.T) (vars map[string]string, commented []string) {
	t.Helper()
	f, err := os.Open("../../.env.example")
	require.NoError(t, err)
	defer f.Close()
	line := regexp.MustCompile(`^(# )?([A-Z][A-Z0-9_]*)=(.*)$`)
	vars = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		switch {
		case m == nil:
		case m[1] != "":
			commented = append(commented, m[2])
		default:
			_, dup := vars[m[2]]
			require.False(t, dup, "%s twice in .env.example", m[2])
			vars[m[2]] = m[3]
		}
	}
	require.NoError(t, sc.Err())
	return vars, commented
}

// TestEnvExampleListsEveryVariable: every variable Load reads is in
// .env.example, and what the file sets validates as it is, for serve in
// its AUTH_MODE (Cloudflare against the local emulator) included. Before,
// the file set AUTH_MODE=cloudflare without any CF_ACCESS_* variable, so
// loading it and running serve failed.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	t.Parallel()
	vars, commented := readEnvExample(t)
	var read []string
	c, err := Load(func(name string) string {
		read = append(read, name)
		return vars[name]
	})
	require.NoError(t, err, "the example validates")
	for _, name := range read {
		require.Contains(t, vars, name, "%s is read by config.Load but not listed in .env.example", name)
	}
	for name := range vars {
		require.True(t, slices.Contains(read, name), "%s is in .env.example but nothing reads it", name)
	}
	require.EqualValues(t, "cloudflare", c.AuthMode)
	require.NoError(t, c.Require("DATABASE_URL", "ADMIN_DATABASE_URL", "MIGRATE_DATABASE_URL", "CF_ACCESS_TEAM_DOMAIN", "CF_ACCESS_AUD"))
	require.True(t, c.CFInsecureLoopback, "an http:// loopback team domain needs CF_ACCESS_INSECURE_LOOPBACK=1")
	require.True(t, strings.HasPrefix(c.CFTeamDomain, "http://127.0.0.1:"), "the local Access emulator")
	for _, name := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER"} {
		require.Contains(t, commented, name, "the tracing variables are documented, commented out (tracing is off by default)")
	}
}
