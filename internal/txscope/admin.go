package txscope

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

// MaxReasonLen bounds an audit reason, in characters (the column's check
// constraint agrees).
const MaxReasonLen = 500

// Actor is who performs an audited admin action.
type Actor struct {
	UserID     uuid.UUID // uuid.Nil for the command line
	Email      string
	Role       string // "owner", or "cli" for server subcommands
	RequestID  string
	ClientAddr string
}

// AdminTx is the unit of work of an Admin scope.
type AdminTx struct {
	Q       *dbgen.Queries
	conn    *pgx.Conn // for txscope's own admin statements (context keys)
	targets []uuid.UUID
	detail  map[string]any
}

// Target records tenants the action touches, for the audit row.
func (t *AdminTx) Target(ids ...uuid.UUID) {
	for _, id := range ids {
		if id != uuid.Nil {
			t.targets = append(t.targets, id)
		}
	}
}

// Detail adds a key to the audit row's detail object.
func (t *AdminTx) Detail(key string, v any) {
	if t.detail == nil {
		t.detail = map[string]any{}
	}
	t.detail[key] = v
}

// AuditEntry identifies the audit row an Admin scope wrote.
type AuditEntry struct {
	ID int64
	At time.Time
}

// CleanReason trims reason and checks it is usable for the audit log: the
// text rule of every free-text field (rules.CleanText: no control, format,
// bidi or separator characters, something visible, NFC, which it returns)
// on one line, 1 to MaxReasonLen characters; audit_log_reason_check is the
// same rule.
func CleanReason(reason string) (string, error) {
	r, problem := rules.CleanText(strings.TrimSpace(reason), 1, MaxReasonLen, false)
	if problem != "" {
		return "", ErrReasonRequired
	}
	return r, nil
}

// Admin runs fn on the BYPASSRLS admin pool, in one transaction that also
// inserts the audit row (actor, reason, action, target tenants, request id,
// client address, time). Both commit or neither: when the audit insert
// fails, fn's work is rolled back. Without a reason nothing touches the
// database.
//
// Admin does not decide who may use it: callers check that the actor is an
// Owner (from the database, never from a token claim) before calling.
func (s *Scope) Admin(ctx context.Context, actor Actor, action, reason string, fn func(*AdminTx) error) (_ AuditEntry, err error) {
	reason, err = CleanReason(reason)
	if err != nil {
		return AuditEntry{}, err
	}
	if action == "" || actor.Email == "" || actor.Role == "" {
		return AuditEntry{}, errors.New("txscope: admin action, actor email and actor role are required")
	}
	if s.admin == nil {
		return AuditEntry{}, ErrNoAdmin
	}
	actx, cancel := context.WithTimeout(ctx, s.adm.timeout)
	c, err := s.acquireBounded(ctx, actx, s.admin)
	cancel()
	if err != nil {
		return AuditEntry{}, err
	}
	defer func() { s.release(c, err, false) }()
	conn := c.Conn()
	st, lock, idle := s.adm.timeouts(ctx)
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue(timeoutsSQL, st, lock, idle)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		s.rollback(ctx, conn)
		return AuditEntry{}, s.failed(ctx, conn, err)
	}
	defer func() {
		if p := recover(); p != nil {
			s.rollback(ctx, conn)
			panic(p)
		}
	}()
	tx := &AdminTx{Q: dbgen.New(conn), conn: conn}
	if err := fn(tx); err != nil {
		s.rollback(ctx, conn)
		return AuditEntry{}, s.failed(ctx, conn, err)
	}
	detail := []byte("{}")
	if tx.detail != nil {
		if detail, err = json.Marshal(tx.detail); err != nil {
			s.rollback(ctx, conn)
			return AuditEntry{}, fmt.Errorf("txscope: audit detail: %w", err)
		}
	}
	var userID *uuid.UUID
	if actor.UserID != uuid.Nil {
		userID = &actor.UserID
	}
	targets := tx.targets
	if targets == nil {
		targets = []uuid.UUID{}
	}
	row, err := tx.Q.AuditInsert(ctx, dbgen.AuditInsertParams{
		ActorUserID: userID,
		ActorEmail:  actor.Email,
		ActorRole:   actor.Role,
		Reason:      reason,
		Action:      action,
		TenantIds:   targets,
		RequestID:   actor.RequestID,
		ClientAddr:  actor.ClientAddr,
		Detail:      detail,
	})
	if err != nil {
		s.rollback(ctx, conn)
		return AuditEntry{}, fmt.Errorf("txscope: audit insert (the action was rolled back): %w", mapError(err))
	}
	if err := commit(ctx, conn); err != nil {
		return AuditEntry{}, s.failed(ctx, conn, err)
	}
	return AuditEntry{ID: row.ID, At: row.At}, nil
}
