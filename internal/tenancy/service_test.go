package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// env is the World with a service on a traced scope, connected as the
// runtime role (and the admin role for audited work).
type env struct {
	*pgtest.World
	svc *tenancy.Service
	rt  *pgtest.RoundTrips
}

func setup(t *testing.T, opts ...func(*tenancy.Config)) *env {
	t.Helper()
	w := pgtest.NewWorld(t)
	rt := &pgtest.RoundTrips{}
	return &env{World: w, rt: rt, svc: kit.Service(t, kit.Scope(t, w.DB, kit.Traced(rt)), opts...)}
}

var (
	alice = tenancy.Caller{Email: pgtest.AliceEmail, Tenant: pgtest.TenantASlug}
	bob   = tenancy.Caller{Email: pgtest.BobEmail, Tenant: pgtest.TenantBSlug}
	vera  = tenancy.Caller{Email: pgtest.VeraEmail, Tenant: pgtest.TenantASlug}
	olga  = tenancy.Caller{Email: pgtest.OlgaEmail, RequestID: "req-1", ClientAddr: "192.0.2.1"}
)

func in(c tenancy.Caller, tenant string) tenancy.Caller { c.Tenant = tenant; return c }

func requireCode(t *testing.T, want tenancy.Code, err error, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, want, tenancy.ErrorCode(err), msgAndArgs...)
}

// TestErrorMapping: the scope's errors become codes; an *Error passes
// through wrapping; the cause stays for logs and never becomes the message.
func TestErrorMapping(t *testing.T) {
	t.Parallel()
	secret := errors.New(`ERROR: duplicate key value violates unique constraint "projects_name_key" (SQLSTATE 23505)`)
	for err, want := range map[error]tenancy.Code{
		fmt.Errorf("%w: %w", txscope.ErrNotFound, secret):  tenancy.CodeNotFound,
		txscope.ErrTenantNotFound:                          tenancy.CodeNotFound,
		txscope.ErrUnknownUser:                             tenancy.CodeUnknownUser,
		fmt.Errorf("%w: %w", txscope.ErrForbidden, secret): tenancy.CodeForbidden,
		fmt.Errorf("%w: %w", txscope.ErrConflict, secret):  tenancy.CodeConflict,
		fmt.Errorf("%w: %w", txscope.ErrInvalid, secret):   tenancy.CodeValidation,
		txscope.ErrReasonRequired:                          tenancy.CodeReasonRequired,
		txscope.ErrUnavailable:                             tenancy.CodeUnavailable,
		txscope.ErrContextKey:                              tenancy.CodeUnavailable,
		txscope.ErrTaintedSession:                          tenancy.CodeUnavailable,
		txscope.ErrNoAdmin:                                 tenancy.CodeUnavailable,
		context.DeadlineExceeded:                           tenancy.CodeUnavailable,
		secret:                                             tenancy.CodeInternal,
		context.Canceled:                                   tenancy.CodeInternal,
		fmt.Errorf("op: %w", &tenancy.Error{Code: tenancy.CodeOwnerOnly, Message: "only owners"}): tenancy.CodeOwnerOnly,
	} {
		e := tenancy.AsError(err)
		require.Equal(t, want, e.Code, "%v", err)
		require.NotEmpty(t, e.Message)
		require.NotContains(t, e.Message, "projects_name_key")
		require.NotContains(t, e.Message, "SQLSTATE")
		if want != tenancy.CodeOwnerOnly {
			require.ErrorIs(t, e, err, "the cause stays reachable for logs")
		}
	}
	require.Equal(t, tenancy.Code(""), tenancy.ErrorCode(nil))
}

