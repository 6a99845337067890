package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/web"
)

// endpoint is one route of the tenant API with a body that would succeed.
type endpoint struct {
	name, method, path string // path uses {t}, {p}, {k} (task), {u} (member user id)
	body               any
	write              bool
	success            int
}

var tenantEndpoints = []endpoint{
	{"list projects", "GET", "/v1/tenants/{t}/projects", nil, false, 200},
	{"get project", "GET", "/v1/tenants/{t}/projects/{p}", nil, false, 200},
	{"list tasks", "GET", "/v1/tenants/{t}/projects/{p}/tasks", nil, false, 200},
	{"list members", "GET", "/v1/tenants/{t}/members", nil, false, 200},
	{"create project", "POST", "/v1/tenants/{t}/projects", map[string]any{"name": "made by matrix"}, true, 201},
	{"update project", "PATCH", "/v1/tenants/{t}/projects/{p}", map[string]any{"description": "edited"}, true, 200},
	{"create task", "POST", "/v1/tenants/{t}/projects/{p}/tasks", map[string]any{"title": "new"}, true, 201},
	{"update task", "PATCH", "/v1/tenants/{t}/projects/{p}/tasks/{k}", map[string]any{"done": true}, true, 200},
	{"add member", "POST", "/v1/tenants/{t}/members", map[string]any{"email": "newbie@x.example", "role": "client_viewer"}, true, 201},
	{"change member role", "PATCH", "/v1/tenants/{t}/members/{u}", map[string]any{"role": "partner"}, true, 200},
	{"delete task", "DELETE", "/v1/tenants/{t}/projects/{p}/tasks/{k}", nil, true, 204},
	{"remove member", "DELETE", "/v1/tenants/{t}/members/{u}", nil, true, 204},
	{"delete project", "DELETE", "/v1/tenants/{t}/projects/{p}", nil, true, 204},
}

// TestRBACMatrix: every principal x every tenant endpoint x own tenant /
// other tenant, with the status the API must answer. Writes run against a
// fresh database per principal and tenant, in an order where each succeeds
// when allowed.
func TestRBACMatrix(t *testing.T) {
	t.Parallel()
	type principal struct {
		name, email string
		// expect gives the status for an endpoint in tenant A ("own") or B.
		expect func(e endpoint, own bool) int
	}
	allowed := func(e endpoint, _ bool) int { return e.success }
	principals := []principal{
		{"owner", olga, allowed},
		{"partner", alice, func(e endpoint, own bool) int {
			if !own {
				return 404
			}
			return e.success
		}},
		{"client viewer", vera, func(e endpoint, own bool) int {
			switch {
			case !own:
				return 404
			case e.write:
				return 403
			}
			return e.success
		}},
		{"unknown user", "nobody@nowhere.example", func(endpoint, bool) int { return 403 }},
		{"unauthenticated", "", func(endpoint, bool) int { return 401 }},
	}
	for _, p := range principals {
		for _, own := range []bool{true, false} {
			name := p.name + "/own tenant"
			if !own {
				name = p.name + "/other tenant"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f := setup(t)
				tenant, project, task, member := "tenant-a", f.projectA, f.taskA, f.viewerA
				if !own {
					tenant, project, task, member = "tenant-b", f.projectB, f.taskB, f.viewerB
				}
				for _, e := range tenantEndpoints {
					path := strings.NewReplacer("{t}", tenant, "{p}", project.String(), "{k}", task.String(), "{u}", member.String()).Replace(e.path)
					r := f.do(t, p.email, e.method, path, e.body)
					want := p.expect(e, own)
					require.Equal(t, want, r.status, "%s %s %s: %s", p.name, e.method, path, r.body)
					if want >= 400 {
						pr := r.problem(t)
						require.Equal(t, map[int]string{401: web.CodeUnauthenticated, 403: codeFor403(p.email), 404: web.CodeNotFound}[want], pr.Code)
					}
				}
			})
		}
	}
}

func codeFor403(email string) string {
	if email == "nobody@nowhere.example" {
		return web.CodeUnknownUser
	}
	return web.CodeForbidden
}

