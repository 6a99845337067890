package tenancy

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Comment is a comment on a task. AuthorEmail is empty when the caller may
// not see the author's user row (an Owner who is no member, a former
// member): the users policy shows co-members only, and a comment is no way
// around it.
type Comment struct {
	ID          uuid.UUID  `json:"id"`
	TaskID      uuid.UUID  `json:"task_id"`
	AuthorID    *uuid.UUID `json:"author_id"`
	AuthorEmail string     `json:"author_email"`
	Body        string     `json:"body"`
	CreatedAt   time.Time  `json:"created_at"`
}

// CommentInput adds a comment: its body, kept as written (it may span
// lines), 1 to rules.MaxCommentLen characters once trimmed.
type CommentInput struct {
	Body string
}

func commentsOf(project, task uuid.UUID) lister[dbgen.CommentListFirstRow] {
	return lister[dbgen.CommentListFirstRow]{
		list: commentList,
		first: func(ctx context.Context, q *dbgen.Queries, lim int32) ([]dbgen.CommentListFirstRow, error) {
			return q.CommentListFirst(ctx, dbgen.CommentListFirstParams{ProjectID: project, TaskID: task, Lim: lim})
		},
		after: func(ctx context.Context, q *dbgen.Queries, p position, lim int32) ([]dbgen.CommentListFirstRow, error) {
			rows, err := q.CommentListAfter(ctx, dbgen.CommentListAfterParams{ProjectID: project, TaskID: task, AfterCreatedAt: p.At, AfterID: p.ID, Lim: lim})
			out := make([]dbgen.CommentListFirstRow, len(rows))
			for i, r := range rows {
				out[i] = dbgen.CommentListFirstRow(r)
			}
			return out, err
		},
		pos: func(c dbgen.CommentListFirstRow) position { return position{At: c.CreatedAt, ID: c.ID} },
		parent: func(ctx context.Context, q *dbgen.Queries) error {
			_, err := q.TaskGet(ctx, dbgen.TaskGetParams{ProjectID: project, ID: task})
			return err
		},
	}
}

func toComment(c dbgen.CommentListFirstRow) Comment {
	return Comment{ID: c.ID, TaskID: c.TaskID, AuthorID: c.AuthorID, AuthorEmail: c.AuthorEmail, Body: c.Body, CreatedAt: c.CreatedAt}
}

// ListComments pages through a task's comments, oldest first; every role
// may. A task that is not in the project (or another tenant's) is
// CodeNotFound.
func (s *Service) ListComments(ctx context.Context, c Caller, project, task uuid.UUID, r PageRequest) (Page[Comment], error) {
	return readPage(ctx, s, c, commentsOf(project, task), r, toComment)
}

// AddComment adds a comment to a task, in the caller's name (Owners and
// Partners).
func (s *Service) AddComment(ctx context.Context, c Caller, project, task uuid.UUID, in CommentInput) (Comment, error) {
	var fs fields
	fs.text("body", &in.Body, 1, rules.MaxCommentLen, true)
	if err := fs.err(); err != nil {
		return Comment{}, err
	}
	return one(ctx, s.write, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.CommentCreateRow, error) {
		return q.CommentCreate(ctx, dbgen.CommentCreateParams{ProjectID: project, TaskID: task, Body: in.Body})
	}, func(r dbgen.CommentCreateRow) Comment {
		return Comment{ID: r.ID, TaskID: r.TaskID, AuthorID: r.AuthorID, AuthorEmail: c.Email, Body: r.Body, CreatedAt: r.CreatedAt}
	})
}

// GetComment reads one comment of a task; every role may.
func (s *Service) GetComment(ctx context.Context, c Caller, project, task, id uuid.UUID) (Comment, error) {
	return one(ctx, s.read, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.CommentListFirstRow, error) {
		return commentGet(ctx, q, project, task, id)
	}, toComment)
}

func commentGet(ctx context.Context, q *dbgen.Queries, project, task, id uuid.UUID) (dbgen.CommentListFirstRow, error) {
	r, err := q.CommentGet(ctx, dbgen.CommentGetParams{ProjectID: project, TaskID: task, ID: id})
	return dbgen.CommentListFirstRow(r), err
}

// DeleteComment deletes a comment of a task (Owners and Partners), if its
// version is one pre allows.
func (s *Service) DeleteComment(ctx context.Context, c Caller, project, task, id uuid.UUID, pre Precondition) error {
	return s.write(ctx, c, func(tx *txscope.Tx) error {
		n, err := tx.Q.CommentDelete(ctx, dbgen.CommentDeleteParams{ProjectID: project, TaskID: task, ID: id, IfMatch: pre.versions})
		return matched(pre, n, err, func() error { _, err := commentGet(ctx, tx.Q, project, task, id); return err })
	})
}
