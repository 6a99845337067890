// Package api is pgtenant's JSON API: routes that decode a request, call
// one internal/tenancy operation and encode its result. Every response
// that is not a success is an RFC 9457 problem with a stable code
// (internal/httpx maps the domain's codes); SQL text, constraint names,
// stack traces and token details never reach a client.
//
// The package holds no rule and runs no query of its own: validation,
// paging, the read-or-write decision and the role check are the
// operations'. It never imports the database layers (a test enforces it).
package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

// Config configures the API routes.
type Config struct {
	// Service performs the operations. Required.
	Service *tenancy.Service
	// Auth verifies identities. Required.
	Auth auth.Authenticator
	// BaseDomain, when set, also serves the tenant routes without the
	// /v1/tenants/{tenant} prefix on {slug}.{BaseDomain}.
	BaseDomain string
}

type handlers struct{ svc *tenancy.Service }

// Mount registers the API's routes on e (an httpx.New instance).
//
// Middleware is attached per route, not per group: Echo's group middleware
// registers catch-all routes that would answer a wrong method with 404
// instead of 405.
func Mount(e *echo.Echo, cfg Config) error {
	if cfg.Service == nil || cfg.Auth == nil {
		return errors.New("api: Config.Service and Config.Auth are required")
	}
	h := &handlers{svc: cfg.Service}
	authn := httpx.AuthWithConfig(httpx.AuthConfig{Authenticator: cfg.Auth})
	e.GET(OpenAPIPath, serveOpenAPI)
	e.GET("/v1/me", h.me, authn)
	h.adminRoutes(e, authn)
	h.tenantRoutes(e, "/v1/tenants/:tenant", authn, tenantFromPath)
	if cfg.BaseDomain != "" {
		h.tenantRoutes(e, "/v1", authn, tenantFromHost(cfg.BaseDomain))
	}
	return nil
}

// tenantRoutes registers the routes that act inside one tenant under prefix.
func (h *handlers) tenantRoutes(e *echo.Echo, prefix string, mw ...echo.MiddlewareFunc) {
	for _, r := range []struct {
		method, path string
		h            echo.HandlerFunc
	}{
		{http.MethodGet, "/projects", listOf(h.svc.ListProjects)},
		{http.MethodPost, "/projects", h.createProject},
		{http.MethodGet, "/projects/:project", h.getProject},
		{http.MethodPatch, "/projects/:project", h.updateProject},
		{http.MethodDelete, "/projects/:project", h.deleteProject},
		{http.MethodGet, "/projects/:project/tasks", h.listTasks},
		{http.MethodPost, "/projects/:project/tasks", h.createTask},
		{http.MethodGet, "/projects/:project/tasks/:task", h.getTask},
		{http.MethodPatch, "/projects/:project/tasks/:task", h.updateTask},
		{http.MethodDelete, "/projects/:project/tasks/:task", h.deleteTask},
		{http.MethodGet, "/projects/:project/tasks/:task/comments", h.listComments},
		{http.MethodPost, "/projects/:project/tasks/:task/comments", h.addComment},
		{http.MethodGet, "/projects/:project/tasks/:task/comments/:comment", h.getComment},
		{http.MethodDelete, "/projects/:project/tasks/:task/comments/:comment", h.deleteComment},
		{http.MethodGet, "/members", listOf(h.svc.ListMembers)},
		{http.MethodPost, "/members", h.addMember},
		{http.MethodGet, "/members/:user", h.getMember},
		{http.MethodPatch, "/members/:user", h.setMemberRole},
		{http.MethodDelete, "/members/:user", h.removeMember},
	} {
		e.Add(r.method, prefix+r.path, r.h, mw...)
	}
}

const keyTenant = "pgtenant.tenant"

func notFound() error { return &tenancy.Error{Code: tenancy.CodeNotFound, Message: "not found"} }

// tenantFromPath takes the tenant from the :tenant path parameter. A key
// that is neither a slug nor a UUID names no tenant: 404 without a query.
func tenantFromPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Param("tenant")
		if !rules.ValidTenantKey(key) {
			return notFound()
		}
		c.Set(keyTenant, strings.ToLower(key))
		return next(c)
	}
}

// tenantFromHost takes the tenant from the subdomain {slug}.{baseDomain}.
func tenantFromHost(baseDomain string) echo.MiddlewareFunc {
	suffix := "." + strings.ToLower(strings.TrimPrefix(baseDomain, "."))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			host := strings.ToLower(c.Request().Host)
			if h, _, ok := strings.Cut(host, ":"); ok {
				host = h
			}
			slug, ok := strings.CutSuffix(host, suffix)
			if !ok || !rules.ValidSlug(slug) {
				return notFound()
			}
			c.Set(keyTenant, slug)
			return next(c)
		}
	}
}

// caller is the request's caller in the tenant its route names.
func caller(c echo.Context) tenancy.Caller {
	tenant, _ := c.Get(keyTenant).(string)
	return httpx.Caller(c, tenant)
}

// reply encodes v with status, or returns err for the error handler. A
// single resource (anything with a version) goes with its ETag.
func reply(c echo.Context, status int, v any, err error) error {
	if err != nil {
		return err
	}
	if r, ok := v.(interface{ ETag() string }); ok {
		c.Response().Header().Set("ETag", r.ETag())
	}
	return c.JSON(status, v)
}

// created answers 201 with Location: the request path and id, a path the
// resource's GET route answers.
func created(c echo.Context, id string, v any, err error) error {
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, c.Request().URL.Path+"/"+id)
	return reply(c, http.StatusCreated, v, nil)
}

// HeaderIfMatch makes a PATCH or DELETE conditional: it applies only while
// the resource still has one of the listed ETags, else 412
// precondition_failed. Without it writes are unconditional.
const HeaderIfMatch = "If-Match"

func ifMatch(c echo.Context) tenancy.Precondition {
	return tenancy.IfMatch(c.Request().Header.Get(HeaderIfMatch))
}

// listOf answers GET with one page of a tenant-wide list operation.
func listOf[T any](list func(context.Context, tenancy.Caller, tenancy.PageRequest) (tenancy.Page[T], error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		r, err := httpx.PageRequest(c)
		if err != nil {
			return err
		}
		p, err := list(c.Request().Context(), caller(c), r)
		return reply(c, http.StatusOK, p, err)
	}
}

// noContent answers 204, or returns err.
func noContent(c echo.Context, err error) error {
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
