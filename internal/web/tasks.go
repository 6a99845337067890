package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Task is the API shape of a task.
type Task struct {
	ID        uuid.UUID `json:"id"`
	ProjectID uuid.UUID `json:"project_id"`
	Title     string    `json:"title"`
	Done      bool      `json:"done"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toTask(t dbgen.Task) Task {
	return Task{ID: t.ID, ProjectID: t.ProjectID, Title: t.Title, Done: t.Done, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func taskCursor(t dbgen.Task) cursor { return cursor{CreatedAt: t.CreatedAt, ID: t.ID} }

func trim(s string) string { return strings.TrimSpace(s) }

// GET /projects/:project/tasks. An empty page costs one more statement, to
// tell "no tasks" from "no such project" (404).
func (s *Server) listTasks(c echo.Context) error {
	projectID, err := pathUUID(c, "project")
	if err != nil {
		return err
	}
	limit, after, err := pageParams(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var rows []dbgen.Task
	err = s.scope.Read(ctx, who(c), func(tx *txscope.Tx) error {
		var err error
		if after == nil {
			rows, err = tx.Q.TaskListFirst(ctx, dbgen.TaskListFirstParams{ProjectID: projectID, Lim: int32(limit + 1)})
		} else {
			rows, err = tx.Q.TaskListAfter(ctx, dbgen.TaskListAfterParams{ProjectID: projectID, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, Lim: int32(limit + 1)})
		}
		if err == nil && len(rows) == 0 {
			_, err = tx.Q.ProjectGet(ctx, projectID)
		}
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(rows, limit, toTask, taskCursor))
}

type createTaskRequest struct {
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

// POST /projects/:project/tasks. A project of another tenant is refused by
// the composite foreign key and answered like a missing one (404).
func (s *Server) createTask(c echo.Context) error {
	projectID, err := pathUUID(c, "project")
	if err != nil {
		return err
	}
	var req createTaskRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := validation(checkText("title", req.Title, 1, maxTitleLen, false)); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var t dbgen.Task
	err = s.scope.Write(ctx, who(c), func(tx *txscope.Tx) error {
		var err error
		t, err = tx.Q.TaskCreate(ctx, dbgen.TaskCreateParams{ProjectID: projectID, Title: trim(req.Title), Done: req.Done})
		return err
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, c.Request().URL.Path+"/"+t.ID.String())
	return c.JSON(http.StatusCreated, toTask(t))
}

type updateTaskRequest struct {
	Title *string `json:"title"`
	Done  *bool   `json:"done"`
}

// PATCH /projects/:project/tasks/:task: title and/or done.
func (s *Server) updateTask(c echo.Context) error {
	projectID, err := pathUUID(c, "project")
	if err != nil {
		return err
	}
	taskID, err := pathUUID(c, "task")
	if err != nil {
		return err
	}
	var req updateTaskRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Title == nil && req.Done == nil {
		return validation(&FieldError{Field: "title", Message: "send title and/or done"})
	}
	if req.Title != nil {
		if err := validation(checkText("title", *req.Title, 1, maxTitleLen, false)); err != nil {
			return err
		}
		t := trim(*req.Title)
		req.Title = &t
	}
	ctx := c.Request().Context()
	var t dbgen.Task
	err = s.scope.Write(ctx, who(c), func(tx *txscope.Tx) error {
		t, err = tx.Q.TaskUpdate(ctx, dbgen.TaskUpdateParams{ProjectID: projectID, ID: taskID, Title: req.Title, Done: req.Done})
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toTask(t))
}

// DELETE /projects/:project/tasks/:task
func (s *Server) deleteTask(c echo.Context) error {
	projectID, err := pathUUID(c, "project")
	if err != nil {
		return err
	}
	taskID, err := pathUUID(c, "task")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = s.scope.Write(ctx, who(c), func(tx *txscope.Tx) error {
		n, err := tx.Q.TaskDelete(ctx, dbgen.TaskDeleteParams{ProjectID: projectID, ID: taskID})
		if err == nil && n == 0 {
			return txscope.ErrNotFound
		}
		return err
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
