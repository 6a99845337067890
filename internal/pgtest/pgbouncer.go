package pgtest

import (
	"context"
	"net"
	"net/url"
	"os"
	"strconv"
	"testing"

	"github.com/pgtenant/pgtenant/internal/pglocal"
)

// PGTEST_PGBOUNCER=1 puts pgbouncer (transaction pooling) in front of the
// test server for the runtime role: every DB.RuntimeURL goes through it,
// with the pgx execution mode that works there. The owner, admin and
// superuser URLs stay direct (migrations hold session locks; the admin
// scope is not what this run is about). `make test-pgbouncer` runs the
// txscope and api packages this way (docs/scaling.md).
const (
	PgbouncerEnv = "PGTEST_PGBOUNCER"
	// PgbouncerModeEnv chooses pgx's default_query_exec_mode through
	// pgbouncer (default exec): cache_statement, the pgx default, fails
	// behind pgbouncer 1.18, which does not track prepared statements.
	PgbouncerModeEnv = "PGTEST_PGBOUNCER_MODE"
	// PgbouncerResetEnv=0 turns server_reset_query_always off, to see what
	// the guard does without it.
	PgbouncerResetEnv = "PGTEST_PGBOUNCER_RESET"
)

// ThroughPgbouncer reports whether DB.RuntimeURL goes through pgbouncer.
func ThroughPgbouncer() bool { return server != nil && server.bouncer != "" }

// SkipThroughPgbouncer skips a test that is about pgx's own pool (which
// connection a request gets, its backend pid) rather than about what a
// client of the runtime role sees: through pgbouncer the client connection
// and the server backend are different things.
func SkipThroughPgbouncer(t testing.TB, why string) {
	t.Helper()
	if ThroughPgbouncer() {
		t.Skip("through pgbouncer: " + why)
	}
}

func startPgbouncer(ctx context.Context) (stop func(), err error) {
	b, err := pglocal.StartPgbouncer(ctx, pglocal.PgbouncerConfig{
		Host:        server.host,
		Port:        server.port,
		Users:       map[string]string{RuntimeRole: password},
		ResetAlways: os.Getenv(PgbouncerResetEnv) != "0",
	})
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(server.super)
	if err != nil {
		b.Stop()
		return nil, err
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port))
	q := u.Query()
	mode := os.Getenv(PgbouncerModeEnv)
	if mode == "" {
		mode = "exec"
	}
	q.Set("default_query_exec_mode", mode)
	u.RawQuery = q.Encode()
	server.bouncer = u.String()
	return b.Stop, nil
}
