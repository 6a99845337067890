package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/web"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// headerAuth is a test authenticator: the identity is the X-Test-Email
// header. It stands in for the real modes, which have tests of their own.
type headerAuth struct{}

func (headerAuth) Authenticate(r *http.Request) (auth.Identity, error) {
	e := r.Header.Get("X-Test-Email")
	if e == "" {
		return auth.Identity{}, auth.ErrUnauthenticated
	}
	return auth.Identity{Email: rules.NormalizeEmail(e), Method: "test"}, nil
}
func (headerAuth) Ready() bool     { return true }
func (headerAuth) Mode() auth.Mode { return "test" }

type fixture struct {
	srv                *web.Server
	db                 *pgtest.DB
	fx                 *pgtest.Fixtures
	tenantA, tenantB   uuid.UUID
	projectA, projectB uuid.UUID
	taskA, taskB       uuid.UUID
	viewerA, viewerB   uuid.UUID          // vera (A) and vic (B), client viewers
	queries            *pgtest.RoundTrips // what the scope sent
}

func (f *fixture) super(t *testing.T) *pgx.Conn { return pgtest.Conn(t, f.db.SuperURL) }

const (
	alice = pgtest.AliceEmail // partner of A
	bob   = pgtest.BobEmail   // partner of B
	vera  = pgtest.VeraEmail  // client viewer of A
	olga  = pgtest.OlgaEmail
)

func setup(t *testing.T, mod ...func(*web.Config)) *fixture {
	t.Helper()
	w := pgtest.NewWorld(t)
	f := &fixture{db: w.DB, fx: w.Fx, tenantA: w.TenantA, tenantB: w.TenantB, projectA: w.ProjectA, projectB: w.ProjectB,
		taskA: w.TaskA, taskB: w.TaskB, viewerA: w.Vera, viewerB: w.Vic, queries: &pgtest.RoundTrips{}}
	cfg := web.Config{
		Scope: kit.Scope(t, w.DB, kit.Traced(f.queries)), Auth: headerAuth{},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		BodyLimit: 4096,
	}
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := web.New(cfg)
	require.NoError(t, err)
	f.srv = srv
	return f
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), string(r.body))
}

func (r response) problem(t *testing.T) web.Problem {
	t.Helper()
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"), string(r.body))
	var p web.Problem
	r.json(t, &p)
	require.Equal(t, r.status, p.Status)
	require.NotEmpty(t, p.Code)
	require.NotEmpty(t, p.RequestID)
	return p
}

func (f *fixture) do(t *testing.T, email, method, path string, body any) response {
	t.Helper()
	return f.doHost(t, "", email, method, path, body)
}

func (f *fixture) doHost(t *testing.T, host, email, method, path string, body ...any) response {
	t.Helper()
	var b any
	if len(body) > 0 {
		b = body[0]
	}
	return f.send(t, host, email, method, path, b)
}

