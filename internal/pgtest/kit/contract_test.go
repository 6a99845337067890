package kit

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/httpx"
)

// failures records what Checked reports instead of failing the test.
type failures struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *failures) Helper() {}
func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

const projectJSON = `{"id":"0b8e6a3e-4a0e-4f8e-9a53-2a3c1d9f0b11","name":"Apollo","description":"","created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"%s}`

// TestContractCatchesDrift: the contract check fails a test for each kind
// of drift between a handler and the document, and passes a handler that
// matches it (so the API tests' silence means something).
func TestContractCatchesDrift(t *testing.T) {
	t.Parallel()
	e := httpx.New(httpx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	project := func(extra string, etag bool) echo.HandlerFunc {
		return func(c echo.Context) error {
			if etag {
				c.Response().Header().Set("ETag", `"abc"`)
			}
			return c.Blob(200, "application/json", fmt.Appendf(nil, projectJSON, extra))
		}
	}
	e.GET("/v1/tenants/:tenant/projects/:project", func(c echo.Context) error {
		switch c.Param("tenant") {
		case "extra-field":
			return project(`,"archived":false`, true)(c)
		case "no-etag":
			return project("", false)(c)
		case "teapot":
			return c.JSON(http.StatusTeapot, map[string]string{"status": "brewing"})
		}
		return project("", true)(c)
	})
	e.POST("/v1/tenants/:tenant/projects", func(c echo.Context) error { // accepts anything
		c.Response().Header().Set("ETag", `"abc"`)
		c.Response().Header().Set("Location", "/v1/tenants/acme/projects/0b8e6a3e-4a0e-4f8e-9a53-2a3c1d9f0b11")
		return c.Blob(201, "application/json", fmt.Appendf(nil, projectJSON, ""))
	})
	e.GET("/v1/undocumented", func(c echo.Context) error { return c.JSON(200, map[string]string{}) })

	id := "/projects/0b8e6a3e-4a0e-4f8e-9a53-2a3c1d9f0b11"
	for _, c := range []struct {
		name, method, path, body, want string
	}{
		{"positive control", "GET", "/v1/tenants/acme" + id, "", ""},
		{"positive control, HEAD", "HEAD", "/v1/tenants/acme" + id, "", ""},
		{"unknown path answered with a problem", "GET", "/v1/nope", "", ""},
		{"a field the document lacks", "GET", "/v1/tenants/extra-field" + id, "", `property "archived" is unsupported`},
		{"a promised header missing", "GET", "/v1/tenants/no-etag" + id, "", `"ETag"`},
		{"a status the document lacks", "GET", "/v1/tenants/teapot" + id, "", "status is not supported"},
		{"a forbidden request accepted", "POST", "/v1/tenants/acme/projects", `{"name":"x","tenant_id":"t"}`, "accepted a request the document forbids"},
		{"a path the document lacks", "GET", "/v1/undocumented", "", "no such operation in the document"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &failures{TB: t}
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			Serve(Checked(f, e), req)
			if c.want == "" {
				require.Empty(t, f.errs)
				return
			}
			require.Len(t, f.errs, 1)
			require.Contains(t, f.errs[0], c.want)
		})
	}
}

// TestContractDocumentsEveryCode: the served document loads and validates
// as OpenAPI 3.1, and its Problem schema lists exactly the codes the HTTP
// edge maps to a status (but the dashboard's own csrf_failed).
func TestContractDocumentsEveryCode(t *testing.T) {
	t.Parallel()
	doc := Contract(t)
	require.Equal(t, "3.1.0", doc.OpenAPI)
	var documented []string
	for _, c := range doc.Components.Schemas["Problem"].Value.Properties["code"].Value.Enum {
		documented = append(documented, c.(string))
	}
	var mapped []string
	for _, c := range httpx.Codes() {
		if c != httpx.CodeCSRF {
			mapped = append(mapped, string(c))
		}
	}
	require.ElementsMatch(t, mapped, documented)
}
