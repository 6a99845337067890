// Package config reads pgtenant's configuration from the environment and
// validates it at start, naming the variable at fault. .env.example lists
// every variable; the README documents them.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/limits"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

// Config is the whole configuration. Which fields are required depends on
// the subcommand (see Require).
type Config struct {
	DatabaseURL        string // DATABASE_URL: runtime role
	AdminDatabaseURL   string // ADMIN_DATABASE_URL: BYPASSRLS admin role
	MigrateDatabaseURL string // MIGRATE_DATABASE_URL: schema owner
	// MigrateLockTimeout is MIGRATE_LOCK_TIMEOUT (default 2m): how long
	// migrate waits for a lock another session holds before failing with
	// the holder's name.
	MigrateLockTimeout time.Duration

	ListenAddr      string        // LISTEN_ADDR (default 127.0.0.1:8080)
	AuthMode        auth.Mode     // AUTH_MODE (default cloudflare)
	DevUserEmail    string        // DEV_USER_EMAIL (dev mode; default dev@example.com)
	BaseDomain      string        // BASE_DOMAIN: {slug}.{BASE_DOMAIN} selects the tenant
	RequestTimeout  time.Duration // REQUEST_TIMEOUT (default 10s)
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT (default 20s)
	BodyLimit       int64         // MAX_BODY_BYTES (default 1048576)
	// DBMaxConns is DB_MAX_CONNS; 0 when unset, so a URL's own
	// pool_max_conns stands (txscope defaults to 10 without either).
	DBMaxConns int32
	// Database bounds and shares (txscope.Config; docs/reliability.md).
	DBAcquireTimeout   time.Duration // DB_ACQUIRE_TIMEOUT (default 2s): wait for a pool connection (and the caller's share)
	DBStatementTimeout time.Duration // DB_STATEMENT_TIMEOUT (default 30s): cap of statement_timeout; below it, what the request has left
	DBLockTimeout      time.Duration // DB_LOCK_TIMEOUT (default 2s): cap of lock_timeout
	// DBTenantShare and DBUserShare are DB_TENANT_SHARE and DB_USER_SHARE:
	// runtime connections one tenant or user holds at once; 0 (unset):
	// half the pool; -1 ("off"): no bound.
	DBTenantShare, DBUserShare int
	// RateTenant and RateUser are RATE_LIMIT_TENANT (default 200/s) with
	// RATE_LIMIT_TENANT_BURST (default twice the rate) and RATE_LIMIT_USER
	// (default 50/s) with RATE_LIMIT_USER_BURST; "off" turns one off.
	RateTenant, RateUser limits.Rate
	// HTTP server timeouts: HTTP_READ_HEADER_TIMEOUT (default 5s),
	// HTTP_READ_TIMEOUT and HTTP_WRITE_TIMEOUT (default REQUEST_TIMEOUT +
	// 5s), HTTP_IDLE_TIMEOUT (default 120s, keep-alive connections).
	HTTPReadHeaderTimeout, HTTPReadTimeout, HTTPWriteTimeout, HTTPIdleTimeout time.Duration

	LogLevel  slog.Level // LOG_LEVEL: debug|info|warn|error (default info)
	LogFormat string     // LOG_FORMAT: json|text (default json)

	// Cloudflare Access (AUTH_MODE=cloudflare).
	CFTeamDomain    string            // CF_ACCESS_TEAM_DOMAIN
	CFAudiences     []string          // CF_ACCESS_AUD (comma-separated AUD tags)
	CFCertsURL      string            // CF_ACCESS_CERTS_URL (default <team domain>/cdn-cgi/access/certs)
	CFSkew          time.Duration     // CF_ACCESS_SKEW (default 30s, at most 60s)
	CFServiceTokens map[string]string // CF_ACCESS_SERVICE_TOKENS: common_name=identity-email,...
	// CF_ACCESS_INSECURE_LOOPBACK=1 accepts http:// team domain and certs
	// URLs on loopback hosts only: local tests and benchmarks.
	CFInsecureLoopback bool

	// Trusted header (AUTH_MODE=trusted-header).
	TrustedProxyCIDRs []netip.Prefix // TRUSTED_PROXY_CIDRS

	// MetricsAddr is METRICS_ADDR: where Prometheus metrics are served, on
	// a listener of their own (default 127.0.0.1:9090; "off" serves none).
	MetricsAddr string
	// MetricsTenantLabel is METRICS_TENANT_LABEL=1: request metrics get a
	// tenant label (the tenant's id). Off by default: one series set per
	// tenant is unbounded cardinality.
	MetricsTenantLabel bool
	// PprofAddr is PPROF_ADDR: where net/http/pprof is served, on a
	// listener of its own, for profiling (make bench-http's CPU profile).
	// Off by default (empty); loopback addresses only: a profile endpoint
	// reveals code paths and memory contents and costs CPU on demand, so it
	// must not be reachable from another machine.
	PprofAddr string

	errs []error
}