func (f *fixture) send(t *testing.T, host, email, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, rd)
	if host != "" {
		req.Host = host
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if email != "" {
		req.Header.Set("X-Test-Email", email)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.do(t, "", "GET", "/healthz", nil)
	require.Equal(t, 200, r.status)
	r = f.do(t, "", "GET", "/readyz", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.NotEmpty(t, r.header.Get("X-Request-Id"))
}

func TestProjectsCRUD(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := "/v1/tenants/tenant-a/projects"

	r := f.do(t, alice, "POST", base, map[string]string{"name": "  Zeus  ", "description": "line one\nline two"})
	require.Equal(t, 201, r.status, string(r.body))
	var p web.Project
	r.json(t, &p)
	require.Equal(t, "Zeus", p.Name)
	require.Equal(t, base+"/"+p.ID.String(), r.header.Get("Location"))

	r = f.do(t, alice, "GET", base+"/"+p.ID.String(), nil)
	require.Equal(t, 200, r.status)

	r = f.do(t, alice, "PATCH", base+"/"+p.ID.String(), map[string]string{"name": "Zeus 2"})
	require.Equal(t, 200, r.status, string(r.body))
	var up web.Project
	r.json(t, &up)
	require.Equal(t, "Zeus 2", up.Name)
	require.Equal(t, "line one\nline two", up.Description)

	r = f.do(t, alice, "POST", base, map[string]string{"name": "Zeus 2"})
	require.Equal(t, 409, r.status)
	require.Equal(t, web.CodeConflict, r.problem(t).Code)

	r = f.do(t, alice, "DELETE", base+"/"+p.ID.String(), nil)
	require.Equal(t, 204, r.status)
	r = f.do(t, alice, "GET", base+"/"+p.ID.String(), nil)
	require.Equal(t, 404, r.status)
	r = f.do(t, alice, "DELETE", base+"/"+p.ID.String(), nil)
	require.Equal(t, 404, r.status)

	// The tenant by id works like the slug.
	r = f.do(t, alice, "GET", "/v1/tenants/"+f.tenantA.String()+"/projects/"+f.projectA.String(), nil)
	require.Equal(t, 200, r.status)
}

func TestTasksCRUD(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := "/v1/tenants/tenant-a/projects/" + f.projectA.String() + "/tasks"

	r := f.do(t, alice, "POST", base, map[string]any{"title": "write tests"})
	require.Equal(t, 201, r.status, string(r.body))
	var task web.Task
	r.json(t, &task)
	require.False(t, task.Done)
	require.Equal(t, f.projectA, task.ProjectID)

	r = f.do(t, alice, "PATCH", base+"/"+task.ID.String(), map[string]any{"done": true})
	require.Equal(t, 200, r.status, string(r.body))
	r.json(t, &task)
	require.True(t, task.Done)
	require.Equal(t, "write tests", task.Title)

	r = f.do(t, alice, "PATCH", base+"/"+task.ID.String(), map[string]any{"title": "write more tests"})
	require.Equal(t, 200, r.status)
	r.json(t, &task)
	require.Equal(t, "write more tests", task.Title)
	require.True(t, task.Done)

	var page web.Page[web.Task]
	r = f.do(t, alice, "GET", base, nil)
	require.Equal(t, 200, r.status)
	r.json(t, &page)
	require.Len(t, page.Items, 2)

	r = f.do(t, alice, "DELETE", base+"/"+task.ID.String(), nil)
	require.Equal(t, 204, r.status)
	r = f.do(t, alice, "DELETE", base+"/"+task.ID.String(), nil)
	require.Equal(t, 404, r.status)

	// Tasks of a project that does not exist (or is another tenant's): 404.
	for _, pid := range []uuid.UUID{uuid.New(), f.projectB} {
		r = f.do(t, alice, "GET", "/v1/tenants/tenant-a/projects/"+pid.String()+"/tasks", nil)
		require.Equal(t, 404, r.status)
		r = f.do(t, alice, "POST", "/v1/tenants/tenant-a/projects/"+pid.String()+"/tasks", map[string]any{"title": "x"})
		require.Equal(t, 404, r.status, string(r.body))
	}
}

// TestOtherTenantsResourcesAre404: a partner of A naming B's resources,
// through A's path or B's, gets 404 (never 403 or 500): no oracle.
func TestOtherTenantsResourcesAre404(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pb, tb := f.projectB.String(), f.taskB.String()
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
		{"GET", "/v1/tenants/" + f.tenantB.String() + "/projects"},
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
		r := f.do(t, alice, c.method, c.path, body)
		require.Equal(t, 404, r.status, "%s %s: %s", c.method, c.path, r.body)
		require.Equal(t, web.CodeNotFound, r.problem(t).Code)
	}
	// Positive control: bob reaches the same resources.
	r := f.do(t, bob, "GET", "/v1/tenants/tenant-b/projects/"+pb, nil)
	require.Equal(t, 200, r.status)
	// And B's rows are untouched.
	r = f.do(t, bob, "GET", "/v1/tenants/tenant-b/projects/"+pb+"/tasks", nil)
	var page web.Page[web.Task]
	r.json(t, &page)
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
		code               string
	}{
		{"malformed project id", "GET", base + "/123", nil, "", 400, web.CodeInvalidID},
		{"malformed task id", "PATCH", base + "/" + f.projectA.String() + "/tasks/nope", map[string]any{"done": true}, "", 400, web.CodeInvalidID},
		{"malformed cursor", "GET", base + "?cursor=!!!", nil, "", 400, web.CodeInvalidCursor},
		{"cursor of wrong length", "GET", base + "?cursor=AAAA", nil, "", 400, web.CodeInvalidCursor},
		{"limit zero", "GET", base + "?limit=0", nil, "", 400, web.CodeInvalidLimit},
		{"limit too big", "GET", base + "?limit=101", nil, "", 400, web.CodeInvalidLimit},
		{"limit not a number", "GET", base + "?limit=ten", nil, "", 400, web.CodeInvalidLimit},
		{"unknown field", "POST", base, map[string]any{"name": "x", "tenant_id": f.tenantB}, "", 400, web.CodeUnknownField},
		{"not json", "POST", base, "{name:", "", 400, web.CodeInvalidJSON},
		{"empty body", "POST", base, "", "", 400, web.CodeInvalidJSON},
		{"two objects", "POST", base, `{"name":"a"}{"name":"b"}`, "", 400, web.CodeInvalidJSON},
		{"wrong type", "POST", base, `{"name":42}`, "", 400, web.CodeInvalidJSON},
		{"oversized body", "POST", base, big, "", 413, web.CodeTooLarge},
		{"wrong content type", "POST", base, `{"name":"a"}`, "text/plain", 415, web.CodeMediaType},
		{"blank name", "POST", base, map[string]any{"name": "   "}, "", 422, web.CodeValidation},
		{"name too long", "POST", base, map[string]any{"name": strings.Repeat("n", 201)}, "", 422, web.CodeValidation},
		{"control char", "POST", base, map[string]any{"name": "a\x07b"}, "", 422, web.CodeValidation},
		{"empty patch", "PATCH", base + "/" + f.projectA.String(), map[string]any{}, "", 422, web.CodeValidation},
		{"unknown route", "GET", "/v1/nope", nil, "", 404, web.CodeNotFound},
		{"wrong method", "PUT", base, nil, "", 405, web.CodeMethod},
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
			req.Header.Set("X-Test-Email", alice)
			rec := httptest.NewRecorder()
			f.srv.ServeHTTP(rec, req)
			r := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
			require.Equal(t, c.status, r.status, string(r.body))
			p := r.problem(t)
			require.Equal(t, c.code, p.Code)
			for _, leak := range []string{"SQLSTATE", "violates", "constraint", "pgx", "goroutine", "projects_"} {
				require.NotContains(t, string(r.body), leak)
			}
		})
	}
}

