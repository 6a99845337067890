package perf_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/cfaccess"
	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/perf"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/server"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// The hand-written baselines of BenchmarkHTTP (issue 14): what a Go service
// without RLS does instead. All of them run as the admin role (BYPASSRLS,
// ADMIN_DATABASE_URL) on a bare pool of dbMaxConns connections: nothing but
// their own WHERE clauses keeps tenants apart.
//
//   - baseline (/baseline): the page WHERE tenant_id = $1 and nothing else.
//     It checks no membership: any authenticated user reads any tenant.
//   - secure-2q (/secure-2q): two queries on one acquired connection, no
//     transaction: the caller's membership (user by email, tenant by id or
//     slug, active, membership row) in one statement, then the page WHERE
//     tenant_id = $1 with the id it returned.
//   - secure-join (/secure-join): one statement, the page joined with the
//     same membership check.
//
// A non-member and an unknown or suspended tenant get 404, an unknown user
// 403, from both secure baselines, as from pgtenant
// (TestHTTPSecureBaselines). They exist only in this test binary.
// The statements start from the user, so that an unknown user (no row:
// 403 unknown_user, as pgtenant) is told from a non-member (a row of
// NULLs: 404); "TENANT" becomes the id or the slug condition.
var (
	memberByIDSQL   = strings.Replace(memberSQL, "TENANT", "t.id = $2", 1)
	memberBySlugSQL = strings.Replace(memberSQL, "TENANT", "t.slug = $2", 1)
	joinByIDSQL     = strings.Replace(joinPageSQL, "TENANT", "t.id = $2", 1)
	joinBySlugSQL   = strings.Replace(joinPageSQL, "TENANT", "t.slug = $2", 1)
)

const (
	memberSQL = `SELECT t.id FROM users u
LEFT JOIN (memberships m JOIN tenants t ON t.id = m.tenant_id AND t.status = 'active' AND TENANT) ON m.user_id = u.id
WHERE u.email = $1`
	// joinPageSQL returns one row per project of the page, or a single row
	// with a NULL project for a member of an empty tenant, or a row of
	// NULLs for a non-member.
	joinPageSQL = `SELECT t.id, p.id, p.name, p.description, p.created_at, p.updated_at
FROM users u
LEFT JOIN (memberships m JOIN tenants t ON t.id = m.tenant_id AND t.status = 'active' AND TENANT) ON m.user_id = u.id
LEFT JOIN LATERAL (
    SELECT p.id, p.name, p.description, p.created_at, p.updated_at FROM projects p
    WHERE p.tenant_id = t.id ORDER BY p.created_at, p.id LIMIT $3
) p ON true
WHERE u.email = $1`
)

// The errors pgtenant answers (the same problem+json).
var (
	errNotMember   = &tenancy.Error{Code: tenancy.CodeNotFound, Message: "not found"}
	errUnknownUser = &tenancy.Error{Code: tenancy.CodeUnknownUser, Message: "this identity has no account here; ask a partner or owner to add you"}
)

// tenantKey is the :tenant parameter, lowercased, and the statement of
// the pair (byID, bySlug) that looks it up with an index; ok is false for
// a key that names no tenant (404 without a query, as pgtenant does).
func tenantKey(c echo.Context, byID, bySlug string) (key, sql string, ok bool) {
	key = strings.ToLower(c.Param("tenant"))
	if !rules.ValidTenantKey(key) {
		return "", "", false
	}
	if _, err := uuid.Parse(key); err == nil {
		return key, byID, true
	}
	return key, bySlug, true
}

// TestHTTPBaselineServer is not a test: it is the baselines' server of
// BenchmarkHTTP, run as a helper process of this test binary (skipped
// otherwise). It is pgtenant's own Echo stack (server.New: request id,
// logging, recover, limits, timeout) and the same cloudflare-mode token
// verification, plus the baseline routes (baselineRoutes).
func TestHTTPBaselineServer(t *testing.T) {
	listen := os.Getenv(baselineEnv)
	if listen == "" {
		t.Skip("helper process of BenchmarkHTTP")
	}
	srv := newBaselineServer(t, os.Getenv("DATABASE_URL"), os.Getenv("ADMIN_DATABASE_URL"), cfaccess.Config{
		TeamDomain: os.Getenv("CF_ACCESS_TEAM_DOMAIN"),
		Audiences:  []string{os.Getenv("CF_ACCESS_AUD")},
		CertsURL:   os.Getenv("CF_ACCESS_CERTS_URL"),
	})
	hs := &http.Server{Addr: listen, Handler: srv, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // the parent closes stdin to stop us
		_ = hs.Close()
	}()
	time.AfterFunc(2*time.Hour, func() { _ = hs.Close() }) // bounded, whatever happens
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
}

