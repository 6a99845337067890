package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/api"
	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	alice = pgtest.AliceEmail // partner of A
	bob   = pgtest.BobEmail   // partner of B
	vera  = pgtest.VeraEmail  // client viewer of A
	olga  = pgtest.OlgaEmail
)

// fixture is the two-tenant World served by the API alone.
type fixture = kit.App

// setup serves the API over a fresh World; mods adjust the app and the
// API's configuration.
func setup(t *testing.T, mods ...func(*kit.AppConfig, *api.Config)) *fixture {
	t.Helper()
	var apiCfg api.Config
	cfg := kit.AppConfig{}
	for _, m := range mods {
		m(&cfg, &apiCfg)
	}
	cfg.Mount = func(e *echo.Echo, svc *tenancy.Service, a auth.Authenticator, _ *slog.Logger) error {
		apiCfg.Service, apiCfg.Auth = svc, a
		return api.Mount(e, apiCfg)
	}
	return kit.NewApp(t, cfg)
}

// withLogger sends the app's logs (transport and domain) to log.
func withLogger(log *slog.Logger) func(*kit.AppConfig, *api.Config) {
	return func(c *kit.AppConfig, _ *api.Config) { c.Logger = log }
}

func super(t *testing.T, f *fixture) *pgx.Conn { return pgtest.Conn(t, f.DB.SuperURL) }

func TestProjectsCRUD(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := "/v1/tenants/tenant-a/projects"

	r := f.Do(t, alice, "POST", base, map[string]string{"name": "  Zeus  ", "description": "line one\nline two"})
	require.Equal(t, 201, r.Status, string(r.Body))
	var p tenancy.Project
	r.JSON(t, &p)
	require.Equal(t, "Zeus", p.Name)
	require.Equal(t, base+"/"+p.ID.String(), r.Header.Get("Location"))

	r = f.Do(t, alice, "GET", base+"/"+p.ID.String(), nil)
	require.Equal(t, 200, r.Status)

	r = f.Do(t, alice, "PATCH", base+"/"+p.ID.String(), map[string]string{"name": "Zeus 2"})
	require.Equal(t, 200, r.Status, string(r.Body))
	var up tenancy.Project
	r.JSON(t, &up)
	require.Equal(t, "Zeus 2", up.Name)
	require.Equal(t, "line one\nline two", up.Description)

	r = f.Do(t, alice, "POST", base, map[string]string{"name": "Zeus 2"})
	require.Equal(t, 409, r.Status)
	require.Equal(t, tenancy.CodeConflict, r.Problem(t).Code)

	r = f.Do(t, alice, "DELETE", base+"/"+p.ID.String(), nil)
	require.Equal(t, 204, r.Status)
	r = f.Do(t, alice, "GET", base+"/"+p.ID.String(), nil)
	require.Equal(t, 404, r.Status)
	r = f.Do(t, alice, "DELETE", base+"/"+p.ID.String(), nil)
	require.Equal(t, 404, r.Status)

	// The tenant by id works like the slug.
	r = f.Do(t, alice, "GET", "/v1/tenants/"+f.TenantA.String()+"/projects/"+f.ProjectA.String(), nil)
	require.Equal(t, 200, r.Status)
}

func TestTasksCRUD(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := "/v1/tenants/tenant-a/projects/" + f.ProjectA.String() + "/tasks"

	r := f.Do(t, alice, "POST", base, map[string]any{"title": "write tests"})
	require.Equal(t, 201, r.Status, string(r.Body))
	var task tenancy.Task
	r.JSON(t, &task)
	require.False(t, task.Done)
	require.Equal(t, f.ProjectA, task.ProjectID)
	loc := r.Header.Get("Location")
	require.Equal(t, base+"/"+task.ID.String(), loc)
	r = f.Do(t, vera, "GET", loc, nil)
	require.Equal(t, 200, r.Status, "the Location answers GET")
	var got tenancy.Task
	r.JSON(t, &got)
	require.Equal(t, task, got)
	r = f.Do(t, alice, "GET", "/v1/tenants/tenant-a/projects/"+f.ProjectB.String()+"/tasks/"+task.ID.String(), nil)
	require.Equal(t, 404, r.Status, "a task only under its own project")

	r = f.Do(t, alice, "PATCH", base+"/"+task.ID.String(), map[string]any{"done": true})
	require.Equal(t, 200, r.Status, string(r.Body))
	r.JSON(t, &task)
	require.True(t, task.Done)
	require.Equal(t, "write tests", task.Title)

	r = f.Do(t, alice, "PATCH", base+"/"+task.ID.String(), map[string]any{"title": "write more tests"})
	require.Equal(t, 200, r.Status)
	r.JSON(t, &task)
	require.Equal(t, "write more tests", task.Title)
	require.True(t, task.Done)

	var page tenancy.Page[tenancy.Task]
	r = f.Do(t, alice, "GET", base, nil)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &page)
	require.Len(t, page.Items, 2)

	r = f.Do(t, alice, "DELETE", base+"/"+task.ID.String(), nil)
	require.Equal(t, 204, r.Status)
	r = f.Do(t, alice, "DELETE", base+"/"+task.ID.String(), nil)
	require.Equal(t, 404, r.Status)

	// Tasks of a project that does not exist (or is another tenant's): 404.
	for _, pid := range []uuid.UUID{uuid.New(), f.ProjectB} {
		r = f.Do(t, alice, "GET", "/v1/tenants/tenant-a/projects/"+pid.String()+"/tasks", nil)
		require.Equal(t, 404, r.Status)
		r = f.Do(t, alice, "POST", "/v1/tenants/tenant-a/projects/"+pid.String()+"/tasks", map[string]any{"title": "x"})
		require.Equal(t, 404, r.Status, string(r.Body))
	}
}

