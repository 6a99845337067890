package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/limits"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env())
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", c.ListenAddr)
	require.EqualValues(t, "cloudflare", c.AuthMode)
	require.Equal(t, 10*time.Second, c.RequestTimeout)
	require.Equal(t, 2*time.Minute, c.MigrateLockTimeout)
	require.Zero(t, c.DBMaxConns, "unset: the URL's pool_max_conns (or txscope's 10) decides")
	require.Equal(t, 30*time.Second, c.CFSkew)
	require.EqualValues(t, 1<<20, c.BodyLimit)
	require.True(t, c.ListenIsLoopback())
	require.Error(t, c.Require("DATABASE_URL"))
	require.Equal(t, 2*time.Second, c.DBAcquireTimeout)
	require.Equal(t, 30*time.Second, c.DBStatementTimeout)
	require.Equal(t, 2*time.Second, c.DBLockTimeout)
	require.Zero(t, c.DBTenantShare, "unset: half the pool")
	require.Zero(t, c.DBUserShare)
	require.Equal(t, limits.Rate{PerSecond: 200, Burst: 400}, c.RateTenant, "on by default, generous")
	require.Equal(t, limits.Rate{PerSecond: 50, Burst: 100}, c.RateUser)
	require.Equal(t, 5*time.Second, c.HTTPReadHeaderTimeout)
	require.Equal(t, 15*time.Second, c.HTTPReadTimeout, "REQUEST_TIMEOUT + 5s")
	require.Equal(t, 15*time.Second, c.HTTPWriteTimeout)
	require.Equal(t, 120*time.Second, c.HTTPIdleTimeout)
}

func TestLimitsParsing(t *testing.T) {
	t.Parallel()
	c, err := Load(env("DB_TENANT_SHARE", "3", "DB_USER_SHARE", "off", "RATE_LIMIT_TENANT", "off",
		"RATE_LIMIT_USER", "2.5", "REQUEST_TIMEOUT", "20s", "HTTP_IDLE_TIMEOUT", "250ms"))
	require.NoError(t, err)
	require.Equal(t, 3, c.DBTenantShare)
	require.Equal(t, -1, c.DBUserShare)
	require.False(t, c.RateTenant.On())
	require.Equal(t, limits.Rate{PerSecond: 2.5, Burst: 5}, c.RateUser)
	require.Equal(t, 25*time.Second, c.HTTPReadTimeout, "follows REQUEST_TIMEOUT")
	require.Equal(t, 250*time.Millisecond, c.HTTPIdleTimeout)
	c, err = Load(env("RATE_LIMIT_USER_BURST", "7"))
	require.NoError(t, err)
	require.Equal(t, limits.Rate{PerSecond: 50, Burst: 7}, c.RateUser)
}

func TestParsing(t *testing.T) {
	t.Parallel()
	c, err := Load(env(
		"CF_ACCESS_AUD", "aud1, aud2\naud3",
		"CF_ACCESS_SERVICE_TOKENS", "ci.access=CI@Svc.example,deploy.access=deploy@svc.example",
		"TRUSTED_PROXY_CIDRS", "10.0.0.0/8 192.0.2.7 ::1",
		"CF_ACCESS_TEAM_DOMAIN", "https://acme.cloudflareaccess.com/",
	))
	require.NoError(t, err)
	require.Equal(t, []string{"aud1", "aud2", "aud3"}, c.CFAudiences)
	require.Equal(t, map[string]string{"ci.access": "ci@svc.example", "deploy.access": "deploy@svc.example"}, c.CFServiceTokens)
	require.Len(t, c.TrustedProxyCIDRs, 3)
	require.Equal(t, "192.0.2.7/32", c.TrustedProxyCIDRs[1].String())
	require.Equal(t, "https://acme.cloudflareaccess.com", c.CFTeamDomain)
}

func TestErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	for name, val := range map[string]string{
		"DATABASE_URL": "mysql://x", "AUTH_MODE": "none", "LISTEN_ADDR": "8080", "REQUEST_TIMEOUT": "0s",
		"CF_ACCESS_SKEW": "2m", "MAX_BODY_BYTES": "10", "DB_MAX_CONNS": "-1", "LOG_LEVEL": "loud",
		"LOG_FORMAT": "xml", "TRUSTED_PROXY_CIDRS": "10.0.0.0/33", "BASE_DOMAIN": "localhost",
		"CF_ACCESS_SERVICE_TOKENS": "x=not-an-email", "MIGRATE_LOCK_TIMEOUT": "0s",
		"DB_ACQUIRE_TIMEOUT": "soon", "DB_LOCK_TIMEOUT": "0s", "DB_TENANT_SHARE": "0", "DB_USER_SHARE": "half",
		"RATE_LIMIT_USER": "-3", "RATE_LIMIT_TENANT": "fast", "RATE_LIMIT_USER_BURST": "0", "HTTP_IDLE_TIMEOUT": "1ms",
	} {
		_, err := Load(env(name, val))
		require.ErrorContains(t, err, name, val)
	}
}

func TestListenIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.5.5.5:1": true, "[::1]:8080": true, "localhost:80": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.1:80": false, "example.com:80": false,
	} {
		c, err := Load(env("LISTEN_ADDR", addr))
		require.NoError(t, err, addr)
		require.Equal(t, want, c.ListenIsLoopback(), addr)
	}
}

// TestPprofAddr: profiling is off unless asked for, and then on loopback
// only: a profile endpoint on a public interface would let anyone read
// code paths and burn CPU on demand.
func TestPprofAddr(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "off"} {
		c, err := Load(env("PPROF_ADDR", v))
		require.NoError(t, err)
		require.Empty(t, c.PprofAddr, "PPROF_ADDR=%q", v)
	}
	for _, v := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0"} {
		c, err := Load(env("PPROF_ADDR", v))
		require.NoError(t, err, v)
		require.Equal(t, v, c.PprofAddr)
	}
	for _, v := range []string{":6060", "0.0.0.0:6060", "10.0.0.1:6060", "example.com:6060", "6060"} {
		_, err := Load(env("PPROF_ADDR", v))
		require.ErrorContains(t, err, "PPROF_ADDR", v)
	}
}
