package pgtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSkipSuiteLogsForMakeTest: a skipped suite leaves one line in the file
// `make test` lists at the end, naming what is missing and how to get it.
func TestSkipSuiteLogsForMakeTest(t *testing.T) {
	log := filepath.Join(t.TempDir(), "skips")
	t.Setenv(SkipLogEnv, log)
	t.Setenv("PGTENANT_REQUIRE_TEST_TOOL", "")
	var skipped bool
	t.Run("suite", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		SkipSuite(t, "widget tests", "no widget on PATH", "apt-get install widget", "PGTENANT_REQUIRE_TEST_TOOL")
	})
	require.True(t, skipped)
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	require.Equal(t, "widget tests: no widget on PATH | to run it: apt-get install widget (PGTENANT_REQUIRE_TEST_TOOL=1 turns this skip into a failure)\n", string(b))
}
