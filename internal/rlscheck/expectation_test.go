package rlscheck_test

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/rlscheck"
)

var update = flag.Bool("update", false, "rewrite expectation.json from a freshly migrated database")

// TestExpectationMatchesEmbeddedSQL keeps expectation.json (what the drift
// rules compare databases with) equal to what the embedded db/schema and
// db/policies produce: pgtest's template is migrated from them by this
// build. After changing db/, run
//
//	go test ./internal/rlscheck -run TestExpectationMatchesEmbeddedSQL -update
//
// and review the diff of expectation.json like any change to the policies.
func TestExpectationMatchesEmbeddedSQL(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	conn := pgtest.Conn(t, d.OwnerURL)
	got, err := rlscheck.Snapshot(context.Background(), conn, []string{rlscheck.RuntimeGroup})
	require.NoError(t, err)
	b, err := got.MarshalIndent()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile("expectation.json", b, 0o644))
	}
	want, err := os.ReadFile("expectation.json")
	require.NoError(t, err)
	require.Equal(t, string(want), string(b),
		"expectation.json differs from what the embedded SQL produces: review, then go test ./internal/rlscheck -run TestExpectationMatchesEmbeddedSQL -update")

	// What the binary embeds is that file, and it reads back.
	committed, err := rlscheck.Committed()
	require.NoError(t, err)
	if !*update {
		require.Equal(t, got, committed)
	}
}
