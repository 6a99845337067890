package dashboard_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/dashboard"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	alice = pgtest.AliceEmail // partner of A
	bob   = pgtest.BobEmail   // partner of B
	vera  = pgtest.VeraEmail  // client viewer of A
	olga  = pgtest.OlgaEmail  // Owner
)

// fixture is the two-tenant World served by the dashboard alone.
type fixture = kit.App

func setup(t *testing.T, mods ...func(*kit.AppConfig)) *fixture {
	t.Helper()
	cfg := kit.AppConfig{Mount: func(e *echo.Echo, svc *tenancy.Service, a auth.Authenticator, log *slog.Logger) error {
		return dashboard.Mount(e, dashboard.Config{Service: svc, Auth: a, Logger: log})
	}}
	for _, m := range mods {
		m(&cfg)
	}
	return kit.NewApp(t, cfg)
}
