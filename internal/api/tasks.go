package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

type taskBody struct {
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

type taskPatchBody struct {
	Title *string `json:"title"`
	Done  *bool   `json:"done"`
}

// pathIDs parses the UUID path parameters names, in order.
func pathIDs(c echo.Context, names ...string) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, len(names))
	for i, n := range names {
		id, err := httpx.PathUUID(c, n)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// GET /projects/:project/tasks?limit=&cursor=
func (h *handlers) listTasks(c echo.Context) error {
	project, err := httpx.PathUUID(c, "project")
	if err != nil {
		return err
	}
	r, err := httpx.PageRequest(c)
	if err != nil {
		return err
	}
	p, err := h.svc.ListTasks(c.Request().Context(), caller(c), project, r)
	return reply(c, http.StatusOK, p, err)
}

// POST /projects/:project/tasks {"title","done"}
func (h *handlers) createTask(c echo.Context) error {
	project, err := httpx.PathUUID(c, "project")
	if err != nil {
		return err
	}
	var b taskBody
	if err := httpx.DecodeJSON(c, &b); err != nil {
		return err
	}
	t, err := h.svc.CreateTask(c.Request().Context(), caller(c), project, tenancy.TaskInput(b))
	return created(c, t.ID.String(), t, err)
}

// GET /projects/:project/tasks/:task
func (h *handlers) getTask(c echo.Context) error {
	ids, err := pathIDs(c, "project", "task")
	if err != nil {
		return err
	}
	t, err := h.svc.GetTask(c.Request().Context(), caller(c), ids[0], ids[1])
	return reply(c, http.StatusOK, t, err)
}

// PATCH /projects/:project/tasks/:task {"title","done"}
func (h *handlers) updateTask(c echo.Context) error {
	ids, err := pathIDs(c, "project", "task")
	if err != nil {
		return err
	}
	var b taskPatchBody
	if err := httpx.DecodeJSON(c, &b); err != nil {
		return err
	}
	t, err := h.svc.UpdateTask(c.Request().Context(), caller(c), ids[0], ids[1], tenancy.TaskPatch(b), ifMatch(c))
	return reply(c, http.StatusOK, t, err)
}

// DELETE /projects/:project/tasks/:task
func (h *handlers) deleteTask(c echo.Context) error {
	ids, err := pathIDs(c, "project", "task")
	if err != nil {
		return err
	}
	return noContent(c, h.svc.DeleteTask(c.Request().Context(), caller(c), ids[0], ids[1], ifMatch(c)))
}
