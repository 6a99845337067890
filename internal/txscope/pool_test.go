package txscope

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMaxConnsRespectsTheURL: DB_MAX_CONNS (Config.MaxConns) overrides a
// URL's pool_max_conns only when set; unset, the URL's value stands, and
// without either a pool gets 10 (issue 9: it used to force 10 over the URL).
func TestMaxConnsRespectsTheURL(t *testing.T) {
	t.Parallel()
	const base = "postgres://u:p@127.0.0.1:1/db?sslmode=disable"
	for _, c := range []struct {
		url  string
		max  int32
		want int32
	}{
		{base + "&pool_max_conns=3", 0, 3},
		{base + "&pool_max_conns=3", 5, 5},
		{base, 0, 10},
		{"host=127.0.0.1 port=1 user=u dbname=db pool_max_conns=7", 0, 7},
	} {
		s, err := Open(context.Background(), Config{DatabaseURL: c.url, AdminDatabaseURL: c.url, MaxConns: c.max})
		require.NoError(t, err) // pools connect lazily
		require.Equal(t, c.want, s.pool.Config().MaxConns, c.url)
		require.Equal(t, c.want, s.admin.Config().MaxConns, c.url)
		s.Close()
	}
}