// TestOtherTenantsResourcesAre404: a partner of A naming B's resources,
// through A's path or B's, gets 404 (never 403 or 500): no oracle.
func TestOtherTenantsResourcesAre404(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pb, tb := f.ProjectB.String(), f.TaskB.String()
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/tenants/tenant-a/projects/" + pb},
		{"PATCH", "/v1/tenants/tenant-a/projects/" + pb},
		{"DELETE", "/v1/tenants/tenant-a/projects/" + pb},
		{"GET", "/v1/tenants/tenant-a/projects/" + pb + "/tasks"},
		{"PATCH", "/v1/tenants/tenant-a/projects/" + pb + "/tasks/" + tb},
		{"DELETE", "/v1/tenants/tenant-a/projects/" + pb + "/tasks/" + tb},
		{"GET", "/v1/tenants/tenant-b/projects"},
		{"GET", "/v1/tenants/tenant-b/projects/" + pb},
		{"POST", "/v1/tenants/tenant-b/projects"},
		{"DELETE", "/v1/tenants/tenant-b/projects/" + pb},
		{"GET", "/v1/tenants/" + f.TenantB.String() + "/projects"},
		{"GET", "/v1/tenants/no-such-tenant/projects"},
		{"GET", "/v1/tenants/Not_A_Slug!/projects"},
	} {
		var body any
		if c.method == "PATCH" || c.method == "POST" {
			body = map[string]any{"name": "x", "title": "x"}
			if strings.Contains(c.path, "/tasks/") {
				body = map[string]any{"title": "x"}
			} else if c.method == "PATCH" || c.method == "POST" {
				body = map[string]any{"name": "x"}
			}
		}
		r := f.Do(t, alice, c.method, c.path, body)
		require.Equal(t, 404, r.Status, "%s %s: %s", c.method, c.path, r.Body)
		require.Equal(t, tenancy.CodeNotFound, r.Problem(t).Code)
	}
	// Positive control: bob reaches the same resources.
	r := f.Do(t, bob, "GET", "/v1/tenants/tenant-b/projects/"+pb, nil)
	require.Equal(t, 200, r.Status)
	// And B's rows are untouched.
	r = f.Do(t, bob, "GET", "/v1/tenants/tenant-b/projects/"+pb+"/tasks", nil)
	var page tenancy.Page[tenancy.Task]
	r.JSON(t, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, "b task", page.Items[0].Title)
}

