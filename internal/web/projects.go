package web

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Project is the API shape of a project.
type Project struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toProject(p dbgen.Project) Project {
	return Project{ID: p.ID, Name: p.Name, Description: p.Description, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func projectCursor(p dbgen.Project) cursor { return cursor{CreatedAt: p.CreatedAt, ID: p.ID} }

// Field limits, in characters; the database's check constraints agree.
const (
	maxNameLen        = 200
	maxDescriptionLen = 10000
	maxTitleLen       = 500
)

// GET /projects?limit=&cursor=: keyset pagination in creation order.
func (s *Server) listProjects(c echo.Context) error {
	limit, after, err := pageParams(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var rows []dbgen.Project
	err = s.scope.Read(ctx, who(c), func(tx *txscope.Tx) error {
		var err error
		if after == nil {
			rows, err = tx.Q.ProjectListFirst(ctx, int32(limit+1))
		} else {
			rows, err = tx.Q.ProjectListAfter(ctx, dbgen.ProjectListAfterParams{AfterCreatedAt: after.CreatedAt, AfterID: after.ID, Lim: int32(limit + 1)})
		}
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(rows, limit, toProject, projectCursor))
}

type createProjectRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// POST /projects
func (s *Server) createProject(c echo.Context) error {
	var req createProjectRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := validation(
		checkText("name", req.Name, 1, maxNameLen, false),
		checkText("description", req.Description, 0, maxDescriptionLen, true),
	); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var p dbgen.Project
	err := s.scope.Write(ctx, who(c), func(tx *txscope.Tx) error {
		var err error
		p, err = tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: trim(req.Name), Description: req.Description})
		return err
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, c.Request().URL.Path+"/"+p.ID.String())
	return c.JSON(http.StatusCreated, toProject(p))
}

// GET /projects/:project
func (s *Server) getProject(c echo.Context) error {
	id, err := pathUUID(c, "project")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var p dbgen.Project
	err = s.scope.Read(ctx, who(c), func(tx *txscope.Tx) error {
		p, err = tx.Q.ProjectGet(ctx, id)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProject(p))
}

type updateProjectRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// PATCH /projects/:project: fields absent (or null) stay as they are.
func (s *Server) updateProject(c echo.Context) error {
	id, err := pathUUID(c, "project")
	if err != nil {
		return err
	}
	var req updateProjectRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Name == nil && req.Description == nil {
		return validation(&FieldError{Field: "name", Message: "send name and/or description"})
	}
	var fes []*FieldError
	if req.Name != nil {
		fes = append(fes, checkText("name", *req.Name, 1, maxNameLen, false))
		n := trim(*req.Name)
		req.Name = &n
	}
	if req.Description != nil {
		fes = append(fes, checkText("description", *req.Description, 0, maxDescriptionLen, true))
	}
	if err := validation(fes...); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var p dbgen.Project
	err = s.scope.Write(ctx, who(c), func(tx *txscope.Tx) error {
		p, err = tx.Q.ProjectUpdate(ctx, dbgen.ProjectUpdateParams{ID: id, Name: req.Name, Description: req.Description})
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProject(p))
}

// DELETE /projects/:project (its tasks go with it).
func (s *Server) deleteProject(c echo.Context) error {
	id, err := pathUUID(c, "project")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = s.scope.Write(ctx, who(c), func(tx *txscope.Tx) error {
		n, err := tx.Q.ProjectDelete(ctx, id)
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
