package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/api"
	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// endpoint is one route of the tenant API with a body that would succeed.
type endpoint struct {
	name, method, path string // path uses {t}, {p}, {k} (task), {c} (comment), {u} (member user id)
	body               any
	write              bool
	success            int
}

// pathIn fills e's path with the World's ids in tenant A (own) or B.
func (e endpoint) pathIn(f *fixture, own bool) string {
	tenant, project, task, comment, member := pgtest.TenantASlug, f.ProjectA, f.TaskA, f.CommentA, f.Vera
	if !own {
		tenant, project, task, comment, member = pgtest.TenantBSlug, f.ProjectB, f.TaskB, f.CommentB, f.Vic
	}
	return strings.NewReplacer("{t}", tenant, "{p}", project.String(), "{k}", task.String(), "{c}", comment.String(),
		"{u}", member.String()).Replace(e.path)
}

var tenantEndpoints = []endpoint{
	{"list projects", "GET", "/v1/tenants/{t}/projects", nil, false, 200},
	{"get project", "GET", "/v1/tenants/{t}/projects/{p}", nil, false, 200},
	{"list tasks", "GET", "/v1/tenants/{t}/projects/{p}/tasks", nil, false, 200},
	{"get task", "GET", "/v1/tenants/{t}/projects/{p}/tasks/{k}", nil, false, 200},
	{"list members", "GET", "/v1/tenants/{t}/members", nil, false, 200},
	{"get member", "GET", "/v1/tenants/{t}/members/{u}", nil, false, 200},
	{"create project", "POST", "/v1/tenants/{t}/projects", map[string]any{"name": "made by matrix"}, true, 201},
	{"update project", "PATCH", "/v1/tenants/{t}/projects/{p}", map[string]any{"description": "edited"}, true, 200},
	{"create task", "POST", "/v1/tenants/{t}/projects/{p}/tasks", map[string]any{"title": "new"}, true, 201},
	{"update task", "PATCH", "/v1/tenants/{t}/projects/{p}/tasks/{k}", map[string]any{"done": true}, true, 200},
	{"add member", "POST", "/v1/tenants/{t}/members", map[string]any{"email": "newbie@x.example", "role": "client_viewer"}, true, 201},
	{"change member role", "PATCH", "/v1/tenants/{t}/members/{u}", map[string]any{"role": "partner"}, true, 200},
	{"list comments", "GET", "/v1/tenants/{t}/projects/{p}/tasks/{k}/comments", nil, false, 200},
	{"get comment", "GET", "/v1/tenants/{t}/projects/{p}/tasks/{k}/comments/{c}", nil, false, 200},
	{"add comment", "POST", "/v1/tenants/{t}/projects/{p}/tasks/{k}/comments", map[string]any{"body": "looks good"}, true, 201},
	{"delete comment", "DELETE", "/v1/tenants/{t}/projects/{p}/tasks/{k}/comments/{c}", nil, true, 204},
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
				for _, e := range tenantEndpoints {
					path := e.pathIn(f, own)
					r := f.Do(t, p.email, e.method, path, e.body)
					want := p.expect(e, own)
					require.Equal(t, want, r.Status, "%s %s %s: %s", p.name, e.method, path, r.Body)
					if want >= 400 {
						pr := r.Problem(t)
						require.Equal(t, map[int]tenancy.Code{401: httpx.CodeUnauthenticated, 403: codeFor403(p.email), 404: tenancy.CodeNotFound}[want], pr.Code)
					}
				}
			})
		}
	}
}

func codeFor403(email string) tenancy.Code {
	if email == "nobody@nowhere.example" {
		return tenancy.CodeUnknownUser
	}
	return tenancy.CodeForbidden
}

// TestDatabaseRefusesWhenAPICheckIsOff turns the Go-side role check off
// (tenancy.Config.SkipRoleCheck) and shows that a Client Viewer's writes are still refused
// by Postgres (read-only transaction, restrictive writer policies, and
// member_add's own check), while reads keep working.
func TestDatabaseRefusesWhenAPICheckIsOff(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *kit.AppConfig, _ *api.Config) { c.SkipRoleCheck = true })
	r := f.Do(t, vera, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.Status, "positive control")
	for _, e := range tenantEndpoints {
		if !e.write {
			continue
		}
		path := e.pathIn(f, true)
		r := f.Do(t, vera, e.method, path, e.body)
		require.Equal(t, http.StatusForbidden, r.Status, "%s: %s", e.name, r.Body)
		require.Equal(t, tenancy.CodeForbidden, r.Problem(t).Code)
	}
	// Nothing changed.
	var got tenancy.Project
	r = f.Do(t, alice, "GET", "/v1/tenants/tenant-a/projects/"+f.ProjectA.String(), nil)
	r.JSON(t, &got)
	require.Equal(t, "Apollo", got.Name)
	require.Equal(t, "", got.Description)
	var members tenancy.Page[tenancy.Member]
	r = f.Do(t, alice, "GET", "/v1/tenants/tenant-a/members", nil)
	r.JSON(t, &members)
	require.Len(t, members.Items, 2)
	var comments tenancy.Page[tenancy.Comment]
	r = f.Do(t, alice, "GET", endpoint{path: "/v1/tenants/{t}/projects/{p}/tasks/{k}/comments"}.pathIn(f, true), nil)
	r.JSON(t, &comments)
	require.Len(t, comments.Items, 1)
	require.Equal(t, f.CommentA, comments.Items[0].ID)
}

func TestMembersAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := "/v1/tenants/tenant-a/members"
	// Bob (partner of B) is added to A as a viewer: a new membership for an
	// existing user; then a brand-new address (an invitation).
	r := f.Do(t, alice, "POST", base, map[string]any{"email": "  BOB@b.example ", "role": "client_viewer"})
	require.Equal(t, 201, r.Status, string(r.Body))
	var m tenancy.Member
	r.JSON(t, &m)
	require.Equal(t, bob, m.Email)
	r = f.Do(t, alice, "POST", base, map[string]any{"email": bob, "role": "partner"})
	require.Equal(t, 409, r.Status)
	r = f.Do(t, alice, "POST", base, map[string]any{"email": "new@x.example", "role": "partner"})
	require.Equal(t, 201, r.Status)
	r = f.Do(t, alice, "POST", base, map[string]any{"email": "nope", "role": "owner"})
	require.Equal(t, 422, r.Status)
	require.Len(t, r.Problem(t).Errors, 2)

	// The invited address can now sign in and sees tenant A.
	r = f.Do(t, "new@x.example", "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.Status)
	// Bob now reads A, but cannot write there.
	r = f.Do(t, bob, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.Status)
	r = f.Do(t, bob, "POST", "/v1/tenants/tenant-a/projects", map[string]any{"name": "bob"})
	require.Equal(t, 403, r.Status)

	// Every member pages through the members; a Client Viewer gets
	// their ids and names but no one's email but its own (issue 11).
	list := func(email string) []string {
		var page tenancy.Page[tenancy.Member]
		r := f.Do(t, email, "GET", base+"?limit=2", nil)
		require.Equal(t, 200, r.Status)
		r.JSON(t, &page)
		require.Len(t, page.Items, 2)
		require.NotNil(t, page.NextCursor)
		var next tenancy.Page[tenancy.Member]
		r = f.Do(t, email, "GET", base+"?limit=2&cursor="+*page.NextCursor, nil)
		r.JSON(t, &next)
		items := append(page.Items, next.Items...)
		var ids, emails []string
		for _, it := range items {
			ids = append(ids, it.UserID.String())
			emails = append(emails, it.Email)
		}
		require.Len(t, ids, 4, "A's members only")
		return emails
	}
	require.ElementsMatch(t, []string{alice, vera, bob, "new@x.example"}, list(alice), "a Partner sees the emails")
	require.ElementsMatch(t, []string{"", vera, "", ""}, list(vera), "a Client Viewer sees its own email only")

	// Promote bob; then he writes. Revoke him; his next request is 404.
	r = f.Do(t, alice, "PATCH", base+"/"+m.UserID.String(), map[string]any{"role": "partner"})
	require.Equal(t, 200, r.Status, string(r.Body))
	var patched tenancy.Member
	r.JSON(t, &patched)
	require.Equal(t, "partner", patched.Role)
	r = f.Do(t, alice, "GET", base+"/"+m.UserID.String(), nil)
	require.Equal(t, 200, r.Status, "the Location of a new member answers GET")
	var one tenancy.Member
	r.JSON(t, &one)
	require.Equal(t, patched, one, "PATCH answers with the shape GET and the list have")
	require.Equal(t, bob, one.Email)
	r = f.Do(t, vera, "GET", base+"/"+m.UserID.String(), nil)
	require.Equal(t, 200, r.Status, "a Client Viewer reads the member...")
	var seen tenancy.Member
	r.JSON(t, &seen)
	require.Empty(t, seen.Email, "...without the email")
	require.NotContains(t, string(r.Body), "email")
	one.Email = ""
	require.Equal(t, one, seen, "and nothing else differs")
	r = f.Do(t, bob, "POST", "/v1/tenants/tenant-a/projects", map[string]any{"name": "bob"})
	require.Equal(t, 201, r.Status)
	r = f.Do(t, alice, "DELETE", base+"/"+m.UserID.String(), nil)
	require.Equal(t, 204, r.Status)
	r = f.Do(t, bob, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 404, r.Status, "revocation takes effect on the next request")
	r = f.Do(t, bob, "GET", "/v1/tenants/tenant-b/projects", nil)
	require.Equal(t, 200, r.Status, "his own tenant is untouched")
	r = f.Do(t, alice, "DELETE", base+"/"+m.UserID.String(), nil)
	require.Equal(t, 404, r.Status)
}

func TestSubdomainTenant(t *testing.T) {
	t.Parallel()
	f := setup(t, func(_ *kit.AppConfig, c *api.Config) { c.BaseDomain = "app.example.com" })
	get := func(host, email string) int {
		r := f.DoHost(t, host, email, "GET", "/v1/projects")
		return r.Status
	}
	require.Equal(t, 200, get("tenant-a.app.example.com", alice))
	require.Equal(t, 200, get("tenant-a.app.example.com:8443", alice))
	require.Equal(t, 404, get("tenant-b.app.example.com", alice))
	require.Equal(t, 404, get("app.example.com", alice))
	require.Equal(t, 404, get("x.tenant-a.app.example.com", alice))
	require.Equal(t, 404, get("tenant-a.evil.example", alice))
	// The path form keeps working alongside.
	r := f.Do(t, alice, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.Status)
}
