// Package migrations applies pgtenant's embedded schema migrations
// (golang-migrate, pgx v5 driver) and its repeatable policy files.
//
// Schema migrations are versioned and applied once each, in order. Policy
// files (db/policies) are applied after them in lexical order, inside one
// transaction, whenever a file's checksum differs from the one recorded in
// pgtenant_policy_state or the schema version changed since it was applied
// (a down/up cycle drops and recreates tables, and their policies with them).
// A whole `up` (migrations, then policies) runs under one session advisory
// lock, so two concurrent `migrate up` runs never apply anything twice: the
// second waits for the first to finish both steps and then finds nothing to
// do. (golang-migrate's own lock covers only the migrations; without the outer
// lock a second run could slip its policy step in between the first run's two
// steps and both would apply every policy file.)
//
// Every function here connects as the migrating (owner) role.
package migrations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers the pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtenant/pgtenant/db"
	"github.com/pgtenant/pgtenant/internal/rlscheck"
)

// PolicyStateTable records which policy files were applied, with which
// checksum, at which schema version. Like golang-migrate's
// schema_migrations, it is bookkeeping created by the tool, not by a migration.
const PolicyStateTable = "pgtenant_policy_state"

// policyLockKey is the advisory lock taken while policies are applied.
const policyLockKey = 7_236_101_004 // arbitrary, distinct from golang-migrate's

// runLockKey is the session advisory lock held for a whole Up or Down.
const runLockKey = 7_236_101_005

// ErrDirty means a previous migration failed halfway: an operator must look,
// repair, and `migrate force V`.
var ErrDirty = errors.New("migrations: database is dirty (a migration failed halfway); repair it, then run `migrate force VERSION`")

// PolicyFile is one embedded policy file.
type PolicyFile struct {
	Name   string
	SQL    string
	SHA256 string
}

// Policies returns the embedded policy files in the order they are applied.
func Policies() ([]PolicyFile, error) {
	names, err := fs.Glob(db.Policies, "policies/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	files := make([]PolicyFile, 0, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(db.Policies, n)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		files = append(files, PolicyFile{Name: strings.TrimPrefix(n, "policies/"), SQL: string(b), SHA256: hex.EncodeToString(sum[:])})
	}
	return files, nil
}

// Versions returns the versions of the embedded schema migrations, ascending.
func Versions() ([]uint, error) {
	names, err := fs.Glob(db.Schema, "schema/*.up.sql")
	if err != nil {
		return nil, err
	}
	var vs []uint
	for _, n := range names {
		base := strings.TrimPrefix(n, "schema/")
		num, _, ok := strings.Cut(base, "_")
		if !ok {
			return nil, fmt.Errorf("migrations: bad migration file name %q", base)
		}
		v, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migrations: bad migration file name %q", base)
		}
		vs = append(vs, uint(v))
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	return vs, nil
}

// Latest is the newest embedded schema version.
func Latest() (uint, error) {
	vs, err := Versions()
	if err != nil || len(vs) == 0 {
		return 0, errors.Join(err, errors.New("migrations: no embedded migrations"))
	}
	return vs[len(vs)-1], nil
}

// Runner applies migrations to the database behind an owner-role URL.
type Runner struct {
	url string
	// LockTimeout bounds every wait for a lock: the run lock, the policy
	// lock, golang-migrate's own lock and the table locks of the policy
	// files. Any role may take any advisory lock (pg_advisory_lock is
	// granted to PUBLIC), so the runtime role could otherwise block every
	// deploy forever; after LockTimeout the run fails with an error naming
	// the holder. Zero means DefaultLockTimeout.
	LockTimeout time.Duration
}

// DefaultLockTimeout is how long a run waits for a lock by default: long
// enough for a concurrent deploy's migrations, short enough to notice.
const DefaultLockTimeout = 2 * time.Minute

// New returns a Runner for databaseURL (postgres:// or postgresql://).
func New(databaseURL string) (*Runner, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("migrations: MIGRATE_DATABASE_URL must be a postgres:// URL")
	}
	return &Runner{url: databaseURL}, nil
}

func (r *Runner) lockTimeout() time.Duration {
	if r.LockTimeout > 0 {
		return r.LockTimeout
	}
	return DefaultLockTimeout
}

