// Package pglocal starts and stops a throwaway PostgreSQL cluster from the
// PostgreSQL binaries installed on this machine (initdb, pg_ctl, postgres).
//
// It exists for the test harness and for `make run`: both need a real server
// without asking the user to install or configure one. The cluster listens on
// 127.0.0.1 only (no Unix socket), authenticates every connection with
// SCRAM-SHA-256, and runs as an unprivileged user: initdb and postgres refuse
// to run as root, so when the current process is root the binaries are run as
// the `postgres` system user that Debian's packages create.
package pglocal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoBinaries is returned when no PostgreSQL server binaries can be found.
var ErrNoBinaries = errors.New("pglocal: no PostgreSQL binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql/*/bin")

// Superuser is the name of the bootstrap superuser of clusters made here.
const Superuser = "postgres"

// Cluster is a PostgreSQL data directory managed by this package.
type Cluster struct {
	// BinDir holds initdb, pg_ctl and postgres.
	BinDir string
	// DataDir is the cluster's data directory.
	DataDir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Password is the superuser's password.
	Password string
	// Settings are extra `-c name=value` server settings.
	Settings map[string]string

	cred *syscall.Credential // nil when the process may run postgres itself
}

// FindBinDir returns the directory holding initdb and pg_ctl: PG_BINDIR if
// set, then PATH, then the newest /usr/lib/postgresql/<version>/bin.
func FindBinDir() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
		return "", fmt.Errorf("pglocal: PG_BINDIR=%s holds no initdb/pg_ctl", d)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// New describes a cluster in dataDir; nothing is created until Init.
// When the process runs as root, the cluster is run as the `postgres` user
// (or PGLOCAL_USER), and dataDir's parents must be reachable by that user.
func New(binDir, dataDir string) (*Cluster, error) {
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	return &Cluster{BinDir: binDir, DataDir: dataDir, cred: cred}, nil
}

// NewTemp describes a cluster in a new temporary directory (data in its
// "data" subdirectory) that the user the server runs as can reach, from
// the binaries FindBinDir finds. The caller removes the directory,
// filepath.Dir(c.DataDir), when done.
func NewTemp(prefix string) (*Cluster, error) {
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres user must reach the data dir
		os.RemoveAll(dir)
		return nil, err
	}
	c, err := New(bin, filepath.Join(dir, "data"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// serverCredential is the user to run server processes as: nil when the
// process is not root, else the postgres user (or PGLOCAL_USER).
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	name := os.Getenv("PGLOCAL_USER")
	if name == "" {
		name = "postgres"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("pglocal: running as root and no %q user to run postgres as (initdb refuses root): %w", name, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// Exists reports whether DataDir already holds a cluster.
func (c *Cluster) Exists() bool {
	_, err := os.Stat(filepath.Join(c.DataDir, "PG_VERSION"))
	return err == nil
}

// Init runs initdb with a generated superuser password (unless Password is
// already set) and SCRAM authentication for every connection.
func (c *Cluster) Init(ctx context.Context) error {
	if c.Password == "" {
		c.Password = RandomToken()
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return err
	}
	if err := c.chown(c.DataDir); err != nil {
		return err
	}
	pwfile := filepath.Join(c.DataDir, "..", "."+filepath.Base(c.DataDir)+".pw")
	if err := os.WriteFile(pwfile, []byte(c.Password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	if err := c.chown(pwfile); err != nil {
		return err
	}
	out, err := c.run(ctx, filepath.Join(c.BinDir, "initdb"),
		"-D", c.DataDir, "-U", Superuser, "--pwfile="+pwfile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return fmt.Errorf("pglocal: initdb: %w\n%s", err, out)
	}
	return nil
}

// Start starts the server on Port (a free loopback port when zero) and waits
// until it accepts connections. The server log goes to DataDir/../<name>.log.
func (c *Cluster) Start(ctx context.Context) error {
	if c.Port == 0 {
		p, err := FreePort()
		if err != nil {
			return err
		}
		c.Port = p
	}
	opts := []string{
		"-c listen_addresses=127.0.0.1",
		"-p " + strconv.Itoa(c.Port),
		"-c unix_socket_directories=''",
	}
	keys := make([]string, 0, len(c.Settings))
	for k := range c.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		opts = append(opts, fmt.Sprintf("-c %s=%s", k, c.Settings[k]))
	}
	logFile := c.LogFile()
	if f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
		f.Close()
		_ = c.chown(logFile)
	}
	out, err := c.run(ctx, filepath.Join(c.BinDir, "pg_ctl"), "start", "-w", "-t", "60",
		"-D", c.DataDir, "-l", logFile, "-o", strings.Join(opts, " "))
	if err != nil {
		tail, _ := os.ReadFile(logFile)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("pglocal: pg_ctl start: %w\n%s\n%s", err, out, tail)
	}
	return nil
}

// LogFile is where the server writes its log.
func (c *Cluster) LogFile() string {
	return filepath.Join(filepath.Dir(c.DataDir), filepath.Base(c.DataDir)+".log")
}

// Running reports whether a postmaster answers for DataDir.
func (c *Cluster) Running(ctx context.Context) bool {
	_, err := c.run(ctx, filepath.Join(c.BinDir, "pg_ctl"), "status", "-D", c.DataDir)
	return err == nil
}

// Stop stops the server (fast shutdown: open sessions are rolled back).
func (c *Cluster) Stop(ctx context.Context) error {
	out, err := c.run(ctx, filepath.Join(c.BinDir, "pg_ctl"), "stop", "-w", "-m", "fast", "-D", c.DataDir)
	if err != nil {
		return fmt.Errorf("pglocal: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// URL returns a connection URL for user/password on database db.
func (c *Cluster) URL(userName, password, db string) string {
	return URL("127.0.0.1", c.Port, userName, password, db)
}

// SuperuserURL returns the bootstrap superuser's URL for database db.
func (c *Cluster) SuperuserURL(db string) string {
	return c.URL(Superuser, c.Password, db)
}

// URL formats a postgres:// URL with properly escaped credentials.
func URL(host string, port int, userName, password, db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(userName, password),
		Host:     net.JoinHostPort(host, strconv.Itoa(port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CanUse reports whether the user the cluster runs as can create and write
// dir (root's home, for one, is closed to the postgres user).
func (c *Cluster) CanUse(dir string) bool {
	if c.cred == nil {
		return true
	}
	probe := filepath.Join(dir, ".pglocal-probe")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false
	}
	_ = c.chown(dir)
	_, err := c.run(context.Background(), "/bin/sh", "-c", `touch "$1" && rm -f "$1"`, "sh", probe)
	return err == nil
}

func (c *Cluster) chown(p string) error {
	if c.cred == nil {
		return nil
	}
	return os.Chown(p, int(c.cred.Uid), int(c.cred.Gid))
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Dir = "/"
	}
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	// pg_ctl start leaves the postmaster running with our pipes open unless
	// told otherwise; WaitDelay keeps Wait from hanging on them.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	return buf.Bytes(), err
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RandomToken returns 32 hex characters from crypto/rand, for passwords.
func RandomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}
