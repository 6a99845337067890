package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/config"
)

// TestMigrateUsageErrors: every subcommand refuses malformed operands as a
// usage error (exit 2) before touching the database; the URL points at a
// closed port, so reaching the database would fail differently.
func TestMigrateUsageErrors(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{MigrateDatabaseURL: "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "usage: server migrate up | down N"},
		{[]string{"sideways"}, `unknown migrate command "sideways"`},
		{[]string{"up", "1"}, "usage: server migrate up"},
		{[]string{"down"}, "usage: server migrate down N"},
		{[]string{"down", "1", "2"}, "usage: server migrate down N"},
		{[]string{"down", "x"}, `migrate down: "x" is not a non-negative number`},
		{[]string{"down", "0"}, "migrate down: N must be at least 1"},
		{[]string{"force"}, "usage: server migrate force N"},
		{[]string{"force", "-1"}, `migrate force: "-1" is not a non-negative number`},
	} {
		var out bytes.Buffer
		err := migrateCmd(context.Background(), cfg, tc.args, &out)
		var ue usageError
		require.True(t, errors.As(err, &ue), "%v: %v", tc.args, err)
		require.Contains(t, err.Error(), tc.msg, tc.args)
		require.Empty(t, out.String(), tc.args)
	}

	err := migrateCmd(context.Background(), &config.Config{}, []string{"up"}, &bytes.Buffer{})
	require.ErrorContains(t, err, "MIGRATE_DATABASE_URL is required")
	err = migrateCmd(context.Background(), &config.Config{MigrateDatabaseURL: "mysql://x"}, []string{"up"}, &bytes.Buffer{})
	require.ErrorContains(t, err, "must be a postgres:// URL")
}
