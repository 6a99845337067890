package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