// TestDatabaseRefusesWhenAPICheckIsOff turns the API-level role check off
// (RBAC Skipper) and shows that a Client Viewer's writes are still refused
// by Postgres (read-only transaction, restrictive writer policies, and
// member_add's own check), while reads keep working.
func TestDatabaseRefusesWhenAPICheckIsOff(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *web.Config) {
		c.RBAC.Skipper = func(echo.Context) bool { return true }
	})
	r := f.do(t, vera, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.status, "positive control")
	for _, e := range tenantEndpoints {
		if !e.write {
			continue
		}
		path := strings.NewReplacer("{t}", "tenant-a", "{p}", f.projectA.String(), "{k}", f.taskA.String(), "{u}", f.viewerA.String()).Replace(e.path)
		r := f.do(t, vera, e.method, path, e.body)
		require.Equal(t, http.StatusForbidden, r.status, "%s: %s", e.name, r.body)
		require.Equal(t, web.CodeForbidden, r.problem(t).Code)
	}
	// Nothing changed.
	var got web.Project
	r = f.do(t, alice, "GET", "/v1/tenants/tenant-a/projects/"+f.projectA.String(), nil)
	r.json(t, &got)
	require.Equal(t, "Apollo", got.Name)
	require.Equal(t, "", got.Description)
	var members web.Page[web.Member]
	r = f.do(t, alice, "GET", "/v1/tenants/tenant-a/members", nil)
	r.json(t, &members)
	require.Len(t, members.Items, 2)
}

func TestMembersAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := "/v1/tenants/tenant-a/members"
	// Bob (partner of B) is added to A as a viewer: a new membership for an
	// existing user; then a brand-new address (an invitation).
	r := f.do(t, alice, "POST", base, map[string]any{"email": "  BOB@b.example ", "role": "client_viewer"})
	require.Equal(t, 201, r.status, string(r.body))
	var m web.Member
	r.json(t, &m)
	require.Equal(t, bob, m.Email)
	r = f.do(t, alice, "POST", base, map[string]any{"email": bob, "role": "partner"})
	require.Equal(t, 409, r.status)
	r = f.do(t, alice, "POST", base, map[string]any{"email": "new@x.example", "role": "partner"})
	require.Equal(t, 201, r.status)
	r = f.do(t, alice, "POST", base, map[string]any{"email": "nope", "role": "owner"})
	require.Equal(t, 422, r.status)
	require.Len(t, r.problem(t).Errors, 2)

	// The invited address can now sign in and sees tenant A.
	r = f.do(t, "new@x.example", "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.status)
	// Bob now reads A, but cannot write there.
	r = f.do(t, bob, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.status)
	r = f.do(t, bob, "POST", "/v1/tenants/tenant-a/projects", map[string]any{"name": "bob"})
	require.Equal(t, 403, r.status)

	var page web.Page[web.Member]
	r = f.do(t, vera, "GET", base+"?limit=2", nil)
	require.Equal(t, 200, r.status)
	r.json(t, &page)
	require.Len(t, page.Items, 2)
	require.NotNil(t, page.NextCursor)
	emails := []string{}
	for _, it := range page.Items {
		emails = append(emails, it.Email)
	}
	r = f.do(t, vera, "GET", base+"?limit=2&cursor="+*page.NextCursor, nil)
	r.json(t, &page)
	for _, it := range page.Items {
		emails = append(emails, it.Email)
	}
	require.ElementsMatch(t, []string{alice, vera, bob, "new@x.example"}, emails, "A's members only")

	// Promote bob; then he writes. Revoke him; his next request is 404.
	r = f.do(t, alice, "PATCH", base+"/"+m.UserID.String(), map[string]any{"role": "partner"})
	require.Equal(t, 200, r.status, string(r.body))
	r = f.do(t, bob, "POST", "/v1/tenants/tenant-a/projects", map[string]any{"name": "bob"})
	require.Equal(t, 201, r.status)
	r = f.do(t, alice, "DELETE", base+"/"+m.UserID.String(), nil)
	require.Equal(t, 204, r.status)
	r = f.do(t, bob, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 404, r.status, "revocation takes effect on the next request")
	r = f.do(t, bob, "GET", "/v1/tenants/tenant-b/projects", nil)
	require.Equal(t, 200, r.status, "his own tenant is untouched")
	r = f.do(t, alice, "DELETE", base+"/"+m.UserID.String(), nil)
	require.Equal(t, 404, r.status)
}

func TestSubdomainTenant(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *web.Config) { c.BaseDomain = "app.example.com" })
	get := func(host, email string) int {
		r := f.doHost(t, host, email, "GET", "/v1/projects")
		return r.status
	}
	require.Equal(t, 200, get("tenant-a.app.example.com", alice))
	require.Equal(t, 200, get("tenant-a.app.example.com:8443", alice))
	require.Equal(t, 404, get("tenant-b.app.example.com", alice))
	require.Equal(t, 404, get("app.example.com", alice))
	require.Equal(t, 404, get("x.tenant-a.app.example.com", alice))
	require.Equal(t, 404, get("tenant-a.evil.example", alice))
	// The path form keeps working alongside.
	r := f.do(t, alice, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.status)
}
