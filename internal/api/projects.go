package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

type projectBody struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type projectPatchBody struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// POST /projects {"name","description"}
func (h *handlers) createProject(c echo.Context) error {
	var b projectBody
	if err := httpx.DecodeJSON(c, &b); err != nil {
		return err
	}
	p, err := h.svc.CreateProject(c.Request().Context(), caller(c), tenancy.ProjectInput(b))
	return created(c, p.ID.String(), p, err)
}

// GET /projects/:project
func (h *handlers) getProject(c echo.Context) error {
	id, err := httpx.PathUUID(c, "project")
	if err != nil {
		return err
	}
	p, err := h.svc.GetProject(c.Request().Context(), caller(c), id)
	return reply(c, http.StatusOK, p, err)
}

// PATCH /projects/:project: fields absent (or null) stay as they are.
func (h *handlers) updateProject(c echo.Context) error {
	id, err := httpx.PathUUID(c, "project")
	if err != nil {
		return err
	}
	var b projectPatchBody
	if err := httpx.DecodeJSON(c, &b); err != nil {
		return err
	}
	p, err := h.svc.UpdateProject(c.Request().Context(), caller(c), id, tenancy.ProjectPatch(b), ifMatch(c))
	return reply(c, http.StatusOK, p, err)
}

// DELETE /projects/:project (its tasks go with it).
func (h *handlers) deleteProject(c echo.Context) error {
	id, err := httpx.PathUUID(c, "project")
	if err != nil {
		return err
	}
	return noContent(c, h.svc.DeleteProject(c.Request().Context(), caller(c), id, ifMatch(c)))
}
