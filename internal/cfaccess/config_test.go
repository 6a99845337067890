package cfaccess

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// validConfig needs no server: validation happens before any fetch.
func validConfig() Config {
	return Config{
		TeamDomain: "https://acme.cloudflareaccess.com",
		Audiences:  []string{"4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"},
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"TeamDomain empty", func(c *Config) { c.TeamDomain = "" }, "TeamDomain"},
		{"TeamDomain http", func(c *Config) { c.TeamDomain = "http://acme.cloudflareaccess.com" }, "TeamDomain"},
		{"TeamDomain no scheme", func(c *Config) { c.TeamDomain = "acme.cloudflareaccess.com" }, "TeamDomain"},
		{"TeamDomain with path", func(c *Config) { c.TeamDomain = "https://acme.cloudflareaccess.com/cdn-cgi" }, "TeamDomain"},
		{"TeamDomain with query", func(c *Config) { c.TeamDomain = "https://acme.cloudflareaccess.com?x=1" }, "TeamDomain"},
		{"TeamDomain with fragment", func(c *Config) { c.TeamDomain = "https://acme.cloudflareaccess.com#x" }, "TeamDomain"},
		{"TeamDomain with user info", func(c *Config) { c.TeamDomain = "https://u:p@acme.cloudflareaccess.com" }, "TeamDomain"},
		{"TeamDomain ftp", func(c *Config) { c.TeamDomain = "ftp://acme.cloudflareaccess.com" }, "TeamDomain"},
		{"TeamDomain http loopback without the flag", func(c *Config) { c.TeamDomain = "http://127.0.0.1:8080" }, "TeamDomain"},
		{"TeamDomain http non-loopback with the flag", func(c *Config) {
			c.TeamDomain = "http://10.0.0.1:8080"
			c.AllowInsecureLoopback = true
		}, "TeamDomain"},
		{"Audiences nil", func(c *Config) { c.Audiences = nil }, "Audiences"},
		{"Audiences empty tag", func(c *Config) { c.Audiences = []string{"aud1", ""} }, "Audiences"},
		{"Audiences unsplit list", func(c *Config) { c.Audiences = []string{"aud1,aud2"} }, "Audiences"},
		{"Audiences white space", func(c *Config) { c.Audiences = []string{" aud1"} }, "Audiences"},
		{"CertsURL http", func(c *Config) { c.CertsURL = "http://acme.cloudflareaccess.com/cdn-cgi/access/certs" }, "CertsURL"},
		{"CertsURL relative", func(c *Config) { c.CertsURL = "/cdn-cgi/access/certs" }, "CertsURL"},
		{"CertsURL with fragment", func(c *Config) { c.CertsURL = "https://acme.cloudflareaccess.com/certs#k" }, "CertsURL"},
		{"Skew negative", func(c *Config) { c.Skew = -time.Second }, "Skew"},
		{"Skew over 60s", func(c *Config) { c.Skew = 61 * time.Second }, "Skew"},
		{"RefreshInterval too short", func(c *Config) { c.RefreshInterval = time.Second }, "RefreshInterval"},
		{"RefreshInterval negative", func(c *Config) { c.RefreshInterval = -time.Minute }, "RefreshInterval"},
		{"RefreshInterval too long", func(c *Config) { c.RefreshInterval = 48 * time.Hour }, "RefreshInterval"},
		{"MinRefreshInterval too short", func(c *Config) { c.MinRefreshInterval = time.Millisecond }, "MinRefreshInterval"},
		{"MinRefreshInterval above RefreshInterval", func(c *Config) {
			c.RefreshInterval = 5 * time.Minute
			c.MinRefreshInterval = 10 * time.Minute
		}, "MinRefreshInterval"},
		{"ServiceTokens empty common_name", func(c *Config) { c.ServiceTokens = map[string]string{"": "svc"} }, "ServiceTokens"},
		{"ServiceTokens padded common_name", func(c *Config) { c.ServiceTokens = map[string]string{" abc.access": "svc"} }, "ServiceTokens"},
		{"ServiceTokens empty name", func(c *Config) { c.ServiceTokens = map[string]string{"abc.access": " "} }, "ServiceTokens"},
		{"MaxTokenBytes negative", func(c *Config) { c.MaxTokenBytes = -1 }, "MaxTokenBytes"},
		{"MaxTokenBytes too small", func(c *Config) { c.MaxTokenBytes = 100 }, "MaxTokenBytes"},
		{"MaxTokenBytes too large", func(c *Config) { c.MaxTokenBytes = 1 << 20 }, "MaxTokenBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			tc.mod(&cfg)
			v, err := New(context.Background(), cfg)
			require.Error(t, err)
			require.Nil(t, v)
			var cerr *ConfigError
			require.True(t, errors.As(err, &cerr), "want *ConfigError, got %T", err)
			require.Equal(t, tc.field, cerr.Field)
			require.Contains(t, err.Error(), tc.field)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := validConfig().validated()
	require.NoError(t, err)
	require.Equal(t, "https://acme.cloudflareaccess.com/cdn-cgi/access/certs", cfg.CertsURL)
	require.Equal(t, DefaultSkew, cfg.Skew)
	require.Equal(t, DefaultRefreshInterval, cfg.RefreshInterval)
	require.Equal(t, DefaultMinRefreshInterval, cfg.MinRefreshInterval)
	require.Equal(t, DefaultMaxTokenBytes, cfg.MaxTokenBytes)
	require.NotNil(t, cfg.HTTPClient)
	require.Equal(t, DefaultHTTPTimeout, cfg.HTTPClient.Timeout)
	require.NotNil(t, cfg.HTTPClient.CheckRedirect)
	require.NotNil(t, cfg.Logger)
	require.NotNil(t, cfg.ServiceTokens)
}

func TestConfigNormalization(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, team, certs string
		loopback        bool
	}{
		{in: "https://acme.cloudflareaccess.com/", team: "https://acme.cloudflareaccess.com", certs: "https://acme.cloudflareaccess.com/cdn-cgi/access/certs"},
		{in: "HTTPS://ACME.CloudflareAccess.com", team: "https://acme.cloudflareaccess.com", certs: "https://acme.cloudflareaccess.com/cdn-cgi/access/certs"},
		{in: "http://127.0.0.1:4000", team: "http://127.0.0.1:4000", certs: "http://127.0.0.1:4000/cdn-cgi/access/certs", loopback: true},
		{in: "http://[::1]:4000", team: "http://[::1]:4000", certs: "http://[::1]:4000/cdn-cgi/access/certs", loopback: true},
		{in: "http://localhost:4000", team: "http://localhost:4000", certs: "http://localhost:4000/cdn-cgi/access/certs", loopback: true},
	} {
		cfg := validConfig()
		cfg.TeamDomain = tc.in
		cfg.AllowInsecureLoopback = tc.loopback
		got, err := cfg.validated()
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.team, got.TeamDomain)
		require.Equal(t, tc.certs, got.CertsURL)
	}

	cfg := validConfig()
	cfg.CertsURL = "https://keys.example.com/certs?team=acme"
	got, err := cfg.validated()
	require.NoError(t, err)
	require.Equal(t, "https://keys.example.com/certs?team=acme", got.CertsURL)
}

func TestConfigCopiesCallerState(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.ServiceTokens = map[string]string{"abc.access": "svc"}
	client := &http.Client{}
	cfg.HTTPClient = client
	got, err := cfg.validated()
	require.NoError(t, err)
	cfg.ServiceTokens["evil.access"] = "admin"
	cfg.Audiences[0] = "changed"
	require.NotContains(t, got.ServiceTokens, "evil.access")
	require.NotEqual(t, "changed", got.Audiences[0])
	require.Same(t, client, got.HTTPClient)
}

func TestParseAudiences(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{}, ParseAudiences(""))
	require.Equal(t, []string{}, ParseAudiences(" , ,\n"))
	require.Equal(t, []string{"a"}, ParseAudiences("a"))
	require.Equal(t, []string{"a", "b", "c"}, ParseAudiences("a,b c\tc,\na"))
	require.Equal(t, []string{"a", "b"}, ParseAudiences(" a , b "))
}