// TestProjectsIsolationAndRoles runs the project operations against real
// Postgres as the runtime role: own rows (positive control), the other
// tenant's rows invisible and untouchable (denial), and the role check.
func TestProjectsIsolationAndRoles(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()

	page, err := e.svc.ListProjects(ctx, alice, tenancy.PageRequest{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, "Apollo", page.Items[0].Name)

	p, err := e.svc.CreateProject(ctx, alice, tenancy.ProjectInput{Name: "  Zeus ", Description: "a\nb"})
	require.NoError(t, err)
	require.Equal(t, "Zeus", p.Name)
	_, err = e.svc.CreateProject(ctx, alice, tenancy.ProjectInput{Name: "Zeus"})
	requireCode(t, tenancy.CodeConflict, err)
	_, err = e.svc.CreateProject(ctx, bob, tenancy.ProjectInput{Name: "Zeus"})
	require.NoError(t, err, "the same name in another tenant: no oracle")

	// B's project through A: invisible for every operation.
	_, err = e.svc.GetProject(ctx, alice, e.ProjectB)
	requireCode(t, tenancy.CodeNotFound, err)
	name := "hijacked"
	_, err = e.svc.UpdateProject(ctx, alice, e.ProjectB, tenancy.ProjectPatch{Name: &name}, tenancy.Precondition{})
	requireCode(t, tenancy.CodeNotFound, err)
	requireCode(t, tenancy.CodeNotFound, e.svc.DeleteProject(ctx, alice, e.ProjectB, tenancy.Precondition{}))
	got, err := e.svc.GetProject(ctx, bob, e.ProjectB)
	require.NoError(t, err)
	require.Equal(t, "Borealis", got.Name, "B's project untouched")
	// A tenant alice is not in.
	_, err = e.svc.ListProjects(ctx, in(alice, pgtest.TenantBSlug), tenancy.PageRequest{})
	requireCode(t, tenancy.CodeNotFound, err)

	// The viewer reads, and is refused writes in the first round trip,
	// before any statement of the operation.
	_, err = e.svc.GetProject(ctx, vera, e.ProjectA)
	require.NoError(t, err)
	e.rt.Reset()
	_, err = e.svc.CreateProject(ctx, vera, tenancy.ProjectInput{Name: "viewer-made"})
	requireCode(t, tenancy.CodeForbidden, err)
	require.Equal(t, int64(2), e.rt.Load(), "BEGIN with app.enter, then ROLLBACK: no statement of the operation")

	// Validation runs before any query.
	e.rt.Reset()
	_, err = e.svc.CreateProject(ctx, alice, tenancy.ProjectInput{Name: "  ", Description: "bell\x07"})
	requireCode(t, tenancy.CodeValidation, err)
	require.Len(t, tenancy.AsError(err).Fields, 2)
	_, err = e.svc.UpdateProject(ctx, alice, e.ProjectA, tenancy.ProjectPatch{}, tenancy.Precondition{})
	requireCode(t, tenancy.CodeValidation, err)
	require.Zero(t, e.rt.Load(), "no query for invalid input")

	require.NoError(t, e.svc.DeleteProject(ctx, alice, p.ID, tenancy.Precondition{}))
	requireCode(t, tenancy.CodeNotFound, e.svc.DeleteProject(ctx, alice, p.ID, tenancy.Precondition{}))
}

// TestWritesRefusedByTheDatabaseWithoutTheGoCheck: with SkipRoleCheck the
// viewer's writes reach Postgres, which refuses them on its own.
func TestWritesRefusedByTheDatabaseWithoutTheGoCheck(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *tenancy.Config) { c.SkipRoleCheck = true })
	ctx := context.Background()
	_, err := e.svc.CreateProject(ctx, vera, tenancy.ProjectInput{Name: "viewer-made"})
	requireCode(t, tenancy.CodeForbidden, err)
	_, err = e.svc.AddMember(ctx, vera, tenancy.MemberInput{Email: "x@x.example", Role: "partner"})
	requireCode(t, tenancy.CodeForbidden, err)
	_, err = e.svc.CreateProject(ctx, alice, tenancy.ProjectInput{Name: "partner-made"})
	require.NoError(t, err, "positive control")
}

