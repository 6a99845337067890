// Command devdb manages the project-local PostgreSQL that `make run` uses:
// a cluster under .devdb/ (git-ignored), started from the local PostgreSQL
// binaries, with pgtenant's three login roles and a database.
//
//	devdb start   create (first time) or start the cluster; write .devdb/env
//	devdb stop    stop it
//	devdb status  say whether it runs
//	devdb destroy stop it and delete its data
//
// .devdb/env holds DATABASE_URL, ADMIN_DATABASE_URL, MIGRATE_DATABASE_URL
// and PSQL_* URLs with generated passwords (mode 0600), for `set -a; .
// .devdb/env`. The port is DEVDB_PORT (default 54329).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pgtenant/pgtenant/internal/pglocal"
)

const (
	dbName      = "pgtenant"
	ownerRole   = "pgtenant_owner"
	runtimeRole = "pgtenant_api"
	adminRole   = "pgtenant_ops"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		os.Exit(1)
	}
}

// state is what devdb remembers in .devdb/state (mode 0600).
type state struct {
	DataDir string
	Port    int
	Super   string
	Owner   string
	Runtime string
	Admin   string
}

func run(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: devdb start|stop|status|destroy")
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, ".devdb")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bin, err := pglocal.FindBinDir()
	if err != nil {
		return err
	}
	st, err := load(dir)
	if err != nil {
		return err
	}
	if st.DataDir == "" {
		st.DataDir = filepath.Join(dir, "data")
	}
	c, err := pglocal.New(bin, st.DataDir)
	if err != nil {
		return err
	}
	switch args[0] {
	case "start":
		return start(ctx, dir, c, st)
	case "stop":
		if !c.Exists() || !c.Running(ctx) {
			fmt.Println("devdb: not running")
			return nil
		}
		if err := c.Stop(ctx); err != nil {
			return err
		}
		fmt.Printf("devdb: stopped (data kept in %s; `go run ./cmd/devdb destroy` deletes it)\n", st.DataDir)
		return nil
	case "status":
		if c.Exists() && c.Running(ctx) {
			fmt.Printf("running on 127.0.0.1:%d (data %s)\n", st.Port, st.DataDir)
		} else {
			fmt.Println("not running")
		}
		return nil
	case "destroy":
		if c.Exists() && c.Running(ctx) {
			if err := c.Stop(ctx); err != nil {
				return err
			}
		}
		if err := os.RemoveAll(filepath.Dir(st.DataDir)); err != nil && filepath.Dir(st.DataDir) != dir {
			return err
		}
		return os.RemoveAll(dir)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func start(ctx context.Context, dir string, c *pglocal.Cluster, st state) error {
	if !c.Exists() {
		// The cluster runs as the postgres user when we are root; that user
		// must reach the data directory. Root's home usually is closed to it,
		// so fall back to a directory under /var/tmp keyed by this checkout.
		if !c.CanUse(filepath.Dir(st.DataDir)) {
			sum := sha256.Sum256([]byte(dir))
			alt := filepath.Join("/var/tmp", "pgtenant-devdb-"+hex.EncodeToString(sum[:6]))
			if err := os.MkdirAll(alt, 0o755); err != nil {
				return err
			}
			if !c.CanUse(alt) {
				return fmt.Errorf("the postgres user can write neither %s nor %s", filepath.Dir(st.DataDir), alt)
			}
			st.DataDir = filepath.Join(alt, "data")
			c.DataDir = st.DataDir
			fmt.Printf("devdb: data directory %s (the postgres user cannot reach %s)\n", st.DataDir, dir)
		}
		st.Super = pglocal.RandomToken()
		st.Owner, st.Runtime, st.Admin = pglocal.RandomToken(), pglocal.RandomToken(), pglocal.RandomToken()
		c.Password = st.Super
		if err := c.Init(ctx); err != nil {
			return err
		}
	}
	c.Password = st.Super
	if st.Port == 0 {
		st.Port = 54329
		if p := os.Getenv("DEVDB_PORT"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return errors.New("DEVDB_PORT must be a port number")
			}
			st.Port = n
		}
	}
	c.Port = st.Port
	if err := save(dir, st); err != nil {
		return err
	}
	if !c.Running(ctx) {
		if err := c.Start(ctx); err != nil {
			return err
		}
		fmt.Printf("devdb: started PostgreSQL on 127.0.0.1:%d (log %s)\n", c.Port, c.LogFile())
	} else {
		fmt.Printf("devdb: reusing PostgreSQL on 127.0.0.1:%d\n", c.Port)
	}
	roles := pglocal.Roles{
		Owner: ownerRole, OwnerPassword: st.Owner,
		Runtime: runtimeRole, RuntimePassword: st.Runtime,
		Admin: adminRole, AdminPassword: st.Admin,
	}
	if err := pglocal.Bootstrap(ctx, c.SuperuserURL("postgres"), roles, dbName); err != nil {
		return err
	}
	env := strings.Join([]string{
		"# written by devdb; local development only",
		"DATABASE_URL=" + c.URL(runtimeRole, st.Runtime, dbName),
		"ADMIN_DATABASE_URL=" + c.URL(adminRole, st.Admin, dbName),
		"MIGRATE_DATABASE_URL=" + c.URL(ownerRole, st.Owner, dbName),
		"SUPERUSER_DATABASE_URL=" + c.SuperuserURL(dbName),
		"",
	}, "\n")
	return os.WriteFile(filepath.Join(dir, "env"), []byte(env), 0o600)
}

func load(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, "state"))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "data":
			st.DataDir = v
		case "port":
			st.Port, _ = strconv.Atoi(v)
		case "super":
			st.Super = v
		case "owner":
			st.Owner = v
		case "runtime":
			st.Runtime = v
		case "admin":
			st.Admin = v
		}
	}
	return st, nil
}

func save(dir string, st state) error {
	s := fmt.Sprintf("data=%s\nport=%d\nsuper=%s\nowner=%s\nruntime=%s\nadmin=%s\n", st.DataDir, st.Port, st.Super, st.Owner, st.Runtime, st.Admin)
	return os.WriteFile(filepath.Join(dir, "state"), []byte(s), 0o600)
}