func TestUnauthenticatedAndUnknownUser(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.do(t, "", "GET", "/v1/me", nil)
	require.Equal(t, 401, r.status)
	require.Equal(t, web.CodeUnauthenticated, r.problem(t).Code)
	r = f.do(t, "stranger@x.example", "GET", "/v1/me", nil)
	require.Equal(t, 403, r.status)
	require.Equal(t, web.CodeUnknownUser, r.problem(t).Code)
	r = f.do(t, "stranger@x.example", "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 403, r.status)
}

func TestMe(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.do(t, "ALICE@a.example", "GET", "/v1/me", nil)
	require.Equal(t, 200, r.status, string(r.body))
	var me web.Me
	r.json(t, &me)
	require.Equal(t, alice, me.User.Email)
	require.False(t, me.IsOwner)
	require.Len(t, me.Memberships, 1)
	require.Equal(t, "tenant-a", me.Memberships[0].TenantSlug)
	require.Equal(t, "partner", me.Memberships[0].Role)

	r = f.do(t, olga, "GET", "/v1/me", nil)
	r.json(t, &me)
	require.True(t, me.IsOwner)
	require.Empty(t, me.Memberships)
}

func TestPagination(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for i := 0; i < 6; i++ {
		f.fx.Project(t, f.tenantA, "p"+string(rune('0'+i)))
	}
	f.fx.Project(t, f.tenantB, "b-extra")
	seen := map[uuid.UUID]bool{}
	next := ""
	pages := 0
	for {
		path := "/v1/tenants/tenant-a/projects?limit=3"
		if next != "" {
			path += "&cursor=" + next
		}
		r := f.do(t, alice, "GET", path, nil)
		require.Equal(t, 200, r.status, string(r.body))
		var page web.Page[web.Project]
		r.json(t, &page)
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
	r := f.do(t, vera, "GET", "/v1/tenants/tenant-a/projects", nil)
	require.Equal(t, 200, r.status)
	r = f.do(t, vera, "POST", "/v1/tenants/tenant-a/projects", map[string]any{"name": "nope"})
	require.Equal(t, 403, r.status)
	require.Equal(t, web.CodeForbidden, r.problem(t).Code)
}

func TestPanicIsA500Problem(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.srv.Echo().GET("/boom", func(c echo.Context) error { panic("kaboom: secret detail") })
	r := f.do(t, "", "GET", "/boom", nil)
	require.Equal(t, 500, r.status)
	require.Equal(t, web.CodeInternal, r.problem(t).Code)
	require.NotContains(t, string(r.body), "kaboom")
	require.NotContains(t, string(r.body), "goroutine")
}

// The request log line carries the status the client received, for errors
// too (an operator reading the log must see the 404s and 401s).
func TestRequestLogStatusMatchesResponse(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	f := setup(t, func(c *web.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	})
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
		r := f.do(t, c.email, c.method, c.path, c.body)
		require.Equal(t, c.want, r.status, "%s %s", c.method, c.path)
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
