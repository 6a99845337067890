// Package pgtest gives each test a real, migrated PostgreSQL database and
// the login roles pgtenant runs as in production, so tests connect as the
// runtime role (not a superuser, not the table owner).
//
// Where the server comes from, in order (PGTEST_BACKEND=url|local|docker
// forces one):
//  1. TEST_DATABASE_URL: an existing server, as a role that may create roles
//     and databases;
//  2. a throwaway cluster started from the local PostgreSQL binaries
//     (internal/pglocal; run as the postgres user when the tests run as root);
//  3. a testcontainers-go container, when a Docker engine answers within a
//     few seconds.
//
// When none is available the tests skip with a message saying so, unless
// PGTENANT_REQUIRE_DB=1 (CI sets it), which turns that into a failure.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and pgtest.New(t) in each test for a fresh database cloned from a migrated
// template.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgtenant/pgtenant/internal/migrations"
	"github.com/pgtenant/pgtenant/internal/pglocal"
)

// Login roles created in the test server. The passwords are constants: the
// servers are throwaway (or the developer's own TEST_DATABASE_URL server),
// and many test binaries share the roles concurrently.
const (
	OwnerRole   = "pgtenant_test_owner" // owns the schema, runs migrations
	RuntimeRole = "pgtenant_test_api"   // LOGIN IN ROLE pgtenant_app
	AdminRole   = "pgtenant_test_ops"   // LOGIN BYPASSRLS IN ROLE pgtenant_admin
	password    = "pgtenant-test-only"
)

var (
	server     *serverInfo
	skipReason string
	template   string
	counter    atomic.Int64
	setupMu    sync.Mutex
)

type serverInfo struct {
	super   string // superuser URL (any database name; replaced per use)
	host    string
	port    int
	version int
	stop    func()
	// bouncer is the runtime role's URL through pgbouncer (any database
	// name; replaced per use), "" without PGTEST_PGBOUNCER=1.
	bouncer string
}

// Main starts the server, runs the tests and stops the server. It returns
// the exit code for os.Exit.
func Main(m *testing.M) int {
	ctx := context.Background()
	if err := start(ctx); err != nil {
		if os.Getenv("PGTENANT_REQUIRE_DB") == "1" {
			fmt.Fprintf(os.Stderr, "pgtest: PGTENANT_REQUIRE_DB=1 and no PostgreSQL: %v\n", err)
			return 1
		}
		skipReason = "no PostgreSQL (" + err.Error() + ")"
	}
	if server != nil && os.Getenv(PgbouncerEnv) == "1" {
		stop, err := startPgbouncer(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %s=1: %v\n", PgbouncerEnv, err)
			server.stop()
			return 1
		}
		defer stop()
	}
	code := m.Run()
	if server != nil {
		if template != "" {
			dropDatabase(ctx, template)
		}
		server.stop()
	}
	return code
}

func start(ctx context.Context) error {
	backend := os.Getenv("PGTEST_BACKEND")
	var errs []error
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" && (backend == "" || backend == "url") {
		s, err := fromURL(ctx, u)
		if err == nil {
			server = s
			return bootstrap(ctx)
		}
		errs = append(errs, fmt.Errorf("TEST_DATABASE_URL: %w", err))
	}
	if backend == "" || backend == "local" {
		s, err := startLocal(ctx)
		if err == nil {
			server = s
			return bootstrap(ctx)
		}
		errs = append(errs, fmt.Errorf("local binaries: %w", err))
	}
	if backend == "" || backend == "docker" {
		s, err := startDocker(ctx)
		if err == nil {
			server = s
			return bootstrap(ctx)
		}
		errs = append(errs, fmt.Errorf("docker: %w", err))
	}
	return errors.Join(errs...)
}

func fromURL(ctx context.Context, raw string) (*serverInfo, error) {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, errors.New("cannot parse")
	}
	s := &serverInfo{super: raw, host: cfg.Host, port: int(cfg.Port), stop: func() {}}
	return s, s.readVersion(ctx)
}

func startLocal(ctx context.Context) (*serverInfo, error) {
	c, err := pglocal.NewTemp("pgtest-")
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(c.DataDir)
	// Durability is irrelevant for a throwaway cluster; speed is not.
	c.Settings = map[string]string{
		"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
		"max_connections": "200", "shared_buffers": "128MB",
	}
	// PGTEST_SETTINGS adds server settings (name=value, comma-separated;
	// make bench-profile preloads pg_stat_statements with it).
	for _, kv := range strings.Split(os.Getenv("PGTEST_SETTINGS"), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k != "" {
			c.Settings[k] = v
		}
	}
	if err := c.Init(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &serverInfo{super: c.SuperuserURL("postgres"), host: "127.0.0.1", port: c.Port}
	s.stop = func() {
		_ = c.Stop(context.Background())
		os.RemoveAll(dir)
	}
	if err := s.readVersion(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *serverInfo) readVersion(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.super)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&s.version)
}

