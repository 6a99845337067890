package tenancy

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Project is a tenant's project.
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

// ProjectInput creates a project. The name is trimmed; the description is
// kept as given (it may span lines).
type ProjectInput struct {
	Name        string
	Description string
}

// ProjectPatch changes a project; nil fields stay as they are.
type ProjectPatch struct {
	Name        *string
	Description *string
}

var projects = lister[dbgen.Project]{
	list: projectList,
	first: func(ctx context.Context, q *dbgen.Queries, lim int32) ([]dbgen.Project, error) {
		return q.ProjectListFirst(ctx, lim)
	},
	after: func(ctx context.Context, q *dbgen.Queries, p position, lim int32) ([]dbgen.Project, error) {
		return q.ProjectListAfter(ctx, dbgen.ProjectListAfterParams{AfterCreatedAt: p.At, AfterID: p.ID, Lim: lim})
	},
	pos: func(p dbgen.Project) position { return position{At: p.CreatedAt, ID: p.ID} },
}

// ListProjects pages through the tenant's projects in creation order.
func (s *Service) ListProjects(ctx context.Context, c Caller, r PageRequest) (Page[Project], error) {
	return readPage(ctx, s, c, projects, r, toProject)
}

// GetProject reads one project.
func (s *Service) GetProject(ctx context.Context, c Caller, id uuid.UUID) (Project, error) {
	return one(ctx, s.read, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.Project, error) {
		return q.ProjectGet(ctx, id)
	}, toProject)
}

// CreateProject creates a project (Owners and Partners). A name taken in the
// tenant is CodeConflict; names in other tenants do not matter.
func (s *Service) CreateProject(ctx context.Context, c Caller, in ProjectInput) (Project, error) {
	var fs fields
	fs.text("name", &in.Name, 1, rules.MaxNameLen, false)
	fs.text("description", &in.Description, 0, rules.MaxDescriptionLen, true)
	if err := fs.err(); err != nil {
		return Project{}, err
	}
	return one(ctx, s.write, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.Project, error) {
		return q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: strings.TrimSpace(in.Name), Description: in.Description})
	}, toProject)
}

// UpdateProject changes a project's name and/or description (Owners and
// Partners), if its version is one pre allows.
func (s *Service) UpdateProject(ctx context.Context, c Caller, id uuid.UUID, in ProjectPatch, pre Precondition) (Project, error) {
	var fs fields
	if in.Name == nil && in.Description == nil {
		fs.add("name", "send name and/or description")
	}
	if in.Name != nil {
		fs.text("name", in.Name, 1, rules.MaxNameLen, false)
		in.Name = trimmed(*in.Name)
	}
	if in.Description != nil {
		fs.text("description", in.Description, 0, rules.MaxDescriptionLen, true)
	}
	if err := fs.err(); err != nil {
		return Project{}, err
	}
	return one(ctx, s.write, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.Project, error) {
		p, err := q.ProjectUpdate(ctx, dbgen.ProjectUpdateParams{ID: id, Name: in.Name, Description: in.Description, IfMatch: pre.versions})
		return updated(pre, p, err, projectExists(ctx, q, id))
	}, toProject)
}

// DeleteProject deletes a project and its tasks (Owners and Partners), if
// its version is one pre allows.
func (s *Service) DeleteProject(ctx context.Context, c Caller, id uuid.UUID, pre Precondition) error {
	return s.write(ctx, c, func(tx *txscope.Tx) error {
		n, err := tx.Q.ProjectDelete(ctx, dbgen.ProjectDeleteParams{ID: id, IfMatch: pre.versions})
		return matched(pre, n, err, projectExists(ctx, tx.Q, id))
	})
}

func projectExists(ctx context.Context, q *dbgen.Queries, id uuid.UUID) func() error {
	return func() error { _, err := q.ProjectGet(ctx, id); return err }
}

// trimmed is s without surrounding white space, as a patch field.
func trimmed(s string) *string {
	t := strings.TrimSpace(s)
	return &t
}

// Task is a task of a project.
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

// TaskInput creates a task; the title is trimmed.
type TaskInput struct {
	Title string
	Done  bool
}