// Load reads the configuration through getenv (os.Getenv in production).
// Malformed values are errors; missing required values are checked by
// Require for the subcommand at hand.
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{
		DatabaseURL:        getenv("DATABASE_URL"),
		AdminDatabaseURL:   getenv("ADMIN_DATABASE_URL"),
		MigrateDatabaseURL: getenv("MIGRATE_DATABASE_URL"),
		ListenAddr:         orDefault(getenv("LISTEN_ADDR"), "127.0.0.1:8080"),
		AuthMode:           auth.Mode(orDefault(getenv("AUTH_MODE"), string(auth.ModeCloudflare))),
		DevUserEmail:       orDefault(getenv("DEV_USER_EMAIL"), "dev@example.com"),
		BaseDomain:         strings.ToLower(strings.TrimSpace(getenv("BASE_DOMAIN"))),
		LogFormat:          orDefault(getenv("LOG_FORMAT"), "json"),
		CFTeamDomain:       strings.TrimRight(getenv("CF_ACCESS_TEAM_DOMAIN"), "/"),
		CFCertsURL:         getenv("CF_ACCESS_CERTS_URL"),
		CFInsecureLoopback: getenv("CF_ACCESS_INSECURE_LOOPBACK") == "1",
	}
	for _, u := range []struct{ name, val string }{
		{"DATABASE_URL", c.DatabaseURL}, {"ADMIN_DATABASE_URL", c.AdminDatabaseURL}, {"MIGRATE_DATABASE_URL", c.MigrateDatabaseURL},
	} {
		if u.val != "" {
			if p, err := url.Parse(u.val); err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
				c.fail(u.name, "must be a postgres:// URL")
			}
		}
	}
	switch c.AuthMode {
	case auth.ModeCloudflare, auth.ModeTrustedHeader, auth.ModeDev:
	default:
		c.fail("AUTH_MODE", "must be cloudflare, trusted-header or dev")
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		c.fail("LISTEN_ADDR", "must be host:port")
	}
	c.RequestTimeout = c.duration(getenv, "REQUEST_TIMEOUT", 10*time.Second, time.Second, 10*time.Minute)
	c.MigrateLockTimeout = c.duration(getenv, "MIGRATE_LOCK_TIMEOUT", 2*time.Minute, time.Second, time.Hour)
	c.ShutdownTimeout = c.duration(getenv, "SHUTDOWN_TIMEOUT", 20*time.Second, 0, 10*time.Minute)
	c.CFSkew = c.duration(getenv, "CF_ACCESS_SKEW", 30*time.Second, 0, 60*time.Second)
	c.BodyLimit = c.integer(getenv, "MAX_BODY_BYTES", 1<<20, 1024, 64<<20)
	c.DBMaxConns = int32(c.integer(getenv, "DB_MAX_CONNS", 0, 1, 1000))
	c.DBAcquireTimeout = c.duration(getenv, "DB_ACQUIRE_TIMEOUT", 2*time.Second, 10*time.Millisecond, time.Minute)
	c.DBStatementTimeout = c.duration(getenv, "DB_STATEMENT_TIMEOUT", 30*time.Second, 10*time.Millisecond, time.Hour)
	c.DBLockTimeout = c.duration(getenv, "DB_LOCK_TIMEOUT", 2*time.Second, 10*time.Millisecond, time.Hour)
	c.DBTenantShare = c.share(getenv, "DB_TENANT_SHARE")
	c.DBUserShare = c.share(getenv, "DB_USER_SHARE")
	c.RateTenant = c.rate(getenv, "RATE_LIMIT_TENANT", 200)
	c.RateUser = c.rate(getenv, "RATE_LIMIT_USER", 50)
	c.HTTPReadHeaderTimeout = c.duration(getenv, "HTTP_READ_HEADER_TIMEOUT", 5*time.Second, 10*time.Millisecond, 10*time.Minute)
	c.HTTPReadTimeout = c.duration(getenv, "HTTP_READ_TIMEOUT", c.RequestTimeout+5*time.Second, 10*time.Millisecond, time.Hour)
	c.HTTPWriteTimeout = c.duration(getenv, "HTTP_WRITE_TIMEOUT", c.RequestTimeout+5*time.Second, 10*time.Millisecond, time.Hour)
	c.HTTPIdleTimeout = c.duration(getenv, "HTTP_IDLE_TIMEOUT", 120*time.Second, 10*time.Millisecond, time.Hour)
	if err := c.LogLevel.UnmarshalText([]byte(orDefault(getenv("LOG_LEVEL"), "info"))); err != nil {
		c.fail("LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		c.fail("LOG_FORMAT", "must be json or text")
	}
	c.CFAudiences = strings.FieldsFunc(getenv("CF_ACCESS_AUD"), splitList)
	if s := getenv("CF_ACCESS_SERVICE_TOKENS"); s != "" {
		c.CFServiceTokens = map[string]string{}
		for _, pair := range strings.FieldsFunc(s, splitList) {
			cn, email, ok := strings.Cut(pair, "=")
			email = rules.NormalizeEmail(email)
			if !ok || cn == "" || !rules.ValidEmail(email) {
				c.fail("CF_ACCESS_SERVICE_TOKENS", "must be common_name=identity-email pairs, comma-separated")
				break
			}
			c.CFServiceTokens[cn] = email
		}
	}
	for _, s := range strings.FieldsFunc(getenv("TRUSTED_PROXY_CIDRS"), splitList) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				c.fail("TRUSTED_PROXY_CIDRS", fmt.Sprintf("%q is not a CIDR", s))
				continue
			}
		}
		c.TrustedProxyCIDRs = append(c.TrustedProxyCIDRs, p.Masked())
	}
	if c.BaseDomain != "" && (strings.Contains(c.BaseDomain, "/") || strings.Contains(c.BaseDomain, ":") || !strings.Contains(c.BaseDomain, ".")) {
		c.fail("BASE_DOMAIN", "must be a domain name like app.example.com")
	}
	c.MetricsAddr = orDefault(getenv("METRICS_ADDR"), "127.0.0.1:9090")
	if c.MetricsAddr == "off" {
		c.MetricsAddr = ""
	} else if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
		c.fail("METRICS_ADDR", "must be host:port, or off")
	}
	c.MetricsTenantLabel = c.flag(getenv, "METRICS_TENANT_LABEL")
	if a := strings.TrimSpace(getenv("PPROF_ADDR")); a != "" && a != "off" {
		if !loopbackAddr(a) {
			c.fail("PPROF_ADDR", "must be a loopback host:port (127.0.0.1, ::1, localhost), or off")
		} else {
			c.PprofAddr = a
		}
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return c, nil
}

