package api_test

import (
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/api"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// admin sends an admin API request with a reason header (reason "" sends
// none).
func admin(t *testing.T, f *fixture, email, reason, method, path string, body any) kit.Response {
	t.Helper()
	if body == nil {
		body = "" // no body, no content type
	}
	req := kit.Request(t, email, method, path, body)
	if body == "" {
		req.Header.Del("Content-Type")
	}
	if reason != "" {
		req.Header.Set(api.HeaderAuditReason, reason)
	}
	return kit.Serve(f.Handler, req)
}

type adminRoute struct{ method, path string }

func adminRoutes(f *fixture) []adminRoute {
	return []adminRoute{
		{"GET", "/v1/admin/tenants"},
		{"POST", "/v1/admin/tenants"},
		{"POST", "/v1/admin/tenants/" + f.TenantB.String() + "/suspend"},
		{"POST", "/v1/admin/tenants/" + f.TenantB.String() + "/resume"},
		{"GET", "/v1/admin/audit"},
	}
}

func TestAdminReasonRequiredBeforeAnyQuery(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, r := range adminRoutes(f) {
		for _, reason := range []string{"", "   "} {
			before := f.Queries.Load()
			resp := admin(t, f, olga, reason, r.method, r.path, map[string]any{"slug": "x", "name": "x"})
			require.Equal(t, 400, resp.Status, "%s %s %q", r.method, r.path, reason)
			require.Equal(t, tenancy.CodeReasonRequired, resp.Problem(t).Code)
			require.Equal(t, before, f.Queries.Load(), "no query ran")
		}
	}
}

func TestAdminRoutesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	logs := &kit.SyncBuffer{}
	f := setup(t, withLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	for _, who := range []string{alice, vera, bob} {
		for _, r := range adminRoutes(f) {
			resp := admin(t, f, who, "curious", r.method, r.path, map[string]any{"slug": "x", "name": "x"})
			require.Equal(t, 403, resp.Status, "%s %s %s", who, r.method, r.path)
			require.Equal(t, tenancy.CodeOwnerOnly, resp.Problem(t).Code)
		}
	}
	require.Contains(t, logs.String(), "admin access refused")
	require.Contains(t, logs.String(), f.Vera.String(), "the refusal names the user by id")
	require.NotContains(t, logs.String(), vera, "no email in the log")
	// Nothing happened: B is active, no tenant "x", and no admin action
	// reached the audit log.
	conn := super(t, f)
	var status string
	var n int
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT status FROM tenants WHERE id = $1", f.TenantB).Scan(&status))
	require.Equal(t, "active", status)
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM tenants WHERE slug = 'x'").Scan(&n))
	require.Zero(t, n)
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM audit_log").Scan(&n))
	require.Zero(t, n)
}

func TestAdminTenantsAndAudit(t *testing.T) {
	t.Parallel()
	f := setup(t)
	start := time.Now().Add(-time.Second).UTC()

	// List every tenant with counts.
	r := admin(t, f, olga, "weekly review", "GET", "/v1/admin/tenants", nil)
	require.Equal(t, 200, r.Status, string(r.Body))
	var page tenancy.Page[tenancy.Tenant]
	r.JSON(t, &page)
	require.Len(t, page.Items, 2)
	require.Equal(t, "tenant-a", page.Items[0].Slug)
	require.Equal(t, tenancy.Tenant{ID: f.TenantA, Slug: "tenant-a", Name: "tenant-a", Status: "active",
		CreatedAt: page.Items[0].CreatedAt, UpdatedAt: page.Items[0].UpdatedAt, Members: 2, Projects: 1, Tasks: 1}, page.Items[0])

	// Create: 201, then 409 on the same slug, 422 on a bad one.
	r = admin(t, f, olga, "new customer", "POST", "/v1/admin/tenants", map[string]any{"slug": "globex", "name": "Globex"})
	require.Equal(t, 201, r.Status, string(r.Body))
	var created tenancy.Tenant
	r.JSON(t, &created)
	r = admin(t, f, olga, "new customer", "POST", "/v1/admin/tenants", map[string]any{"slug": "globex", "name": "Globex 2"})
	require.Equal(t, 409, r.Status)
	r = admin(t, f, olga, "new customer", "POST", "/v1/admin/tenants", map[string]any{"slug": "Not A Slug", "name": "x"})
	require.Equal(t, 422, r.Status)

	// Pagination by slug.
	r = admin(t, f, olga, "weekly review", "GET", "/v1/admin/tenants?limit=2", nil)
	r.JSON(t, &page)
	require.Len(t, page.Items, 2)
	require.NotNil(t, page.NextCursor)
	r = admin(t, f, olga, "weekly review", "GET", "/v1/admin/tenants?limit=2&cursor="+*page.NextCursor, nil)
	r.JSON(t, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, "tenant-b", page.Items[0].Slug)
	require.Nil(t, page.NextCursor)

	// Suspend B: its members get 404 on every tenant route; resume restores.
	r = admin(t, f, olga, "unpaid invoice INV-7", "POST", "/v1/admin/tenants/"+f.TenantB.String()+"/suspend", nil)
	require.Equal(t, 200, r.Status, string(r.Body))
	for _, e := range tenantEndpoints {
		path := e.pathIn(f, false)
		resp := f.Do(t, bob, e.method, path, e.body)
		require.Equal(t, 404, resp.Status, "suspended: %s %s", e.method, path)
	}
	r = f.Do(t, olga, "GET", "/v1/tenants/tenant-b/projects", nil)
	require.Equal(t, 404, r.Status, "not even an Owner through the tenant scope")
	r = f.Do(t, alice, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.Status, "other tenants unaffected")
	r = admin(t, f, olga, "paid", "POST", "/v1/admin/tenants/"+f.TenantB.String()+"/resume", nil)
	require.Equal(t, 200, r.Status)
	r = f.Do(t, bob, "GET", "/v1/tenants/tenant-b/projects", nil)
	require.Equal(t, 200, r.Status, "resumed")
	r = admin(t, f, olga, "typo", "POST", "/v1/admin/tenants/"+uuid.NewString()+"/suspend", nil)
	require.Equal(t, 404, r.Status)

	// The audit log has one row per admin action, with the reason.
	r = admin(t, f, olga, "audit review", "GET", "/v1/admin/audit?limit=100", nil)
	require.Equal(t, 200, r.Status, string(r.Body))
	var audit tenancy.Page[tenancy.AuditEntry]
	r.JSON(t, &audit)
	actions := []string{}
	for _, e := range audit.Items {
		actions = append(actions, e.Action+":"+e.Reason)
		require.Equal(t, olga, e.ActorEmail)
		require.Equal(t, "owner", e.ActorRole)
		require.NotEmpty(t, e.RequestID)
	}
	require.Equal(t, []string{
		"tenant.resume:paid", "tenant.suspend:unpaid invoice INV-7", "tenant.list:weekly review", "tenant.list:weekly review",
		"tenant.create:new customer", "tenant.list:weekly review",
	}, actions, "newest first; failed actions (409, 404) left no row")
	require.Equal(t, []uuid.UUID{f.TenantB}, audit.Items[1].TenantIDs)

	// Filters: tenant, actor, time range, pagination.
	q := url.Values{"tenant": {f.TenantB.String()}}
	r = admin(t, f, olga, "audit review", "GET", "/v1/admin/audit?"+q.Encode(), nil)
	r.JSON(t, &audit)
	require.NotEmpty(t, audit.Items)
	for _, e := range audit.Items {
		require.Contains(t, e.TenantIDs, f.TenantB)
	}
	r = admin(t, f, olga, "audit review", "GET", "/v1/admin/audit?actor=nobody@x.example", nil)
	r.JSON(t, &audit)
	require.Empty(t, audit.Items)
	q = url.Values{"since": {start.Format(time.RFC3339)}, "until": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}, "limit": {"2"}}
	r = admin(t, f, olga, "audit review", "GET", "/v1/admin/audit?"+q.Encode(), nil)
	r.JSON(t, &audit)
	require.Len(t, audit.Items, 2)
	require.NotNil(t, audit.NextCursor)
	q.Set("cursor", *audit.NextCursor)
	r = admin(t, f, olga, "audit review", "GET", "/v1/admin/audit?"+q.Encode(), nil)
	var older tenancy.Page[tenancy.AuditEntry]
	r.JSON(t, &older)
	require.Len(t, older.Items, 2)
	require.Less(t, older.Items[0].ID, audit.Items[1].ID)
	q = url.Values{"until": {start.Format(time.RFC3339)}}
	r = admin(t, f, olga, "audit review", "GET", "/v1/admin/audit?"+q.Encode(), nil)
	r.JSON(t, &audit)
	require.Empty(t, audit.Items)
	r = admin(t, f, olga, "audit review", "GET", "/v1/admin/audit?since=yesterday", nil)
	require.Equal(t, 400, r.Status)
}
