package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

type commentBody struct {
	Body string `json:"body"`
}

// GET /projects/:project/tasks/:task/comments?limit=&cursor=
func (h *handlers) listComments(c echo.Context) error {
	ids, err := pathIDs(c, "project", "task")
	if err != nil {
		return err
	}
	r, err := httpx.PageRequest(c)
	if err != nil {
		return err
	}
	p, err := h.svc.ListComments(c.Request().Context(), caller(c), ids[0], ids[1], r)
	return reply(c, http.StatusOK, p, err)
}

// POST /projects/:project/tasks/:task/comments {"body"}
func (h *handlers) addComment(c echo.Context) error {
	ids, err := pathIDs(c, "project", "task")
	if err != nil {
		return err
	}
	var b commentBody
	if err := httpx.DecodeJSON(c, &b); err != nil {
		return err
	}
	cm, err := h.svc.AddComment(c.Request().Context(), caller(c), ids[0], ids[1], tenancy.CommentInput(b))
	return created(c, cm.ID.String(), cm, err)
}

// GET /projects/:project/tasks/:task/comments/:comment
func (h *handlers) getComment(c echo.Context) error {
	ids, err := pathIDs(c, "project", "task", "comment")
	if err != nil {
		return err
	}
	cm, err := h.svc.GetComment(c.Request().Context(), caller(c), ids[0], ids[1], ids[2])
	return reply(c, http.StatusOK, cm, err)
}

// DELETE /projects/:project/tasks/:task/comments/:comment
func (h *handlers) deleteComment(c echo.Context) error {
	ids, err := pathIDs(c, "project", "task", "comment")
	if err != nil {
		return err
	}
	return noContent(c, h.svc.DeleteComment(c.Request().Context(), caller(c), ids[0], ids[1], ids[2], ifMatch(c)))
}