func splitList(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }

func orDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return strings.TrimSpace(v)
}

func (c *Config) fail(name, msg string) {
	c.errs = append(c.errs, fmt.Errorf("config: %s %s", name, msg))
}

func (c *Config) duration(getenv func(string) string, name string, def, lo, hi time.Duration) time.Duration {
	s := getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < lo || d > hi {
		c.fail(name, fmt.Sprintf("must be a duration from %s to %s (e.g. 30s)", lo, hi))
		return def
	}
	return d
}

func (c *Config) integer(getenv func(string) string, name string, def, lo, hi int64) int64 {
	s := getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		c.fail(name, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

// share reads a pool share: "" is 0 (half the pool), "off" is -1 (no
// bound), else a number of connections.
func (c *Config) share(getenv func(string) string, name string) int {
	if getenv(name) == "off" {
		return -1
	}
	return int(c.integer(getenv, name, 0, 1, 1000))
}

// rate reads NAME (requests per second, "off" for no limit) and
// NAME_BURST (default twice the rate).
func (c *Config) rate(getenv func(string) string, name string, def float64) limits.Rate {
	r := limits.Rate{PerSecond: def}
	switch s := getenv(name); s {
	case "":
	case "off":
		return limits.Rate{}
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 || v > 1e6 {
			c.fail(name, "must be requests per second (a number above 0), or off")
			return limits.Rate{}
		}
		r.PerSecond = v
	}
	r.Burst = int(c.integer(getenv, name+"_BURST", int64(math.Ceil(2*r.PerSecond)), 1, 1e7))
	return r
}

// flag reads a 0/1 variable ("" is 0).
func (c *Config) flag(getenv func(string) string, name string) bool {
	switch getenv(name) {
	case "", "0":
		return false
	case "1":
		return true
	}
	c.fail(name, "must be 0 or 1")
	return false
}

// Require returns an error naming every listed variable that is empty.
func (c *Config) Require(names ...string) error {
	vals := map[string]string{
		"DATABASE_URL":          c.DatabaseURL,
		"ADMIN_DATABASE_URL":    c.AdminDatabaseURL,
		"MIGRATE_DATABASE_URL":  c.MigrateDatabaseURL,
		"CF_ACCESS_TEAM_DOMAIN": c.CFTeamDomain,
		"CF_ACCESS_AUD":         strings.Join(c.CFAudiences, ","),
		"TRUSTED_PROXY_CIDRS":   fmt.Sprint(len(c.TrustedProxyCIDRs) > 0),
	}
	var errs []error
	for _, n := range names {
		if v := vals[n]; v == "" || v == "false" {
			errs = append(errs, fmt.Errorf("config: %s is required", n))
		}
	}
	return errors.Join(errs...)
}

// ListenIsLoopback reports whether LISTEN_ADDR binds only loopback
// addresses ("localhost", 127.0.0.0/8, ::1). An empty host binds every
// interface and is not loopback.
func (c *Config) ListenIsLoopback() bool { return loopbackAddr(c.ListenAddr) }

// loopbackAddr reports whether host:port addr binds only loopback
// addresses.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