func (r *Runner) migrator() (*migrate.Migrate, error) {
	src, err := iofs.New(db.Schema, "schema")
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(r.url)
	u.Scheme = "pgx5"
	// golang-migrate's driver waits for its advisory lock without a bound
	// when it opens (its LockTimeout covers only the later Lock call), so
	// the session's lock_timeout bounds it, and its DDL's lock waits too.
	if q := u.Query(); !q.Has("lock_timeout") {
		q.Set("lock_timeout", strconv.FormatInt(r.lockTimeout().Milliseconds(), 10))
		u.RawQuery = q.Encode()
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return nil, fmt.Errorf("migrations: connect: %w", redact(err, r.url))
	}
	m.LockTimeout = r.lockTimeout()
	return m, nil
}

// Result says what Up or Down did.
type Result struct {
	From, To        uint
	PoliciesApplied []string
	// Drift is what still differs from the expectation this binary embeds
	// once the policy files ran (Status.Drift): objects the files neither
	// recreate nor remove, like a trigger or a SECURITY DEFINER function
	// someone added. Empty when the database is as expected (or the
	// expectation does not apply: Status.Expected).
	Drift []rlscheck.Finding
}

// Up applies every pending schema migration, then the policy files that
// changed. It is safe to run concurrently with itself.
func (r *Runner) Up(ctx context.Context) (Result, error) {
	conn, unlock, err := r.runLock(ctx)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	m, err := r.migrator()
	if isLockTimeout(err) {
		return Result{}, lockError(ctx, conn, "golang-migrate's lock", migrateLockKey(r.url), r.lockTimeout())
	}
	if err != nil {
		return Result{}, err
	}
	defer m.Close()
	// The version read here is for the report only: m.Up takes the lock and
	// decides (a concurrent run may be mid-migration, and dirty, right now).
	from, _, err := m.Version()
	if err != nil && !errors.Is(err, migrate.ErrNilVersion) {
		return Result{}, err
	}
	upErr := m.Up()
	if errors.Is(upErr, migrate.ErrLockTimeout) || isLockTimeout(upErr) {
		return Result{}, lockError(ctx, conn, "golang-migrate's lock", migrateLockKey(r.url), r.lockTimeout())
	}
	if err := upErr; err != nil && !errors.Is(err, migrate.ErrNoChange) {
		var dirty migrate.ErrDirty
		if errors.As(err, &dirty) {
			return Result{}, ErrDirty
		}
		return Result{}, fmt.Errorf("migrations: up: %w", err)
	}
	to, _, err := m.Version()
	if err != nil {
		return Result{}, err
	}
	// When this run applied migrations (not a concurrent run that waited
	// for the lock and found nothing to do), every policy file is applied
	// again: a down/up cycle may have recreated functions or tables with
	// default privileges.
	applied, drift, err := applyPolicies(ctx, conn, upErr == nil, r.lockTimeout())
	return Result{From: from, To: to, PoliciesApplied: applied, Drift: drift}, err
}

// Down reverts n migrations (n >= 1). Policies of dropped tables go with
// them; the next Up re-applies every policy file because the schema version
// changed.
func (r *Runner) Down(ctx context.Context, n int) (Result, error) {
	if n < 1 {
		return Result{}, errors.New("migrations: down needs a positive number of steps")
	}
	_, unlock, err := r.runLock(ctx)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	m, err := r.migrator()
	if err != nil {
		return Result{}, err
	}
	defer m.Close()
	from, dirty, err := m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return Result{}, nil
	}
	if err != nil {
		return Result{}, err
	}
	if dirty {
		return Result{}, ErrDirty
	}
	if err := m.Steps(-n); errors.Is(err, migrate.ErrLockTimeout) {
		return Result{}, fmt.Errorf("migrations: down %d: %w", n, err)
	} else if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return Result{}, fmt.Errorf("migrations: down %d: %w", n, err)
	}
	to, _, err := m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		err = nil
	}
	return Result{From: from, To: to}, err
}

// Force sets the recorded version without running anything and clears the
// dirty flag (golang-migrate's force), for repairs after a failed migration.
func (r *Runner) Force(_ context.Context, version int) error {
	m, err := r.migrator()
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Force(version)
}