func TestTasksAndPaging(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	for i := range 4 {
		_, err := e.svc.CreateTask(ctx, alice, e.ProjectA, tenancy.TaskInput{Title: fmt.Sprintf("t%d", i), Done: i%2 == 0})
		require.NoError(t, err)
	}
	var titles []string
	r := tenancy.PageRequest{Limit: 2}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 4)
		p, err := e.svc.ListTasks(ctx, alice, e.ProjectA, r)
		require.NoError(t, err)
		for _, task := range p.Items {
			titles = append(titles, task.Title)
		}
		if p.NextCursor == nil {
			break
		}
		r.Cursor = *p.NextCursor
	}
	require.Equal(t, []string{"a task", "t0", "t1", "t2", "t3"}, titles)

	// A cursor of another list, or a tampered one: refused before any query.
	projects, err := e.svc.ListProjects(ctx, alice, tenancy.PageRequest{Limit: 1})
	require.NoError(t, err)
	require.Nil(t, projects.NextCursor)
	e.rt.Reset()
	tasks, err := e.svc.ListTasks(ctx, alice, e.ProjectA, tenancy.PageRequest{Limit: 1})
	require.NoError(t, err)
	_, err = e.svc.ListProjects(ctx, alice, tenancy.PageRequest{Cursor: *tasks.NextCursor})
	requireCode(t, tenancy.CodeInvalidCursor, err)
	_, err = e.svc.ListTasks(ctx, alice, e.ProjectA, tenancy.PageRequest{Cursor: (*tasks.NextCursor)[:10]})
	requireCode(t, tenancy.CodeInvalidCursor, err)
	_, err = e.svc.ListTasks(ctx, alice, e.ProjectA, tenancy.PageRequest{Limit: 101})
	requireCode(t, tenancy.CodeInvalidLimit, err)
	require.Equal(t, int64(1), e.rt.Load(), "only the valid list ran")

	// Another tenant's project, or none: not found, reading or writing.
	for _, p := range []uuid.UUID{e.ProjectB, uuid.New()} {
		_, err = e.svc.ListTasks(ctx, alice, p, tenancy.PageRequest{})
		requireCode(t, tenancy.CodeNotFound, err)
		_, err = e.svc.CreateTask(ctx, alice, p, tenancy.TaskInput{Title: "sneaky"})
		requireCode(t, tenancy.CodeNotFound, err)
	}
	done := true
	_, err = e.svc.UpdateTask(ctx, alice, e.ProjectB, e.TaskB, tenancy.TaskPatch{Done: &done}, tenancy.Precondition{})
	requireCode(t, tenancy.CodeNotFound, err)
	requireCode(t, tenancy.CodeNotFound, e.svc.DeleteTask(ctx, alice, e.ProjectB, e.TaskB, tenancy.Precondition{}))
	bs, err := e.svc.ListTasks(ctx, bob, e.ProjectB, tenancy.PageRequest{})
	require.NoError(t, err)
	require.Len(t, bs.Items, 1)
	require.False(t, bs.Items[0].Done, "B's task untouched")
}

