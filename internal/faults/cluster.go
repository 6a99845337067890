// Package faults drives pgtenant through the faults of docs/reliability.md:
// a private PostgreSQL cluster that can be stopped, started and have its
// backends killed without disturbing other tests, tenants to load it with,
// and a load of mixed tenants over HTTP that records what it was answered,
// what it saw and what it was promised, so the end can check that nothing
// leaked and nothing acknowledged was lost.
//
// The outage test (cmd/server) and the soak (cmd/soak, `make soak`) use it.
// Everything runs on loopback and stops by itself: the load ends with its
// context, the cluster with Destroy.
package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgtenant/pgtenant/internal/migrations"
	"github.com/pgtenant/pgtenant/internal/pglocal"
)

// Roles and database of a Cluster (throwaway: fixed passwords).
const (
	dbName   = "pgtenant"
	owner    = "faults_owner"
	runtime  = "faults_api"
	admin    = "faults_ops"
	password = "faults-test-only"
)

// Cluster is a private, migrated PostgreSQL cluster on a free loopback
// port, as the local binaries run it (internal/pglocal).
type Cluster struct {
	pg  *pglocal.Cluster
	dir string

	// URLs of the pgtenant database as the superuser (fault injection and
	// checks only), the schema owner, the runtime role and the admin role.
	SuperURL, OwnerURL, RuntimeURL, AdminURL string
}

// StartCluster initializes, starts and migrates a cluster. Durability is
// PostgreSQL's default (synchronous_commit on): a fast shutdown loses
// nothing acknowledged, and the checks rely on that; fsync is off, which
// only matters if the machine itself crashes.
func StartCluster(ctx context.Context) (*Cluster, error) {
	pg, err := pglocal.NewTemp("pgtenant-faults-")
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(pg.DataDir)
	pg.Settings = map[string]string{"fsync": "off", "max_connections": "100", "shared_buffers": "64MB"}
	c := &Cluster{pg: pg, dir: dir}
	if err := pg.Init(ctx); err != nil {
		c.Destroy()
		return nil, err
	}
	if err := pg.Start(ctx); err != nil {
		c.Destroy()
		return nil, err
	}
	roles := pglocal.Roles{Owner: owner, OwnerPassword: password, Runtime: runtime, RuntimePassword: password, Admin: admin, AdminPassword: password}
	if err := pglocal.Bootstrap(ctx, pg.SuperuserURL("postgres"), roles, dbName); err != nil {
		c.Destroy()
		return nil, fmt.Errorf("faults: bootstrap: %w", err)
	}
	c.SuperURL = pg.SuperuserURL(dbName)
	c.OwnerURL = pg.URL(owner, password, dbName)
	c.RuntimeURL = pg.URL(runtime, password, dbName)
	c.AdminURL = pg.URL(admin, password, dbName)
	r, err := migrations.New(c.OwnerURL)
	if err != nil {
		c.Destroy()
		return nil, err
	}
	if _, err := r.Up(ctx); err != nil {
		c.Destroy()
		return nil, fmt.Errorf("faults: migrate: %w", err)
	}
	return c, nil
}

// Port is the cluster's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.pg.Port }

// Stop stops PostgreSQL (fast shutdown: open transactions roll back,
// sessions are terminated).
func (c *Cluster) Stop(ctx context.Context) error { return c.pg.Stop(ctx) }

// Start starts it again on the same port.
func (c *Cluster) Start(ctx context.Context) error { return c.pg.Start(ctx) }

// Destroy stops the cluster if it runs and deletes its files.
func (c *Cluster) Destroy() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c.pg.Running(ctx) {
		_ = c.pg.Stop(ctx)
	}
	os.RemoveAll(c.dir)
}

// KillBackend terminates, as the superuser, one backend of the runtime
// role that is inside a transaction or running a statement (the one that
// has been so longest), and returns its pid; 0 when none was. It is what
// an operator's pg_terminate_backend, the OOM killer or a crashed backend
// does to the server's connection mid-request.
func (c *Cluster) KillBackend(ctx context.Context) (int32, error) {
	conn, err := pgx.Connect(ctx, c.SuperURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var pid int32
	err = conn.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
		WHERE usename = $1 AND pid <> pg_backend_pid()
		  AND state IN ('active', 'idle in transaction')
		ORDER BY xact_start NULLS LAST LIMIT 1`, runtime).Scan(&pid)
	if err == pgx.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err != nil || !ok {
		return 0, fmt.Errorf("faults: terminate %d: %v", pid, err)
	}
	return pid, nil
}