func TestBadInputIsA4xxProblem(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := "/v1/tenants/tenant-a/projects"
	big := `{"name":"` + strings.Repeat("x", 8000) + `"}`
	for _, c := range []struct {
		name, method, path string
		body               any
		contentType        string
		status             int
		code               tenancy.Code
	}{
		{"malformed project id", "GET", base + "/123", nil, "", 400, tenancy.CodeInvalidID},
		{"malformed task id", "PATCH", base + "/" + f.ProjectA.String() + "/tasks/nope", map[string]any{"done": true}, "", 400, tenancy.CodeInvalidID},
		{"malformed cursor", "GET", base + "?cursor=!!!", nil, "", 400, tenancy.CodeInvalidCursor},
		{"cursor of wrong length", "GET", base + "?cursor=AAAA", nil, "", 400, tenancy.CodeInvalidCursor},
		{"limit zero", "GET", base + "?limit=0", nil, "", 400, tenancy.CodeInvalidLimit},
		{"limit too big", "GET", base + "?limit=101", nil, "", 400, tenancy.CodeInvalidLimit},
		{"limit not a number", "GET", base + "?limit=ten", nil, "", 400, tenancy.CodeInvalidLimit},
		{"unknown field", "POST", base, map[string]any{"name": "x", "tenant_id": f.TenantB}, "", 400, httpx.CodeUnknownField},
		{"not json", "POST", base, "{name:", "", 400, httpx.CodeInvalidJSON},
		{"empty body", "POST", base, "", "", 400, httpx.CodeInvalidJSON},
		{"two objects", "POST", base, `{"name":"a"}{"name":"b"}`, "", 400, httpx.CodeInvalidJSON},
		{"wrong type", "POST", base, `{"name":42}`, "", 400, httpx.CodeInvalidJSON},
		{"oversized body", "POST", base, big, "", 413, httpx.CodeTooLarge},
		{"wrong content type", "POST", base, `{"name":"a"}`, "text/plain", 415, httpx.CodeMediaType},
		{"blank name", "POST", base, map[string]any{"name": "   "}, "", 422, tenancy.CodeValidation},
		{"name too long", "POST", base, map[string]any{"name": strings.Repeat("n", 201)}, "", 422, tenancy.CodeValidation},
		{"control char", "POST", base, map[string]any{"name": "a\x07b"}, "", 422, tenancy.CodeValidation},
		{"empty patch", "PATCH", base + "/" + f.ProjectA.String(), map[string]any{}, "", 422, tenancy.CodeValidation},
		{"unknown route", "GET", "/v1/nope", nil, "", 404, tenancy.CodeNotFound},
		{"wrong method", "PUT", base, nil, "", 405, httpx.CodeMethod},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rd io.Reader
			switch b := c.body.(type) {
			case nil:
			case string:
				rd = strings.NewReader(b)
			default:
				buf, _ := json.Marshal(b)
				rd = bytes.NewReader(buf)
			}
			req := httptest.NewRequest(c.method, c.path, rd)
			ct := c.contentType
			if ct == "" && c.body != nil {
				ct = "application/json"
			}
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			req.Header.Set(kit.HeaderEmail, alice)
			r := kit.Serve(f.Handler, req)
			require.Equal(t, c.status, r.Status, string(r.Body))
			p := r.Problem(t)
			require.Equal(t, c.code, p.Code)
			for _, leak := range []string{"SQLSTATE", "violates", "constraint", "pgx", "goroutine", "projects_"} {
				require.NotContains(t, string(r.Body), leak)
			}
		})
	}
}