func TestMembersAndMe(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	m, err := e.svc.AddMember(ctx, alice, tenancy.MemberInput{Email: "  NEW@x.example ", Role: "client_viewer"})
	require.NoError(t, err)
	require.Equal(t, "new@x.example", m.Email)
	_, err = e.svc.AddMember(ctx, alice, tenancy.MemberInput{Email: "new@x.example", Role: "partner"})
	requireCode(t, tenancy.CodeConflict, err)
	_, err = e.svc.AddMember(ctx, alice, tenancy.MemberInput{Email: "nope", Role: "owner"})
	requireCode(t, tenancy.CodeValidation, err)
	require.Len(t, tenancy.AsError(err).Fields, 2)

	newbie := tenancy.Caller{Email: "new@x.example"}
	me, err := e.svc.Me(ctx, newbie)
	require.NoError(t, err)
	require.False(t, me.IsOwner)
	require.Len(t, me.Memberships, 1)
	require.Equal(t, "client_viewer", me.Memberships[0].Role)

	r, err := e.svc.SetMemberRole(ctx, alice, m.UserID, "partner", tenancy.Precondition{})
	require.NoError(t, err)
	require.Equal(t, "partner", r.Role)
	_, err = e.svc.SetMemberRole(ctx, alice, m.UserID, "owner", tenancy.Precondition{})
	requireCode(t, tenancy.CodeValidation, err)
	_, err = e.svc.SetMemberRole(ctx, bob, e.Vera, "partner", tenancy.Precondition{})
	requireCode(t, tenancy.CodeNotFound, err, "A's member through B")

	page, err := e.svc.ListMembers(ctx, alice, tenancy.PageRequest{})
	require.NoError(t, err)
	var emails []string
	for _, it := range page.Items {
		emails = append(emails, it.Email)
	}
	require.ElementsMatch(t, []string{pgtest.AliceEmail, pgtest.VeraEmail, "new@x.example"}, emails)

	require.NoError(t, e.svc.RemoveMember(ctx, alice, m.UserID, tenancy.Precondition{}))
	_, err = e.svc.ListProjects(ctx, in(newbie, pgtest.TenantASlug), tenancy.PageRequest{})
	requireCode(t, tenancy.CodeNotFound, err, "removed: effective at once")
	requireCode(t, tenancy.CodeNotFound, e.svc.RemoveMember(ctx, alice, m.UserID, tenancy.Precondition{}))

	me, err = e.svc.Me(ctx, olga)
	require.NoError(t, err)
	require.True(t, me.IsOwner)
	_, err = e.svc.Me(ctx, tenancy.Caller{Email: "stranger@x.example"})
	requireCode(t, tenancy.CodeUnknownUser, err)
}

