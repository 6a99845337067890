package kit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/pgtenant/pgtenant/internal/api"
)

// The contract test: every request a test sends through an App (or a
// handler wrapped with Checked) to the JSON API, and every answer, is
// validated against the OpenAPI document the server serves
// (internal/api/openapi.yaml). A handler that changes the shape of a
// response, adds a status or drops a header the document promises fails
// every test that meets it, until the document says so too.

// contract is the loaded document and its router.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
})

// Contract returns the loaded OpenAPI document (it fails t when the
// document does not load or is not valid OpenAPI 3.1).
func Contract(t testing.TB) *openapi3.T {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatalf("kit: %v", err)
	}
	return c.doc
}

// Checked wraps h: every request to an API path (/v1/..., /healthz,
// /readyz) and its answer are validated against the OpenAPI document, and
// a mismatch fails t:
//
//   - the answer's status must be one the operation documents, with the
//     headers and body schema documented for it (HEAD: the GET's status
//     and headers, no body);
//   - a request the document forbids (a missing header, an unknown field,
//     a malformed id) must be refused with a 4xx;
//   - a path or method the document does not have must answer 404 or 405
//     with a problem.
//
// Other paths (the dashboard's) pass unchecked.
func Checked(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatalf("kit: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if apiPath(r.URL.Path) {
			if err := c.check(r, body, rec); err != nil {
				t.Errorf("contract (internal/api/openapi.yaml): %s %s -> %d: %v\nresponse body: %s", r.Method, r.URL, rec.Code, err, truncate(rec.Body.Bytes()))
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func apiPath(p string) bool {
	return strings.HasPrefix(p, "/v1/") || p == "/healthz" || p == "/readyz"
}

// hostTenantPath is a tenant route in its BASE_DOMAIN form.
var hostTenantPath = regexp.MustCompile(`^/v1/(projects|members)(/|$)`)

func (c *contract) check(r *http.Request, body []byte, rec *httptest.ResponseRecorder) error {
	ctx := context.Background()
	req := r.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(body))
	head := req.Method == http.MethodHead
	if head {
		req.Method = http.MethodGet // HEAD is documented once, as "every GET answers HEAD"
	}
	if hostTenantPath.MatchString(req.URL.Path) {
		// {slug}.BASE_DOMAIN/v1/projects is /v1/tenants/{slug}/projects.
		slug, _, _ := strings.Cut(req.Host, ".")
		req.URL.Path = "/v1/tenants/" + slug + strings.TrimPrefix(req.URL.Path, "/v1")
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			return fmt.Errorf("no such operation in the document (%v), yet the server answered %d", err, rec.Code)
		}
		return c.problem(rec, head)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && rec.Code < 400 {
		return fmt.Errorf("the server accepted a request the document forbids: %w", reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: head},
	}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("the answer does not match the document: %w", err)
	}
	if head && rec.Body.Len() > 0 {
		return errors.New("HEAD answered with a body")
	}
	return nil
}

// problem checks an answer for a path or method the document does not
// have against the Problem schema.
func (c *contract) problem(rec *httptest.ResponseRecorder, head bool) error {
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("a %d outside the document must be a problem, got content type %q", rec.Code, ct)
	}
	if head {
		return nil
	}
	var v any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		return err
	}
	return c.doc.Components.Schemas["Problem"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

func truncate(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "..."
	}
	return string(b)
}
