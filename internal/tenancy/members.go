package tenancy

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Member is one member of a tenant: the same shape in the list, alone,
// after adding and after a role change. Email is empty, and left out of
// the JSON, for a Client Viewer caller: the users policy shows a Client
// Viewer no one's email but its own (issue 11), so the database answers
// without it whatever this code asks.
type Member struct {
	UserID      uuid.UUID `json:"user_id"`
	Email       string    `json:"email,omitempty"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	JoinedAt    time.Time `json:"joined_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// MemberInput adds a person to a tenant: an email (normalized here) and
// the role, partner or client_viewer (Owner is global, not a membership).
type MemberInput struct {
	Email string
	Role  string
}

const memberRoleRule = "must be partner or client_viewer"

func validMemberRole(r string) bool {
	return r == string(txscope.RolePartner) || r == string(txscope.RoleClientViewer)
}

// check normalizes the email and records what is wrong under prefix
// ("email", "members[2].email").
func (in *MemberInput) check(fs *fields, prefix string) {
	in.Email = rules.NormalizeEmail(in.Email)
	if !rules.ValidEmail(in.Email) {
		fs.add(prefix+"email", "must be an email address")
	}
	if !validMemberRole(in.Role) {
		fs.add(prefix+"role", memberRoleRule)
	}
}

var members = lister[dbgen.MemberListFirstRow]{
	list: memberList,
	first: func(ctx context.Context, q *dbgen.Queries, lim int32) ([]dbgen.MemberListFirstRow, error) {
		return q.MemberListFirst(ctx, lim)
	},
	after: func(ctx context.Context, q *dbgen.Queries, p position, lim int32) ([]dbgen.MemberListFirstRow, error) {
		rows, err := q.MemberListAfter(ctx, dbgen.MemberListAfterParams{AfterCreatedAt: p.At, AfterUserID: p.ID, Lim: lim})
		out := make([]dbgen.MemberListFirstRow, len(rows))
		for i, r := range rows {
			out[i] = dbgen.MemberListFirstRow(r)
		}
		return out, err
	},
	pos: func(m dbgen.MemberListFirstRow) position { return position{At: m.CreatedAt, ID: m.UserID} },
}

func toMember(m dbgen.MemberListFirstRow) Member {
	var email string
	if m.Email != nil {
		email = *m.Email
	}
	return Member{UserID: m.UserID, Email: email, DisplayName: m.DisplayName, Role: m.Role, JoinedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

func memberGet(ctx context.Context, q *dbgen.Queries, user uuid.UUID) (dbgen.MemberListFirstRow, error) {
	m, err := q.MemberGet(ctx, user)
	return dbgen.MemberListFirstRow(m), err
}

// ListMembers pages through the tenant's members in join order; every role
// may.
func (s *Service) ListMembers(ctx context.Context, c Caller, r PageRequest) (Page[Member], error) {
	return readPage(ctx, s, c, members, r, toMember)
}

// AddMember adds a person to the tenant by email (Owners and Partners). A
// new address becomes a user row, which is the invitation: there is no
// self-provisioning. An existing member is CodeConflict.
func (s *Service) AddMember(ctx context.Context, c Caller, in MemberInput) (Member, error) {
	var fs fields
	in.check(&fs, "")
	if err := fs.err(); err != nil {
		return Member{}, err
	}
	return one(ctx, s.write, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.MemberListFirstRow, error) {
		m, err := q.MemberAdd(ctx, dbgen.MemberAddParams{Email: in.Email, Role: in.Role})
		if err != nil {
			return dbgen.MemberListFirstRow{}, err
		}
		return memberGet(ctx, q, m.UserID) // the user row's display name, as the list shows it
	}, toMember)
}

// GetMember reads one member of the tenant; every role may.
func (s *Service) GetMember(ctx context.Context, c Caller, user uuid.UUID) (Member, error) {
	return one(ctx, s.read, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.MemberListFirstRow, error) {
		return memberGet(ctx, q, user)
	}, toMember)
}

// SetMemberRole changes a member's role (Owners and Partners), if the
// membership's version is one pre allows.
func (s *Service) SetMemberRole(ctx context.Context, c Caller, user uuid.UUID, role string, pre Precondition) (Member, error) {
	if !validMemberRole(role) {
		return Member{}, fields{{Field: "role", Message: memberRoleRule}}.err()
	}
	return one(ctx, s.write, c, func(ctx context.Context, q *dbgen.Queries) (dbgen.MemberListFirstRow, error) {
		m, err := q.MemberSetRole(ctx, dbgen.MemberSetRoleParams{Role: role, UserID: user, IfMatch: pre.versions})
		row := dbgen.MemberListFirstRow{UserID: m.UserID, Email: &m.Email, DisplayName: m.DisplayName, Role: m.Role, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
		return updated(pre, row, err, memberExists(ctx, q, user))
	}, toMember)
}

// RemoveMember removes a member (Owners and Partners), if the membership's
// version is one pre allows; it takes effect on the member's next request,
// which app.enter checks afresh.
func (s *Service) RemoveMember(ctx context.Context, c Caller, user uuid.UUID, pre Precondition) error {
	return s.write(ctx, c, func(tx *txscope.Tx) error {
		n, err := tx.Q.MemberRemove(ctx, dbgen.MemberRemoveParams{UserID: user, IfMatch: pre.versions})
		return matched(pre, n, err, memberExists(ctx, tx.Q, user))
	})
}

func memberExists(ctx context.Context, q *dbgen.Queries, user uuid.UUID) func() error {
	return func() error { _, err := q.MemberGet(ctx, user); return err }
}