// TestOwnerOperator: the reason comes first (no query without one), then
// the Owner flag from the database; only then the audited operations.
func TestOwnerOperator(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	for _, reason := range []string{"", "  ", "bell\x07", strings.Repeat("r", tenancy.MaxReasonLen+1)} {
		_, err := e.svc.Owner(ctx, olga, reason)
		requireCode(t, tenancy.CodeReasonRequired, err, "%q", reason)
	}
	require.Zero(t, e.rt.Load(), "no query without a reason")
	for _, c := range []tenancy.Caller{alice, vera, bob} {
		_, err := e.svc.Owner(ctx, c, "curious")
		requireCode(t, tenancy.CodeOwnerOnly, err, c.Email)
		requireCode(t, tenancy.CodeOwnerOnly, e.svc.CheckOwner(ctx, c), c.Email)
	}
	_, err := e.svc.Owner(ctx, tenancy.Caller{Email: "stranger@x.example"}, "curious")
	requireCode(t, tenancy.CodeUnknownUser, err)
	require.NoError(t, e.svc.CheckOwner(ctx, olga))

	// The zero Operator reaches nothing.
	_, err = e.svc.ListTenants(ctx, tenancy.Operator{}, tenancy.PageRequest{})
	require.Error(t, err)

	op, err := e.svc.Owner(ctx, olga, "  weekly review ")
	require.NoError(t, err)
	page, err := e.svc.ListTenants(ctx, op, tenancy.PageRequest{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, "tenant-a", page.Items[0].Slug)
	require.EqualValues(t, 2, page.Items[0].Members)
	next, err := e.svc.ListTenants(ctx, op, tenancy.PageRequest{Limit: 1, Cursor: *page.NextCursor})
	require.NoError(t, err)
	require.Equal(t, "tenant-b", next.Items[0].Slug)
	require.Nil(t, next.NextCursor)

	created, err := e.svc.CreateTenant(ctx, op, tenancy.TenantInput{Slug: "globex", Name: " Globex "})
	require.NoError(t, err)
	require.Equal(t, "Globex", created.Name)
	_, err = e.svc.CreateTenant(ctx, op, tenancy.TenantInput{Slug: "globex", Name: "again"})
	requireCode(t, tenancy.CodeConflict, err)
	_, err = e.svc.CreateTenant(ctx, op, tenancy.TenantInput{Slug: "Not A Slug", Name: ""})
	requireCode(t, tenancy.CodeValidation, err)
	require.Len(t, tenancy.AsError(err).Fields, 2)

	_, err = e.svc.SuspendTenant(ctx, op, e.TenantB)
	require.NoError(t, err)
	_, err = e.svc.ListProjects(ctx, bob, tenancy.PageRequest{})
	requireCode(t, tenancy.CodeNotFound, err, "a suspended tenant serves nothing")
	_, err = e.svc.ListProjects(ctx, in(olga, pgtest.TenantBSlug), tenancy.PageRequest{})
	requireCode(t, tenancy.CodeNotFound, err, "not even to an Owner")
	_, err = e.svc.ResumeTenant(ctx, op, e.TenantB)
	require.NoError(t, err)
	_, err = e.svc.ListProjects(ctx, bob, tenancy.PageRequest{})
	require.NoError(t, err)
	_, err = e.svc.SuspendTenant(ctx, op, uuid.New())
	requireCode(t, tenancy.CodeNotFound, err)

	audit, err := e.svc.ListAudit(ctx, op, tenancy.AuditQuery{Tenant: e.TenantB.String()}, tenancy.PageRequest{})
	require.NoError(t, err)
	var actions []string
	for _, a := range audit.Items {
		actions = append(actions, a.Action)
		require.Equal(t, "weekly review", a.Reason)
		require.Equal(t, pgtest.OlgaEmail, a.ActorEmail)
		require.Equal(t, "req-1", a.RequestID)
		require.Equal(t, "192.0.2.1", a.ClientAddr)
	}
	require.Equal(t, []string{"tenant.resume", "tenant.suspend", "tenant.list"}, actions, "newest first, B's only; failures left no row")
	_, err = e.svc.ListAudit(ctx, op, tenancy.AuditQuery{Tenant: "x", Since: "yesterday"}, tenancy.PageRequest{})
	requireCode(t, tenancy.CodeBadRequest, err)
	require.Len(t, tenancy.AsError(err).Fields, 2)
}

// TestSeedAndOwnersFromTheCommandLine: the CLI's operations, as the
// command line's Operator.
func TestSeedAndOwnersFromTheCommandLine(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	_, err := tenancy.CLIOperator("cli:test@host", " ")
	requireCode(t, tenancy.CodeReasonRequired, err)
	op, err := tenancy.CLIOperator("cli:test@host", "cli: test")
	require.NoError(t, err)

	in := tenancy.SeedInput{Name: "Acme Corp", Demo: true, Members: []tenancy.MemberInput{{Email: "Dev@Example.com", Role: "partner"}}}
	res, err := e.svc.SeedTenant(ctx, op, in)
	require.NoError(t, err)
	require.True(t, res.Created)
	require.Equal(t, "acme-corp", res.Tenant.Slug)
	require.Equal(t, "dev@example.com", res.Members[0].Email)
	require.Equal(t, []string{"Website relaunch", "Customer onboarding"}, res.DemoProjects)
	again, err := e.svc.SeedTenant(ctx, op, in)
	require.NoError(t, err)
	require.False(t, again.Created)
	require.Empty(t, again.DemoProjects, "idempotent")
	require.False(t, again.Changed)
	require.Zero(t, again.AuditID, "a run that writes nothing leaves no audit row")
	require.Positive(t, res.AuditID)
	in.Members[0].Role = "client_viewer" // one difference: written, and audited
	third, err := e.svc.SeedTenant(ctx, op, in)
	require.NoError(t, err)
	require.True(t, third.Changed)
	require.Greater(t, third.AuditID, res.AuditID)

	e.rt.Reset()
	_, err = e.svc.SeedTenant(ctx, op, tenancy.SeedInput{Name: "ÜÏ", Members: []tenancy.MemberInput{{Email: "x", Role: "owner"}}})
	requireCode(t, tenancy.CodeValidation, err)
	fields := map[string]bool{}
	for _, f := range tenancy.AsError(err).Fields {
		fields[f.Field] = true
	}
	require.Equal(t, map[string]bool{"slug": true, "members[0].email": true, "members[0].role": true}, fields)
	require.Zero(t, e.rt.Load())

	u, err := e.svc.AddOwner(ctx, op, " Ana@Ops.example ")
	require.NoError(t, err)
	require.Equal(t, "ana@ops.example", u.Email)
	owners, err := e.svc.ListOwners(ctx, op)
	require.NoError(t, err)
	require.Len(t, owners, 2) // olga and ana
	require.NoError(t, e.svc.RemoveOwner(ctx, op, "ana@ops.example"))
	err = e.svc.RemoveOwner(ctx, op, "ana@ops.example")
	requireCode(t, tenancy.CodeNotFound, err)
	require.Contains(t, tenancy.AsError(err).Message, "is not an owner")
	_, err = e.svc.AddOwner(ctx, op, "not-an-email")
	requireCode(t, tenancy.CodeValidation, err)
}

func TestComments(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	c, err := e.svc.AddComment(ctx, alice, e.ProjectA, e.TaskA, tenancy.CommentInput{Body: "second"})
	require.NoError(t, err)
	require.Equal(t, pgtest.AliceEmail, c.AuthorEmail)
	require.Equal(t, e.Alice, *c.AuthorID)

	page, err := e.svc.ListComments(ctx, vera, e.ProjectA, e.TaskA, tenancy.PageRequest{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, "a comment", page.Items[0].Body)
	next, err := e.svc.ListComments(ctx, vera, e.ProjectA, e.TaskA, tenancy.PageRequest{Limit: 1, Cursor: *page.NextCursor})
	require.NoError(t, err)
	require.Equal(t, c.ID, next.Items[0].ID)
	_, err = e.svc.ListTasks(ctx, vera, e.ProjectA, tenancy.PageRequest{Cursor: *page.NextCursor})
	requireCode(t, tenancy.CodeInvalidCursor, err, "a comments cursor is no tasks cursor")

	e.rt.Reset()
	_, err = e.svc.AddComment(ctx, alice, e.ProjectA, e.TaskA, tenancy.CommentInput{Body: " \n "})
	requireCode(t, tenancy.CodeValidation, err)
	require.Zero(t, e.rt.Load())
	_, err = e.svc.AddComment(ctx, vera, e.ProjectA, e.TaskA, tenancy.CommentInput{Body: "viewer"})
	requireCode(t, tenancy.CodeForbidden, err)
	requireCode(t, tenancy.CodeForbidden, e.svc.DeleteComment(ctx, vera, e.ProjectA, e.TaskA, c.ID, tenancy.Precondition{}))

	// B's task and comment through A, or A's task under the wrong project.
	_, err = e.svc.ListComments(ctx, alice, e.ProjectB, e.TaskB, tenancy.PageRequest{})
	requireCode(t, tenancy.CodeNotFound, err)
	_, err = e.svc.AddComment(ctx, alice, e.ProjectB, e.TaskA, tenancy.CommentInput{Body: "wrong project"})
	requireCode(t, tenancy.CodeNotFound, err)
	requireCode(t, tenancy.CodeNotFound, e.svc.DeleteComment(ctx, alice, e.ProjectB, e.TaskB, e.CommentB, tenancy.Precondition{}))
	bs, err := e.svc.ListComments(ctx, bob, e.ProjectB, e.TaskB, tenancy.PageRequest{})
	require.NoError(t, err)
	require.Len(t, bs.Items, 1, "B's comment untouched")

	require.NoError(t, e.svc.DeleteComment(ctx, alice, e.ProjectA, e.TaskA, c.ID, tenancy.Precondition{}))
	requireCode(t, tenancy.CodeNotFound, e.svc.DeleteComment(ctx, alice, e.ProjectA, e.TaskA, c.ID, tenancy.Precondition{}))
}