// TaskPatch changes a task; nil fields stay as they are.
type TaskPatch struct {
	Title *string
	Done  *bool
}

func tasksOf(project uuid.UUID) lister[dbgen.Task] {
	return lister[dbgen.Task]{
		list: taskList,
		first: func(ctx context.Context, q *dbgen.Queries, lim int32) ([]dbgen.Task, error) {
			return q.TaskListFirst(ctx, dbgen.TaskListFirstParams{ProjectID: project, Lim: lim})
		},
		after: func(ctx context.Context, q *dbgen.Queries, p position, lim int32) ([]dbgen.Task, error) {
			return q.TaskListAfter(ctx, dbgen.TaskListAfterParams{ProjectID: project, AfterCreatedAt: p.At, AfterID: p.ID, Lim: lim})
		},
		pos: func(t dbgen.Task) position { return position{At: t.CreatedAt, ID: t.ID} },
		parent: func(ctx context.Context, q *dbgen.Queries) error {
			_, err := q.ProjectGet(ctx, project)
			return err
		},
	}
}

// ListTasks pages through a project's tasks in creation order. A project
// that does not exist (or is another tenant's) is CodeNotFound, which costs
// one more statement when the page is empty.
func (s *Service) ListTasks(ctx context.Context, c Caller, project uuid.UUID, r PageRequest) (Page[Task], error) {
	return readPage(ctx, s, c, tasksOf(project), r, toTask)
}

// CreateTask adds a task to a project (Owners and Partners). A project of
// another tenant is refused by the composite foreign key and reported like
// a missing one.
func (s *Service) CreateTask(ctx context.Context, c Caller, project uuid.UUID, in TaskInput) (Task, error) {
	var fs fields
	fs.text("title", &in.Title, 1, rules.MaxTitleLen, false)
	if err := fs.err(); err != nil {
		return Task{}, err
	}
	return one(ctx, s.write, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.Task, error) {
		return q.TaskCreate(ctx, dbgen.TaskCreateParams{ProjectID: project, Title: strings.TrimSpace(in.Title), Done: in.Done})
	}, toTask)
}

// GetTask reads one task of a project.
func (s *Service) GetTask(ctx context.Context, c Caller, project, id uuid.UUID) (Task, error) {
	return one(ctx, s.read, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.Task, error) {
		return q.TaskGet(ctx, dbgen.TaskGetParams{ProjectID: project, ID: id})
	}, toTask)
}

// UpdateTask changes a task's title and/or done flag (Owners and
// Partners), if its version is one pre allows.
func (s *Service) UpdateTask(ctx context.Context, c Caller, project, id uuid.UUID, in TaskPatch, pre Precondition) (Task, error) {
	var fs fields
	if in.Title == nil && in.Done == nil {
		fs.add("title", "send title and/or done")
	}
	if in.Title != nil {
		fs.text("title", in.Title, 1, rules.MaxTitleLen, false)
		in.Title = trimmed(*in.Title)
	}
	if err := fs.err(); err != nil {
		return Task{}, err
	}
	return one(ctx, s.write, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.Task, error) {
		t, err := q.TaskUpdate(ctx, dbgen.TaskUpdateParams{ProjectID: project, ID: id, Title: in.Title, Done: in.Done, IfMatch: pre.versions})
		return updated(pre, t, err, taskExists(ctx, q, project, id))
	}, toTask)
}

// DeleteTask deletes a task of a project (Owners and Partners), if its
// version is one pre allows.
func (s *Service) DeleteTask(ctx context.Context, c Caller, project, id uuid.UUID, pre Precondition) error {
	return s.write(ctx, c, func(tx *txscope.Tx) error {
		n, err := tx.Q.TaskDelete(ctx, dbgen.TaskDeleteParams{ProjectID: project, ID: id, IfMatch: pre.versions})
		return matched(pre, n, err, taskExists(ctx, tx.Q, project, id))
	})
}

func taskExists(ctx context.Context, q *dbgen.Queries, project, id uuid.UUID) func() error {
	return func() error { _, err := q.TaskGet(ctx, dbgen.TaskGetParams{ProjectID: project, ID: id}); return err }
}
