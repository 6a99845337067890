package tenancy

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Tenant statuses.
const (
	TenantActive    = "active"
	TenantSuspended = "suspended"
)

// Tenant is a tenant as Owners see it, with its size (zero where the
// operation does not count).
type Tenant struct {
	ID        uuid.UUID `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Members   int64     `json:"members"`
	Projects  int64     `json:"projects"`
	Tasks     int64     `json:"tasks"`
}

// toTenant is a new tenant (no members, projects or tasks yet).
func toTenant(t dbgen.Tenant) Tenant {
	return Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Status: t.Status, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

// TenantInput creates a tenant.
type TenantInput struct {
	Slug string
	Name string
}

const slugRule = "must be 1-63 lowercase letters, digits and inner dashes"

// ListTenants pages through every tenant by slug, with its counts (an
// audited admin action, "tenant.list", naming the tenants it showed).
func (s *Service) ListTenants(ctx context.Context, op Operator, r PageRequest) (Page[Tenant], error) {
	limit, after, err := tenantList.start(r)
	if err != nil {
		return Page[Tenant]{}, err
	}
	var rows []dbgen.AdminTenantListRow
	_, err = s.admin(ctx, op, "tenant.list", func(tx *txscope.AdminTx) error {
		p := dbgen.AdminTenantListParams{Lim: int32(limit + 1)}
		if after != nil {
			p.AfterSlug = after.Key
		}
		var err error
		rows, err = tx.Q.AdminTenantList(ctx, p)
		for _, r := range rows[:min(len(rows), limit)] { // the tenants shown, not the look-ahead row
			tx.Target(r.ID)
		}
		return err
	})
	if err != nil {
		return Page[Tenant]{}, err
	}
	return page(tenantList, rows, limit,
		func(t dbgen.AdminTenantListRow) Tenant { return Tenant(t) },
		func(t dbgen.AdminTenantListRow) position { return position{Key: t.Slug} }), nil
}

// GetTenant reads one tenant with its counts ("tenant.read").
func (s *Service) GetTenant(ctx context.Context, op Operator, id uuid.UUID) (Tenant, error) {
	var t dbgen.AdminTenantGetRow
	_, err := s.admin(ctx, op, "tenant.read", func(tx *txscope.AdminTx) error {
		var err error
		t, err = tx.Q.AdminTenantGet(ctx, id)
		tx.Target(id)
		return err
	})
	return Tenant(t), err
}

// CreateTenant creates an active tenant ("tenant.create"); a slug in use is
// CodeConflict.
func (s *Service) CreateTenant(ctx context.Context, op Operator, in TenantInput) (Tenant, error) {
	var fs fields
	if !rules.ValidSlug(in.Slug) {
		fs.add("slug", slugRule)
	}
	fs.text("name", &in.Name, 1, rules.MaxNameLen, false)
	if err := fs.err(); err != nil {
		return Tenant{}, err
	}
	var t dbgen.Tenant
	_, err := s.admin(ctx, op, "tenant.create", func(tx *txscope.AdminTx) error {
		var err error
		t, err = tx.Q.AdminTenantCreate(ctx, dbgen.AdminTenantCreateParams{Slug: in.Slug, Name: strings.TrimSpace(in.Name)})
		tx.Target(t.ID)
		tx.Detail("slug", in.Slug)
		return err
	})
	if ErrorCode(err) == CodeConflict {
		return Tenant{}, &Error{Code: CodeConflict, Message: "a tenant with that slug exists", Err: err}
	}
	return toTenant(t), err
}

// SuspendTenant suspends a tenant ("tenant.suspend"). A suspended tenant
// serves nothing to anyone through the runtime role, Owners included:
// app.enter, which every read statement and write transaction starts with,
// grants no context in it.
func (s *Service) SuspendTenant(ctx context.Context, op Operator, id uuid.UUID) (Tenant, error) {
	return s.setTenantStatus(ctx, op, "tenant.suspend", id, TenantSuspended)
}

// ResumeTenant makes a suspended tenant active again ("tenant.resume").
func (s *Service) ResumeTenant(ctx context.Context, op Operator, id uuid.UUID) (Tenant, error) {
	return s.setTenantStatus(ctx, op, "tenant.resume", id, TenantActive)
}

func (s *Service) setTenantStatus(ctx context.Context, op Operator, action string, id uuid.UUID, status string) (Tenant, error) {
	var t dbgen.AdminTenantSetStatusRow
	_, err := s.admin(ctx, op, action, func(tx *txscope.AdminTx) error {
		var err error
		t, err = tx.Q.AdminTenantSetStatus(ctx, dbgen.AdminTenantSetStatusParams{ID: id, Status: status})
		tx.Target(id)
		return err
	})
	return Tenant(t), err
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	ActorUserID *uuid.UUID      `json:"actor_user_id"`
	ActorEmail  string          `json:"actor_email"`
	ActorRole   string          `json:"actor_role"`
	Reason      string          `json:"reason"`
	Action      string          `json:"action"`
	TenantIDs   []uuid.UUID     `json:"tenant_ids"`
	RequestID   string          `json:"request_id"`
	ClientAddr  string          `json:"client_addr"`
	Detail      json.RawMessage `json:"detail"`
}

func toAuditEntry(a dbgen.AuditLog) AuditEntry {
	return AuditEntry{ID: a.ID, At: a.At, ActorUserID: a.ActorUserID, ActorEmail: a.ActorEmail, ActorRole: a.ActorRole,
		Reason: a.Reason, Action: a.Action, TenantIDs: a.TenantIds, RequestID: a.RequestID, ClientAddr: a.ClientAddr, Detail: a.Detail}
}

// AuditQuery filters the audit log, with values as a client sends them:
// Tenant a tenant id, Actor an email, Since and Until RFC 3339 times (Until
// exclusive). Empty values do not filter.
type AuditQuery struct {
	Tenant, Actor, Since, Until string
}

func (q AuditQuery) params() (dbgen.AdminAuditListParams, error) {
	var (
		p  dbgen.AdminAuditListParams
		fs fields
	)
	if q.Tenant != "" {
		id, err := uuid.Parse(q.Tenant)
		if err != nil {
			fs.add("tenant", "must be a tenant id (UUID)")
		}
		p.TenantID = &id
	}
	if q.Actor != "" {
		a := rules.NormalizeEmail(q.Actor)
		p.Actor = &a
	}
	for _, t := range []struct {
		name, v string
		dst     **time.Time
	}{{"since", q.Since, &p.Since}, {"until", q.Until, &p.Until}} {
		if t.v != "" {
			ts, err := time.Parse(time.RFC3339, t.v)
			if err != nil {
				fs.add(t.name, "must be an RFC 3339 time")
			}
			*t.dst = &ts
		}
	}
	return p, fs.errAs(CodeBadRequest, "some query parameters are invalid")
}

// ListAudit pages through the audit log, newest first. Reading it is itself
// audited ("audit.read", naming the tenant filtered on).
func (s *Service) ListAudit(ctx context.Context, op Operator, q AuditQuery, r PageRequest) (Page[AuditEntry], error) {
	limit, before, err := auditList.start(r)
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	p, err := q.params()
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	p.Lim = int32(limit + 1)
	if before != nil {
		p.BeforeID = &before.Seq
	}
	var rows []dbgen.AuditLog
	_, err = s.admin(ctx, op, "audit.read", func(tx *txscope.AdminTx) error {
		var err error
		rows, err = tx.Q.AdminAuditList(ctx, p)
		if p.TenantID != nil {
			tx.Target(*p.TenantID)
		}
		return err
	})
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	return page(auditList, rows, limit, toAuditEntry, func(a dbgen.AuditLog) position { return position{Seq: a.ID} }), nil
}