// runLock connects and takes the session advisory lock that serializes
// whole Up and Down runs, waiting for a concurrent run to finish, but not
// longer than LockTimeout (lock_timeout bounds advisory locks too, and
// every later lock wait of this session: the policy lock and the table
// locks the policy files take). The policy step runs on the same
// connection. The returned function releases the lock and closes the
// connection (closing the session alone would also release it).
func (r *Runner) runLock(ctx context.Context) (*pgx.Conn, func(), error) {
	conn, err := pgx.Connect(ctx, r.url)
	if err != nil {
		return nil, nil, fmt.Errorf("migrations: connect: %w", redact(err, r.url))
	}
	fail := func(err error) (*pgx.Conn, func(), error) {
		conn.Close(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT set_config('lock_timeout', $1, false)", strconv.FormatInt(r.lockTimeout().Milliseconds(), 10)); err != nil {
		return fail(fmt.Errorf("migrations: lock: %w", err))
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(runLockKey)); err != nil {
		if isLockTimeout(err) {
			return fail(lockError(ctx, conn, "the migration run lock", runLockKey, r.lockTimeout()))
		}
		return fail(fmt.Errorf("migrations: lock: %w", err))
	}
	return conn, func() {
		bg := context.WithoutCancel(ctx)
		_, _ = conn.Exec(bg, "SELECT pg_advisory_unlock($1)", int64(runLockKey))
		conn.Close(bg)
	}, nil
}

// isLockTimeout reports a lock wait cut short by lock_timeout. golang-migrate
// wraps driver errors without Unwrap, hence the text check too.
func isLockTimeout(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == pgerrcode.LockNotAvailable
	}
	return err != nil && strings.Contains(err.Error(), "(SQLSTATE "+pgerrcode.LockNotAvailable+")")
}

// migrateLockKey is the advisory lock key golang-migrate's pgx v5 driver
// takes for a database (schema public, table schema_migrations), 0 when it
// cannot tell (lockError then names every advisory lock holder).
func migrateLockKey(rawURL string) int64 {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	// The driver names the database by the URL's path, slash included.
	id, err := database.GenerateAdvisoryLockId(u.Path, "public", "schema_migrations")
	if err != nil {
		return 0
	}
	key, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0
	}
	return key
}

// ErrLockTimeout: a lock the run needs stayed held by another session for
// longer than the Runner's LockTimeout.
var ErrLockTimeout = errors.New("migrations: timed out waiting for a lock")

// holdersSQL describes the sessions holding advisory locks in this
// database: key 0 for any, else the one key (pg_locks splits a bigint key
// into classid, the high half, and objid).
const holdersSQL = `
SELECT l.pid, coalesce(a.usename::text, '?'), coalesce(a.application_name, ''),
       coalesce(a.client_addr::text, ''),
       coalesce(to_char(now() - a.backend_start, 'HH24:MI:SS'), '')
FROM pg_catalog.pg_locks l
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
  AND ($1::bigint = 0 OR ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint)
ORDER BY l.pid`

// lockError names who holds the lock the run gave up on.
func lockError(ctx context.Context, conn *pgx.Conn, what string, key int64, waited time.Duration) error {
	rows, err := conn.Query(context.WithoutCancel(ctx), holdersSQL, key)
	var holders []string
	if err == nil {
		for rows.Next() {
			var pid int32
			var user, app, addr, age string
			if rows.Scan(&pid, &user, &app, &addr, &age) == nil {
				// The connection age shows only to the same role, a
				// superuser or pg_read_all_stats; without it, how long the
				// lock has been held is known only as "more than we waited".
				if addr != "" {
					addr = ", from " + addr
				}
				if age != "" {
					age = ", connected for " + age
				}
				holders = append(holders, fmt.Sprintf("pid %d (role %s, application_name %q%s%s)", pid, user, app, addr, age))
			}
		}
		rows.Close()
	}
	who := "a session this role cannot see"
	if err != nil {
		who += " (" + err.Error() + ")"
	}
	if len(holders) > 0 {
		who = strings.Join(holders, "; ")
	}
	return fmt.Errorf("%w: %s held for more than %s by %s; end that session (SELECT pg_terminate_backend(pid)) or raise MIGRATE_LOCK_TIMEOUT",
		ErrLockTimeout, what, waited, who)
}

// ApplyPolicies applies the policy files whose checksum or schema version
// differs from the recorded state, in one transaction under an advisory
// lock, and returns the names it applied.
func (r *Runner) ApplyPolicies(ctx context.Context) ([]string, error) {
	conn, unlock, err := r.runLock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	applied, _, err := applyPolicies(ctx, conn, false, r.lockTimeout())
	return applied, err
}