// newBaselineServer is server.New over a real tenant scope (so pgtenant's
// own routes are there too, for comparison) with the baseline routes added;
// everything it opens closes when tb ends.
func newBaselineServer(tb testing.TB, runtimeURL, adminURL string, cf cfaccess.Config) *server.Server {
	tb.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cf.AllowInsecureLoopback, cf.Logger = true, log
	v, err := cfaccess.New(ctx, cf)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	authn := auth.Cloudflare(v, auth.CloudflareOptions{})
	scope, err := txscope.Open(ctx, txscope.Config{DatabaseURL: runtimeURL, AdminDatabaseURL: adminURL, MaxConns: dbMaxConns, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(scope.Close)
	pc, err := pgxpool.ParseConfig(adminURL)
	if err != nil {
		tb.Fatal(err)
	}
	pc.MaxConns = dbMaxConns
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	svc, err := tenancy.New(tenancy.Config{Scope: scope, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := server.New(server.Config{Service: svc, Auth: authn, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	authMW := httpx.AuthWithConfig(httpx.AuthConfig{Authenticator: authn})
	e := srv.Echo()
	e.GET("/baseline/v1/tenants/:tenant/projects", baselineHandler(pool), authMW)
	e.GET("/secure-2q/v1/tenants/:tenant/projects", secureTwoQueryHandler(pool), authMW)
	e.GET("/secure-join/v1/tenants/:tenant/projects", secureJoinHandler(pool), authMW)
	return srv
}

// pageLimit reads ?limit= with pgtenant's own rule (tenancy.ParseLimit).
func pageLimit(c echo.Context) (int, error) {
	limit, err := tenancy.ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return 0, echo.NewHTTPError(http.StatusBadRequest)
	}
	return limit, nil
}

// writePage answers like listProjects: ps holds up to limit+1 rows, the
// last one only telling that a next page exists; the same JSON shape (the
// next cursor is the baseline's own, hand-written encoding).
func writePage(c echo.Context, ps []dbgen.Project, limit int) error {
	page := tenancy.Page[tenancy.Project]{Items: make([]tenancy.Project, 0, limit)}
	for i, p := range ps {
		if i == limit {
			next := strconv.FormatInt(p.CreatedAt.UnixMicro(), 36) + "." + p.ID.String()
			page.NextCursor = &next
			break
		}
		page.Items = append(page.Items, tenancy.Project{ID: p.ID, Name: p.Name, Description: p.Description, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt})
	}
	return c.JSON(http.StatusOK, page)
}

// baselineHandler: the page WHERE tenant_id = $1, no membership check.
func baselineHandler(pool *pgxpool.Pool) echo.HandlerFunc {
	return func(c echo.Context) error {
		tid, err := uuid.Parse(c.Param("tenant"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		limit, err := pageLimit(c)
		if err != nil {
			return err
		}
		return queryPage(c, pool, tid, limit)
	}
}

// queryPage reads the page WHERE tenant_id = tid on q and answers it.
func queryPage(c echo.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, tid uuid.UUID, limit int) error {
	rows, err := q.Query(c.Request().Context(), floorReadSQL, tid, limit+1)
	if err != nil {
		return err
	}
	ps, err := scanProjects(rows)
	if err != nil {
		return err
	}
	return writePage(c, ps, limit)
}

// secureParams are a secure baseline's inputs: the caller's email, the
// tenant key with the statement of (byID, bySlug) for it, and the limit.
func secureParams(c echo.Context, byID, bySlug string) (email, key, query string, limit int, err error) {
	key, query, ok := tenantKey(c, byID, bySlug)
	if !ok {
		return "", "", "", 0, echo.NewHTTPError(http.StatusNotFound)
	}
	if limit, err = pageLimit(c); err != nil {
		return "", "", "", 0, err
	}
	id, _ := httpx.IdentityOf(c)
	return id.Email, key, query, limit, nil
}

// secureTwoQueryHandler: the membership lookup, then the page with the
// tenant id it returned, both on one acquired connection.
func secureTwoQueryHandler(pool *pgxpool.Pool) echo.HandlerFunc {
	return func(c echo.Context) error {
		email, key, lookup, limit, err := secureParams(c, memberByIDSQL, memberBySlugSQL)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		var tid *uuid.UUID
		if err := conn.QueryRow(ctx, lookup, email, key).Scan(&tid); errors.Is(err, pgx.ErrNoRows) {
			return errUnknownUser
		} else if err != nil {
			return err
		}
		if tid == nil { // not a member, or no such (active) tenant
			return errNotMember
		}
		return queryPage(c, conn, *tid, limit)
	}
}

// secureJoinHandler: the page and the membership check in one statement.
func secureJoinHandler(pool *pgxpool.Pool) echo.HandlerFunc {
	return func(c echo.Context) error {
		email, key, query, limit, err := secureParams(c, joinByIDSQL, joinBySlugSQL)
		if err != nil {
			return err
		}
		rows, err := pool.Query(c.Request().Context(), query, email, key, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		user, member := false, false
		ps := make([]dbgen.Project, 0, limit+1)
		for rows.Next() {
			user = true
			var tid, pid *uuid.UUID
			var name, desc *string
			var created, updated *time.Time
			if err := rows.Scan(&tid, &pid, &name, &desc, &created, &updated); err != nil {
				return err
			}
			member = tid != nil
			if pid == nil { // not a member, or a member of an empty tenant
				continue
			}
			ps = append(ps, dbgen.Project{TenantID: *tid, ID: *pid, Name: *name, Description: *desc, CreatedAt: *created, UpdatedAt: *updated})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !user {
			return errUnknownUser
		}
		if !member {
			return errNotMember
		}
		return writePage(c, ps, limit)
	}
}

// TestHTTPSecureBaselines: the secure baselines answer exactly as pgtenant
// does, same status and same rows, for a member (by tenant id and by
// slug), a member of an empty tenant, and 404 with no rows for a member of
// another tenant, an unknown tenant and a suspended tenant, 403 with no
// rows for an unknown user; the unscoped baseline, which checks nothing, serves the other
// tenant's page (it is the anchor, not a secure server).
func TestHTTPSecureBaselines(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	d, err := perf.NewDataset(perf.Spec{Tenants: 3, Projects: 90, Members: 6, Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	load(t, db, d)
	super := pgtest.Conn(t, db.SuperURL)
	emptyID := uuid.New()
	mustExec(t, super, "INSERT INTO tenants (id, slug, name) VALUES ('"+emptyID.String()+"', 'empty-co', 'Empty')")
	mustExec(t, super, "INSERT INTO memberships (tenant_id, user_id, role) VALUES ('"+emptyID.String()+"', '"+d.MemberUserID(0, 0).String()+"', 'partner')")
	mustExec(t, super, "UPDATE tenants SET status = 'suspended' WHERE id = '"+d.TenantID(2).String()+"'")

	iss := cfaccesstest.NewIssuer(t)
	srv := newBaselineServer(t, db.RuntimeURL, db.AdminURL, cfaccess.Config{TeamDomain: iss.URL(), Audiences: []string{iss.Audience()}, CertsURL: iss.CertsURL()})
	hs := httptest.NewServer(srv)
	defer hs.Close()

	get := func(prefix, email, tenant string) (int, []string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+prefix+"/v1/tenants/"+tenant+"/projects?limit=20", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(auth.HeaderAssertion, iss.UserToken(email))
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct {
			Items []struct{ ID string } `json:"items"`
		}
		body, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(body, &page)
		ids := []string{}
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		return resp.StatusCode, ids
	}

	member := d.MemberEmail(0, 0)
	want0 := []string{}
	for j := int64(0); j < min(d.TenantProjects(0), pageSize); j++ {
		want0 = append(want0, d.ProjectID(0, j).String())
	}
	for _, tc := range []struct {
		name, email, tenant string
		status              int
		ids                 []string
	}{
		{"member by id", member, d.TenantID(0).String(), http.StatusOK, want0},
		{"member by slug", member, d.TenantSlug(0), http.StatusOK, want0},
		{"member of an empty tenant", member, emptyID.String(), http.StatusOK, []string{}},
		{"member of another tenant", member, d.TenantID(1).String(), http.StatusNotFound, []string{}},
		{"member of another tenant by slug", member, d.TenantSlug(1), http.StatusNotFound, []string{}},
		{"unknown user", "nobody@else.example", d.TenantID(0).String(), http.StatusForbidden, []string{}},
		{"unknown tenant", member, uuid.NewString(), http.StatusNotFound, []string{}},
		{"suspended tenant", d.MemberEmail(2, 0), d.TenantID(2).String(), http.StatusNotFound, []string{}},
	} {
		for _, prefix := range []string{"", "/secure-2q", "/secure-join"} {
			status, ids := get(prefix, tc.email, tc.tenant)
			if status != tc.status || !slices.Equal(ids, tc.ids) {
				t.Errorf("%s, %q: status %d, items %v; want %d, %v", tc.name, prefix, status, ids, tc.status, tc.ids)
			}
		}
	}
	// The unscoped baseline checks nothing: another tenant's page.
	if status, ids := get("/baseline", member, d.TenantID(1).String()); status != http.StatusOK || len(ids) == 0 || ids[0] != d.ProjectID(1, 0).String() {
		t.Errorf("baseline, another tenant: status %d, items %v; want tenant 1's page", status, ids)
	}
}