// withDB returns the URL u pointing at database db, as user/pass when set.
func withDB(u, db, user, pass string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	p.Path = "/" + db
	if user != "" {
		p.User = url.UserPassword(user, pass)
	}
	return p.String()
}

// bootstrap creates the group and login roles (cluster-wide, idempotent,
// safe against other test binaries doing the same) and the migrated template.
func bootstrap(ctx context.Context) error {
	roles := pglocal.Roles{
		Owner: OwnerRole, OwnerPassword: password,
		Runtime: RuntimeRole, RuntimePassword: password,
		Admin: AdminRole, AdminPassword: password,
	}
	if err := pglocal.Bootstrap(ctx, server.super, roles, ""); err != nil {
		return fmt.Errorf("bootstrap roles: %w", err)
	}
	conn, err := pgx.Connect(ctx, server.super)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	template = fmt.Sprintf("pgtenant_tpl_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+template+" OWNER "+OwnerRole); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	r, err := migrations.New(withDB(server.super, template, OwnerRole, password))
	if err != nil {
		return err
	}
	if _, err := r.Up(ctx); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	return nil
}

func dropDatabase(ctx context.Context, name string) {
	conn, err := pgx.Connect(ctx, server.super)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

// DB is one test's database.
type DB struct {
	Name string
	// OwnerURL connects as the schema owner (migrations).
	OwnerURL string
	// RuntimeURL connects as the runtime role: what the server's DATABASE_URL is.
	// With PGTEST_PGBOUNCER=1 it goes through pgbouncer in transaction mode.
	RuntimeURL string
	// AdminURL connects as the BYPASSRLS admin role (ADMIN_DATABASE_URL).
	AdminURL string
	// SuperURL connects as a superuser, for fixtures and fault injection
	// only; never hand it to the code under test.
	SuperURL string
}

// Available reports whether a server was found (tests that can run without
// one, like pure parsing tests, need not call it).
func Available() bool { return server != nil }

// New returns a fresh database cloned from the migrated template, dropped
// when the test ends. It skips (or fails, with PGTENANT_REQUIRE_DB=1) the
// test when no server is available.
func New(t testing.TB) *DB {
	t.Helper()
	if server == nil {
		if skipReason == "" {
			t.Fatal("pgtest: call pgtest.Main from TestMain")
		}
		SkipSuite(t, "integration tests (real PostgreSQL)", skipReason,
			"install PostgreSQL server binaries (Debian: postgresql-15), set TEST_DATABASE_URL, or run a Docker engine", "PGTENANT_REQUIRE_DB")
	}
	name := fmt.Sprintf("pgtenant_t_%d_%d", os.Getpid(), counter.Add(1))
	return newDatabase(t, name, template)
}

// NewEmpty returns a fresh database with no migrations applied, owned by the
// owner role, for tests of the migrations themselves.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	New(t) // skips or fails the same way; also proves the server works
	name := fmt.Sprintf("pgtenant_e_%d_%d", os.Getpid(), counter.Add(1))
	return newDatabase(t, name, "template0")
}

func newDatabase(t testing.TB, name, tpl string) *DB {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server.super)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	sql := "CREATE DATABASE " + name + " TEMPLATE " + tpl + " OWNER " + OwnerRole
	if server.version >= 15 {
		sql += " STRATEGY FILE_COPY"
	}
	// Two clones of one template at the same instant collide on the
	// template's lock ("source database is being accessed"); retry briefly.
	for attempt := 0; ; attempt++ {
		setupMu.Lock()
		_, err = conn.Exec(ctx, sql)
		setupMu.Unlock()
		if err == nil || attempt == 20 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() { dropDatabase(context.Background(), name) })
	// A clone gets the default database ACL back (PUBLIC may create TEMP
	// tables); the migrations revoked that on the template
	// (db/policies/00_grants.sql), so do it again here.
	if _, err := conn.Exec(ctx, "REVOKE TEMPORARY ON DATABASE "+name+" FROM PUBLIC"); err != nil {
		t.Fatalf("pgtest: revoke temp: %v", err)
	}
	runtimeURL := withDB(server.super, name, RuntimeRole, password)
	if server.bouncer != "" {
		runtimeURL = withDB(server.bouncer, name, RuntimeRole, password)
	}
	return &DB{
		Name:       name,
		OwnerURL:   withDB(server.super, name, OwnerRole, password),
		RuntimeURL: runtimeURL,
		AdminURL:   withDB(server.super, name, AdminRole, password),
		SuperURL:   withDB(server.super, name, "", ""),
	}
}

// Conn opens a connection to url, closed when the test ends.
func Conn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