func TestUnauthenticatedAndUnknownUser(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.Do(t, "", "GET", "/v1/me", nil)
	require.Equal(t, 401, r.Status)
	require.Equal(t, httpx.CodeUnauthenticated, r.Problem(t).Code)
	r = f.Do(t, "stranger@x.example", "GET", "/v1/me", nil)
	require.Equal(t, 403, r.Status)
	require.Equal(t, tenancy.CodeUnknownUser, r.Problem(t).Code)
	r = f.Do(t, "stranger@x.example", "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 403, r.Status)
}

func TestMe(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.Do(t, "ALICE@a.example", "GET", "/v1/me", nil)
	require.Equal(t, 200, r.Status, string(r.Body))
	var me api.Me
	r.JSON(t, &me)
	require.Equal(t, alice, me.User.Email)
	require.False(t, me.IsOwner)
	require.Len(t, me.Memberships, 1)
	require.Equal(t, "tenant-a", me.Memberships[0].TenantSlug)
	require.Equal(t, "partner", me.Memberships[0].Role)

	r = f.Do(t, olga, "GET", "/v1/me", nil)
	r.JSON(t, &me)
	require.True(t, me.IsOwner)
	require.Empty(t, me.Memberships)
}

func TestPagination(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for i := 0; i < 6; i++ {
		f.Fx.Project(t, f.TenantA, "p"+string(rune('0'+i)))
	}
	f.Fx.Project(t, f.TenantB, "b-extra")
	seen := map[uuid.UUID]bool{}
	next := ""
	pages := 0
	for {
		path := "/v1/tenants/tenant-a/projects?limit=3"
		if next != "" {
			path += "&cursor=" + next
		}
		r := f.Do(t, alice, "GET", path, nil)
		require.Equal(t, 200, r.Status, string(r.Body))
		var page tenancy.Page[tenancy.Project]
		r.JSON(t, &page)
		pages++
		for _, p := range page.Items {
			require.False(t, seen[p.ID], "no duplicates across pages")
			seen[p.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		next = *page.NextCursor
		require.LessOrEqual(t, pages, 5)
	}
	require.Len(t, seen, 7) // Apollo + 6, none of B's
	require.Equal(t, 3, pages)
}

func TestViewerReadsButCannotWrite(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.Do(t, vera, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.Status)
	r = f.Do(t, vera, "POST", "/v1/tenants/tenant-a/projects", map[string]any{"name": "nope"})
	require.Equal(t, 403, r.Status)
	require.Equal(t, tenancy.CodeForbidden, r.Problem(t).Code)
}

// The request log line carries the status the client received, for errors
// too (an operator reading the log must see the 404s and 401s).
func TestRequestLogStatusMatchesResponse(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	f := setup(t, withLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	cases := []struct {
		email, method, path string
		body                any
		want                int
	}{
		{alice, "GET", "/v1/tenants/tenant-a/projects", nil, 200},      // positive control
		{alice, "GET", "/v1/tenants/tenant-b/projects", nil, 404},      // not a member
		{"", "GET", "/v1/tenants/tenant-a/projects", nil, 401},         // no identity
		{alice, "POST", "/v1/tenants/tenant-a/projects", "{nope", 400}, // malformed JSON
		{vera, "POST", "/v1/tenants/tenant-a/projects", map[string]string{"name": "x"}, 403},
		{alice, "GET", "/v1/no-such-route", nil, 404},
	}
	for _, c := range cases {
		buf.Reset()
		r := f.Do(t, c.email, c.method, c.path, c.body)
		require.Equal(t, c.want, r.Status, "%s %s", c.method, c.path)
		var logged []int
		for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			var rec struct {
				Msg    string `json:"msg"`
				Status int    `json:"status"`
			}
			require.NoError(t, json.Unmarshal(line, &rec), string(line))
			if rec.Msg == "request" {
				logged = append(logged, rec.Status)
			}
		}
		require.Equal(t, []int{c.want}, logged, "one request line with the response's status for %s %s", c.method, c.path)
	}
}

// TestRequestLogCarriesIDsNotEmail: the request line names the request,
// the user and the tenant by id, as the database resolved them; the email
// (personal data) is in no line.
func TestRequestLogCarriesIDsNotEmail(t *testing.T) {
	t.Parallel()
	logs := &kit.SyncBuffer{}
	f := setup(t, withLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	type line struct {
		Msg       string `json:"msg"`
		RequestID string `json:"request_id"`
		UserID    string `json:"user_id"`
		TenantID  string `json:"tenant_id"`
		Status    int    `json:"status"`
	}
	last := func() line {
		lines := bytes.Split(bytes.TrimSpace([]byte(logs.String())), []byte("\n"))
		var l line
		require.NoError(t, json.Unmarshal(lines[len(lines)-1], &l))
		require.Equal(t, "request", l.Msg)
		return l
	}
	r := f.Do(t, alice, "GET", "/v1/tenants/tenant-a/projects/"+f.ProjectA.String(), nil)
	require.Equal(t, 200, r.Status)
	require.Equal(t, line{Msg: "request", RequestID: r.Header.Get("X-Request-Id"), UserID: f.Alice.String(), TenantID: f.TenantA.String(), Status: 200}, last())

	r = f.Do(t, bob, "PATCH", "/v1/tenants/tenant-b/projects/"+f.ProjectB.String(), map[string]any{"name": "renamed"})
	require.Equal(t, 200, r.Status)
	require.Equal(t, line{Msg: "request", RequestID: r.Header.Get("X-Request-Id"), UserID: f.Bob.String(), TenantID: f.TenantB.String(), Status: 200}, last(), "writes too")

	r = f.Do(t, alice, "GET", "/v1/me", nil)
	require.Equal(t, line{Msg: "request", RequestID: r.Header.Get("X-Request-Id"), UserID: f.Alice.String(), Status: 200}, last(), "no tenant outside a tenant")

	r = f.Do(t, alice, "GET", "/v1/tenants/tenant-b/projects", nil)
	require.Equal(t, line{Msg: "request", RequestID: r.Header.Get("X-Request-Id"), Status: 404}, last(), "a refused context resolves nothing")

	for _, email := range []string{alice, bob} {
		require.NotContains(t, logs.String(), email)
	}
}
