package api_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/api"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// doIf sends a request as email with an If-Match header ("" sends none).
func doIf(t *testing.T, f *fixture, email, method, path, ifMatch string, body any) kit.Response {
	t.Helper()
	req := kit.Request(t, email, method, path, body)
	if ifMatch != "" {
		req.Header.Set(api.HeaderIfMatch, ifMatch)
	}
	return kit.Serve(f.Handler, req)
}

// TestETagsAndIfMatch: every single resource answers with an ETag that
// changes when it is written; a PATCH or DELETE with a stale If-Match is
// 412 and changes nothing; with the current one it applies; without one it
// applies unconditionally.
func TestETagsAndIfMatch(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tasks := "/v1/tenants/tenant-a/projects/" + f.ProjectA.String() + "/tasks/"
	for _, c := range []struct {
		name, path string
		patch      any // nil: the resource has no PATCH
	}{
		// Children first: a DELETE at the end of each case cascades.
		{"comment", tasks + f.TaskA.String() + "/comments/" + f.CommentA.String(), nil},
		{"task", tasks + f.TaskA.String(), map[string]any{"done": true}},
		{"member", "/v1/tenants/tenant-a/members/" + f.Vera.String(), map[string]any{"role": "partner"}},
		{"project", "/v1/tenants/tenant-a/projects/" + f.ProjectA.String(), map[string]any{"description": "edited"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.Do(t, alice, "GET", c.path, nil)
			require.Equal(t, 200, r.Status, string(r.Body))
			v1 := r.Header.Get("ETag")
			require.Regexp(t, `^"[0-9a-z]+"$`, v1, "a strong entity tag")
			require.Equal(t, v1, f.Do(t, alice, "GET", c.path, nil).Header.Get("ETag"), "stable while unchanged")
			head := f.Do(t, alice, "HEAD", c.path, nil)
			require.Equal(t, 200, head.Status)
			require.Equal(t, v1, head.Header.Get("ETag"), "HEAD carries the ETag")

			if c.patch != nil {
				r = doIf(t, f, alice, "PATCH", c.path, v1, c.patch)
				require.Equal(t, 200, r.Status, string(r.Body))
				v2 := r.Header.Get("ETag")
				require.NotEqual(t, v1, v2, "a write moves the version")
				require.Equal(t, v2, f.Do(t, alice, "GET", c.path, nil).Header.Get("ETag"), "the PATCH answer's tag is the resource's")

				r = doIf(t, f, alice, "PATCH", c.path, v1, c.patch)
				require.Equal(t, 412, r.Status, "stale tag: %s", r.Body)
				require.Equal(t, tenancy.CodePreconditionFailed, r.Problem(t).Code)
				require.Equal(t, v2, f.Do(t, alice, "GET", c.path, nil).Header.Get("ETag"), "the refused PATCH changed nothing")
				r = doIf(t, f, alice, "PATCH", c.path, `W/`+v2, c.patch)
				require.Equal(t, 412, r.Status, "If-Match compares strongly: a weak tag never matches")
				r = doIf(t, f, alice, "PATCH", c.path, `"nonsense", `+v2, c.patch)
				require.Equal(t, 200, r.Status, "any tag of the list may match: %s", r.Body)
				v1 = r.Header.Get("ETag")
				r = doIf(t, f, alice, "PATCH", c.path, "*", c.patch)
				require.Equal(t, 200, r.Status, "* matches any current version")
				require.NotEqual(t, v1, r.Header.Get("ETag"))
				r = f.Do(t, alice, "PATCH", c.path, c.patch)
				require.Equal(t, 200, r.Status, "no If-Match: unconditional")
				v1 = r.Header.Get("ETag")
			}

			r = doIf(t, f, alice, "DELETE", c.path, `"0"`, nil)
			require.Equal(t, 412, r.Status, "stale tag on DELETE: %s", r.Body)
			require.Equal(t, 200, f.Do(t, alice, "GET", c.path, nil).Status, "the refused DELETE deleted nothing")
			r = doIf(t, f, alice, "DELETE", c.path, v1, nil)
			require.Equal(t, 204, r.Status, string(r.Body))
			r = doIf(t, f, alice, "DELETE", c.path, v1, nil)
			require.Equal(t, 404, r.Status, "gone: 404, not 412")
			require.Equal(t, tenancy.CodeNotFound, r.Problem(t).Code)
		})
	}
	// Another tenant's resource with its own current tag: 404, never 412
	// (a 412 would confirm that the id exists).
	bp := "/v1/tenants/tenant-b/projects/" + f.ProjectB.String()
	tag := f.Do(t, bob, "GET", bp, nil).Header.Get("ETag")
	require.NotEmpty(t, tag)
	r := doIf(t, f, alice, "PATCH", "/v1/tenants/tenant-a/projects/"+f.ProjectB.String(), tag, map[string]any{"name": "x"})
	require.Equal(t, 404, r.Status)
	r = doIf(t, f, alice, "DELETE", "/v1/tenants/tenant-a/projects/"+f.ProjectB.String(), `"0"`, nil)
	require.Equal(t, 404, r.Status)
}