// applyPolicies applies the policy files on conn (all of them when all is
// set, else those that changed). The caller holds the run lock.
func applyPolicies(ctx context.Context, conn *pgx.Conn, all bool, waited time.Duration) ([]string, []rlscheck.Finding, error) {
	files, err := Policies()
	if err != nil {
		return nil, nil, err
	}

	var applied []string
	var remaining []rlscheck.Finding
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// In a savepoint, so that after a timeout the transaction can still
		// ask who holds the lock.
		if _, err := tx.Exec(ctx, "SAVEPOINT policy_lock"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(policyLockKey)); err != nil {
			if isLockTimeout(err) {
				if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT policy_lock"); rerr == nil {
					return lockError(ctx, conn, "the policy lock", policyLockKey, waited)
				}
			}
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+PolicyStateTable+` (
			file           text        PRIMARY KEY,
			sha256         text        NOT NULL,
			schema_version bigint      NOT NULL,
			applied_at     timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		version, dirty, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if dirty {
			return ErrDirty
		}
		state, err := policyState(ctx, tx)
		if err != nil {
			return err
		}
		// When the catalog no longer looks like what the last application
		// left (tables dropped and recreated by a down/up cycle, by any tool;
		// a policy, function body, trigger or grant changed by hand), or
		// differs from what this binary expects, every file is applied
		// again.
		fp, err := catalogFingerprint(ctx, tx)
		if err != nil {
			return err
		}
		drift, _, err := embeddedDrift(ctx, tx, version)
		if err != nil {
			return err
		}
		drifted := all || state[catalogKey].sha256 != fp || len(drift) > 0
		for _, f := range files {
			if s, ok := state[f.Name]; !drifted && ok && s.sha256 == f.SHA256 && s.version == version {
				continue
			}
			if _, err := tx.Exec(ctx, f.SQL); err != nil {
				return fmt.Errorf("migrations: policy file %s: %w", f.Name, err)
			}
			if err := recordState(ctx, tx, f.Name, f.SHA256, version); err != nil {
				return err
			}
			applied = append(applied, f.Name)
		}
		if fp, err = catalogFingerprint(ctx, tx); err != nil {
			return err
		}
		if remaining, _, err = embeddedDrift(ctx, tx, version); err != nil {
			return err
		}
		return recordState(ctx, tx, catalogKey, fp, version)
	})
	if err != nil {
		return nil, nil, err
	}
	return applied, remaining, nil
}

// catalogKey is the state row holding the catalog fingerprint.
const catalogKey = "(catalog)"

func recordState(ctx context.Context, tx pgx.Tx, file, sum string, version int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO `+PolicyStateTable+` (file, sha256, schema_version) VALUES ($1, $2, $3)
		ON CONFLICT (file) DO UPDATE SET sha256 = EXCLUDED.sha256, schema_version = EXCLUDED.schema_version, applied_at = now()`,
		file, sum, version)
	return err
}

// catalogFingerprint digests what the policy files, and everything they
// depend on, control: rls-check's snapshot of the catalog (relations with
// their RLS flags and grants, policies, functions with their bodies,
// attributes and grants, triggers, schemas and their grants; in every user
// schema), with the runtime group's privileges, as the embedded
// expectation records them. One reading of the catalog serves both:
// rls-check compares it with the expectation embedded in the binary, and
// migrate with the fingerprint the last application recorded. "" before
// the schema exists.
func catalogFingerprint(ctx context.Context, tx pgx.Tx) (string, error) {
	snap, err := rlscheck.SnapshotTx(ctx, tx, []string{rlscheck.RuntimeGroup})
	if rlscheck.IsConfigError(err) {
		return "", nil // no schema app yet (or any more)
	}
	if err != nil {
		return "", err
	}
	return snap.Fingerprint()
}

type appliedPolicy struct {
	sha256  string
	version int64
}

func policyState(ctx context.Context, q querier) (map[string]appliedPolicy, error) {
	rows, err := q.Query(ctx, `SELECT file, sha256, schema_version FROM `+PolicyStateTable)
	if err != nil {
		return nil, err
	}
	state := map[string]appliedPolicy{}
	for rows.Next() {
		var name string
		var p appliedPolicy
		if err := rows.Scan(&name, &p.sha256, &p.version); err != nil {
			return nil, err
		}
		state[name] = p
	}
	return state, rows.Err()
}

type querier = rlscheck.Querier

// schemaVersion reads golang-migrate's bookkeeping: version -1 when no
// migration was ever applied.
func schemaVersion(ctx context.Context, q querier) (int64, bool, error) {
	var exists bool
	if err := q.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return 0, false, err
	}
	if !exists {
		return -1, false, nil
	}
	var v int64
	var dirty bool
	err := q.QueryRow(ctx, "SELECT version, dirty FROM schema_migrations LIMIT 1").Scan(&v, &dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return -1, false, nil
	}
	return v, dirty, err
}

// redact removes the password of url from an error's text.
func redact(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}
