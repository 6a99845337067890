package pglocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Pgbouncer is a pgbouncer process in front of a cluster, for tests that
// run pgtenant through a transaction pooler the way docs/scaling.md
// describes.
type Pgbouncer struct {
	// Port is its TCP port on 127.0.0.1.
	Port int
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// PgbouncerConfig configures StartPgbouncer.
type PgbouncerConfig struct {
	// Host and Port locate PostgreSQL (Host default 127.0.0.1); every
	// database name is forwarded there.
	Host string
	Port int
	// Users maps the login roles pgbouncer lets in to their passwords
	// (kept in its auth_file; it logs in to PostgreSQL with them).
	Users map[string]string
	// ResetAlways sets server_reset_query = DISCARD ALL with
	// server_reset_query_always = 1: each server connection is reset after
	// every transaction, as docs/security.md recommends.
	ResetAlways bool
	// PoolSize is default_pool_size (default 20).
	PoolSize int
}

// StartPgbouncer starts pgbouncer (from PATH or /usr/sbin) in transaction
// pooling mode on a free loopback port, as the postgres user when the
// process is root (pgbouncer refuses to run as root), and waits until it
// accepts connections.
func StartPgbouncer(ctx context.Context, cfg PgbouncerConfig) (*Pgbouncer, error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			return nil, errors.New("pglocal: no pgbouncer binary (Debian: apt-get install pgbouncer)")
		}
		bin = "/usr/sbin/pgbouncer"
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgbouncer-")
	if err != nil {
		return nil, err
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 20
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	var users strings.Builder
	for u, p := range cfg.Users {
		fmt.Fprintf(&users, "%q %q\n", u, p)
	}
	reset := "server_reset_query = DISCARD ALL\nserver_reset_query_always = 0\n"
	if cfg.ResetAlways {
		reset = "server_reset_query = DISCARD ALL\nserver_reset_query_always = 1\n"
	}
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%d
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = scram-sha-256
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 2000
ignore_startup_parameters = extra_float_digits
logfile = %s
%s`, cfg.Host, cfg.Port, port, filepath.Join(dir, "users.txt"), cfg.PoolSize, filepath.Join(dir, "pgbouncer.log"), reset)
	for name, content := range map[string]string{"users.txt": users.String(), "pgbouncer.ini": ini} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if cred != nil {
		for _, p := range []string{dir, filepath.Join(dir, "users.txt"), filepath.Join(dir, "pgbouncer.ini")} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				os.RemoveAll(dir)
				return nil, err
			}
		}
	}
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pglocal: start pgbouncer: %w", err)
	}
	b := &Pgbouncer{Port: port, dir: dir, cmd: cmd, done: make(chan error, 1)}
	go func() { b.done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return b, nil
		}
		select {
		case err := <-b.done:
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pglocal: pgbouncer exited: %v\n%s", err, log)
		case <-ctx.Done():
			b.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Stop()
			return nil, errors.New("pglocal: pgbouncer did not listen within 10 s")
		}
	}
}

// Stop stops pgbouncer and removes its files.
func (b *Pgbouncer) Stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM) // immediate shutdown in 1.18 (newer versions: a safe one; then the kill below)
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	os.RemoveAll(b.dir)
}