// TestConcurrentPatchesOneWins: two clients read the same version and
// PATCH it at the same time with If-Match. The comparison is part of the
// UPDATE, so the database serializes them on the row lock: exactly one
// applies, the other re-reads the row, no longer matches, and gets 412.
// Both UPDATEs are held at the row lock (a superuser holds it) until both
// wait, so the race is real, not a sequence.
func TestConcurrentPatchesOneWins(t *testing.T) {
	t.Parallel()
	f := setup(t)
	path := "/v1/tenants/tenant-a/projects/" + f.ProjectA.String()
	tag := f.Do(t, alice, "GET", path, nil).Header.Get("ETag")

	lock := super(t, f)
	_, err := lock.Exec(t.Context(), "BEGIN")
	require.NoError(t, err)
	_, err = lock.Exec(t.Context(), "SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", f.ProjectA)
	require.NoError(t, err)

	names := []string{"from client 1", "from client 2"}
	statuses := make([]int, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			statuses[i] = doIf(t, f, alice, "PATCH", path, tag, map[string]any{"name": name}).Status
		})
	}
	watch := super(t, f)
	require.Eventually(t, func() bool {
		var waiting int
		err := watch.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE projects%'`).Scan(&waiting)
		return err == nil && waiting == 2
	}, 10*time.Second, 10*time.Millisecond, "both PATCHes wait on the row")
	_, err = lock.Exec(t.Context(), "COMMIT")
	require.NoError(t, err)
	wg.Wait()

	require.ElementsMatch(t, []int{200, 412}, statuses, "one writer wins, the other is told")
	var p tenancy.Project
	f.Do(t, alice, "GET", path, nil).JSON(t, &p)
	winner := names[0]
	if statuses[1] == 200 {
		winner = names[1]
	}
	require.Equal(t, winner, p.Name, "the loser changed nothing")

	// Positive control of the hazard: without If-Match both apply and the
	// last writer silently wins.
	for _, name := range names {
		require.Equal(t, 200, f.Do(t, alice, "PATCH", path, map[string]any{"name": name}).Status)
	}
}

// TestAdminTenantByID: the Location of a new tenant answers GET; the
// tenant, alone or after suspend and resume, carries its real counts and
// an ETag.
func TestAdminTenantByID(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := admin(t, f, olga, "new customer", "POST", "/v1/admin/tenants", map[string]any{"slug": "globex", "name": "Globex"})
	require.Equal(t, 201, r.Status, string(r.Body))
	var created tenancy.Tenant
	r.JSON(t, &created)
	require.Equal(t, created.ETag(), r.Header.Get("ETag"))
	r = admin(t, f, olga, "check", "GET", r.Header.Get("Location"), nil)
	require.Equal(t, 200, r.Status, "the Location answers GET: %s", r.Body)
	var got tenancy.Tenant
	r.JSON(t, &got)
	require.Equal(t, created, got)

	path := "/v1/admin/tenants/" + f.TenantA.String()
	r = admin(t, f, olga, "check", "GET", path, nil)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &got)
	want := tenancy.Tenant{ID: f.TenantA, Slug: "tenant-a", Name: "tenant-a", Status: "active", CreatedAt: got.CreatedAt, UpdatedAt: got.UpdatedAt,
		Members: 2, Projects: 1, Tasks: 1}
	require.Equal(t, want, got)
	tag := r.Header.Get("ETag")
	for _, action := range []string{"suspend", "resume"} {
		r = admin(t, f, olga, "ticket 9", "POST", path+"/"+action, nil)
		require.Equal(t, 200, r.Status, string(r.Body))
		r.JSON(t, &got)
		require.Equal(t, map[string]string{"suspend": "suspended", "resume": "active"}[action], got.Status)
		require.Equal(t, [3]int64{2, 1, 1}, [3]int64{got.Members, got.Projects, got.Tasks}, "%s answers with real counts", action)
		require.NotEqual(t, tag, r.Header.Get("ETag"))
		tag = r.Header.Get("ETag")
	}
	for _, who := range []string{alice, bob} {
		require.Equal(t, 403, admin(t, f, who, "curious", "GET", path, nil).Status)
	}
	require.Equal(t, 400, admin(t, f, olga, "check", "GET", "/v1/admin/tenants/"+created.ID.String()[:8], nil).Status)
	require.Equal(t, 404, admin(t, f, olga, "check", "GET", "/v1/admin/tenants/00000000-0000-4000-8000-000000000000", nil).Status)
}

// TestHeadOnEveryGetRoute: every GET route the API registers answers HEAD
// with the GET's status and headers and no body (it was 405 everywhere).
func TestHeadOnEveryGetRoute(t *testing.T) {
	t.Parallel()
	f := setup(t)
	fill := strings.NewReplacer(":tenant", "tenant-a", ":project", f.ProjectA.String(), ":task", f.TaskA.String(),
		":comment", f.CommentA.String(), ":user", f.Vera.String(), ":id", f.TenantA.String())
	n := 0
	for _, r := range f.Echo.Routes() {
		if r.Method != "GET" {
			continue
		}
		path := fill.Replace(r.Path)
		send := func(method string) kit.Response {
			req := kit.Request(t, olga, method, path, nil)
			req.Header.Set(api.HeaderAuditReason, "head check")
			return kit.Serve(f.Handler, req)
		}
		get, head := send("GET"), send("HEAD")
		require.Equal(t, get.Status, head.Status, path)
		require.NotEqual(t, 405, head.Status, path)
		require.Empty(t, head.Body, path)
		for _, h := range []string{"Content-Type", "ETag", "Cache-Control", "X-Content-Type-Options"} {
			require.Equal(t, get.Header.Get(h), head.Header.Get(h), "%s %s", path, h)
		}
		n++
	}
	require.GreaterOrEqual(t, n, 12, "every GET route was tried")
}
