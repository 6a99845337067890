package web_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/web"
)

// admin sends an admin API request with a reason header (reason "" sends
// none).
func (f *fixture) admin(t *testing.T, email, reason, method, path string, body any) response {
	t.Helper()
	var buf bytes.Buffer
	if body != nil {
		require.NoError(t, json.NewEncoder(&buf).Encode(body))
	}
	req := httptest.NewRequest(method, path, &buf)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Test-Email", email)
	if reason != "" {
		req.Header.Set(web.HeaderAuditReason, reason)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

type adminRoute struct{ method, path string }

func adminRoutes(f *fixture) []adminRoute {
	return []adminRoute{
		{"GET", "/v1/admin/tenants"},
		{"POST", "/v1/admin/tenants"},
		{"POST", "/v1/admin/tenants/" + f.tenantB.String() + "/suspend"},
		{"POST", "/v1/admin/tenants/" + f.tenantB.String() + "/resume"},
		{"GET", "/v1/admin/audit"},
	}
}

func TestAdminReasonRequiredBeforeAnyQuery(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, r := range adminRoutes(f) {
		for _, reason := range []string{"", "   "} {
			before := f.queries.Load()
			resp := f.admin(t, olga, reason, r.method, r.path, map[string]any{"slug": "x", "name": "x"})
			require.Equal(t, 400, resp.status, "%s %s %q", r.method, r.path, reason)
			require.Equal(t, web.CodeReasonRequired, resp.problem(t).Code)
			require.Equal(t, before, f.queries.Load(), "no query ran")
		}
	}
}

func TestAdminRoutesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	f := setup(t, func(c *web.Config) { c.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
	for _, who := range []string{alice, vera, bob} {
		for _, r := range adminRoutes(f) {
			resp := f.admin(t, who, "curious", r.method, r.path, map[string]any{"slug": "x", "name": "x"})
			require.Equal(t, 403, resp.status, "%s %s %s", who, r.method, r.path)
			require.Equal(t, web.CodeOwnerOnly, resp.problem(t).Code)
		}
	}
	require.Contains(t, logs.String(), "admin access refused")
	require.Contains(t, logs.String(), vera)
	// Nothing happened: B is active, no tenant "x", and no admin action
	// reached the audit log.
	conn := f.super(t)
	var status string
	var n int
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT status FROM tenants WHERE id = $1", f.tenantB).Scan(&status))
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
	r := f.admin(t, olga, "weekly review", "GET", "/v1/admin/tenants", nil)
	require.Equal(t, 200, r.status, string(r.body))
	var page web.Page[web.AdminTenant]
	r.json(t, &page)
	require.Len(t, page.Items, 2)
	require.Equal(t, "tenant-a", page.Items[0].Slug)
	require.Equal(t, web.AdminTenant{ID: f.tenantA, Slug: "tenant-a", Name: "tenant-a", Status: "active",
		CreatedAt: page.Items[0].CreatedAt, Members: 2, Projects: 1, Tasks: 1}, page.Items[0])

	// Create: 201, then 409 on the same slug, 422 on a bad one.
	r = f.admin(t, olga, "new customer", "POST", "/v1/admin/tenants", map[string]any{"slug": "globex", "name": "Globex"})
	require.Equal(t, 201, r.status, string(r.body))
	var created web.AdminTenant
	r.json(t, &created)
	r = f.admin(t, olga, "new customer", "POST", "/v1/admin/tenants", map[string]any{"slug": "globex", "name": "Globex 2"})
	require.Equal(t, 409, r.status)
	r = f.admin(t, olga, "new customer", "POST", "/v1/admin/tenants", map[string]any{"slug": "Not A Slug", "name": "x"})
	require.Equal(t, 422, r.status)

	// Pagination by slug.
	r = f.admin(t, olga, "weekly review", "GET", "/v1/admin/tenants?limit=2", nil)
	r.json(t, &page)
	require.Len(t, page.Items, 2)
	require.NotNil(t, page.NextCursor)
	r = f.admin(t, olga, "weekly review", "GET", "/v1/admin/tenants?limit=2&cursor="+*page.NextCursor, nil)
	r.json(t, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, "tenant-b", page.Items[0].Slug)
	require.Nil(t, page.NextCursor)

	// Suspend B: its members get 404 on every tenant route; resume restores.
	r = f.admin(t, olga, "unpaid invoice INV-7", "POST", "/v1/admin/tenants/"+f.tenantB.String()+"/suspend", nil)
	require.Equal(t, 200, r.status, string(r.body))
	for _, e := range tenantEndpoints {
		path := strings.NewReplacer("{t}", "tenant-b", "{p}", f.projectB.String(), "{k}", f.taskB.String(), "{u}", f.viewerB.String()).Replace(e.path)
		resp := f.do(t, bob, e.method, path, e.body)
		require.Equal(t, 404, resp.status, "suspended: %s %s", e.method, path)
	}
	r = f.do(t, olga, "GET", "/v1/tenants/tenant-b/projects", nil)
	require.Equal(t, 404, r.status, "not even an Owner through the tenant scope")
	r = f.do(t, alice, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.status, "other tenants unaffected")
	r = f.admin(t, olga, "paid", "POST", "/v1/admin/tenants/"+f.tenantB.String()+"/resume", nil)
	require.Equal(t, 200, r.status)
	r = f.do(t, bob, "GET", "/v1/tenants/tenant-b/projects", nil)
	require.Equal(t, 200, r.status, "resumed")
	r = f.admin(t, olga, "typo", "POST", "/v1/admin/tenants/"+uuid.NewString()+"/suspend", nil)
	require.Equal(t, 404, r.status)

	// The audit log has one row per admin action, with the reason.
	r = f.admin(t, olga, "audit review", "GET", "/v1/admin/audit?limit=100", nil)
	require.Equal(t, 200, r.status, string(r.body))
	var audit web.Page[web.AuditEntry]
	r.json(t, &audit)
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
	require.Equal(t, []uuid.UUID{f.tenantB}, audit.Items[1].TenantIDs)

	// Filters: tenant, actor, time range, pagination.
	q := url.Values{"tenant": {f.tenantB.String()}}
	r = f.admin(t, olga, "audit review", "GET", "/v1/admin/audit?"+q.Encode(), nil)
	r.json(t, &audit)
	require.NotEmpty(t, audit.Items)
	for _, e := range audit.Items {
		require.Contains(t, e.TenantIDs, f.tenantB)
	}
	r = f.admin(t, olga, "audit review", "GET", "/v1/admin/audit?actor=nobody@x.example", nil)
	r.json(t, &audit)
	require.Empty(t, audit.Items)
	q = url.Values{"since": {start.Format(time.RFC3339)}, "until": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}, "limit": {"2"}}
	r = f.admin(t, olga, "audit review", "GET", "/v1/admin/audit?"+q.Encode(), nil)
	r.json(t, &audit)
	require.Len(t, audit.Items, 2)
	require.NotNil(t, audit.NextCursor)
	q.Set("cursor", *audit.NextCursor)
	r = f.admin(t, olga, "audit review", "GET", "/v1/admin/audit?"+q.Encode(), nil)
	var older web.Page[web.AuditEntry]
	r.json(t, &older)
	require.Len(t, older.Items, 2)
	require.Less(t, older.Items[0].ID, audit.Items[1].ID)
	q = url.Values{"until": {start.Format(time.RFC3339)}}
	r = f.admin(t, olga, "audit review", "GET", "/v1/admin/audit?"+q.Encode(), nil)
	r.json(t, &audit)
	require.Empty(t, audit.Items)
	r = f.admin(t, olga, "audit review", "GET", "/v1/admin/audit?since=yesterday", nil)
	require.Equal(t, 400, r.status)
}
