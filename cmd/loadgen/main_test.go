package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunWritesAPsqlScript(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	require.NoError(t, run([]string{"-tenants", "3", "-projects", "30", "-tasks", "10", "-comments", "5"}, &out, &errOut))
	s := out.String()
	require.True(t, strings.HasPrefix(s, "-- pgtenant generated dataset: 3 tenants, 30 projects, 10 tasks"))
	require.Equal(t, 6, strings.Count(s, "\n\\.\n"), "one COPY block per table")
	require.Contains(t, s, "COPY task_comments (tenant_id, id, task_id, author_id, body, created_at) FROM STDIN;\n")
	require.Contains(t, s, "COMMIT;\nANALYZE")
	require.NotContains(t, s, "TRUNCATE")

	require.Error(t, run([]string{"-tenants", "0"}, &out, &errOut))
	require.Error(t, run([]string{"extra"}, &out, &errOut))
}
