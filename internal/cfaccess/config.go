package cfaccess

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults and bounds for Config. The bounds exist so that a typo in an
// environment variable fails at boot instead of weakening verification or
// hammering the certs endpoint.
const (
	DefaultSkew               = 30 * time.Second
	MaxSkew                   = 60 * time.Second
	DefaultRefreshInterval    = 15 * time.Minute
	DefaultMinRefreshInterval = 30 * time.Second
	DefaultMaxTokenBytes      = 8 << 10
	DefaultHTTPTimeout        = 10 * time.Second

	// CertsPath is where Cloudflare Access serves a team's signing keys.
	CertsPath = "/cdn-cgi/access/certs"

	minRefreshInterval    = time.Minute
	maxRefreshInterval    = 24 * time.Hour
	minMinRefreshInterval = time.Second
	minMaxTokenBytes      = 512
	maxMaxTokenBytes      = 64 << 10
)

// Config configures a Verifier. The zero value of every optional field
// selects its default. Each field names the environment variable the server
// conventionally reads it from.
type Config struct {
	// TeamDomain is the Cloudflare Access team domain, e.g.
	// "https://acme.cloudflareaccess.com" (CF_ACCESS_TEAM_DOMAIN). Required.
	// It must be an https URL with no path, query, fragment or user info
	// (one trailing "/" is dropped); the token's "iss" must equal it exactly.
	TeamDomain string

	// Audiences are the application AUD tags this server accepts
	// (CF_ACCESS_AUD, see ParseAudiences). Required, at least one. Signing
	// keys are per account, so "aud" is the only thing that binds a token to
	// this application: a token another Access application of the same
	// account issued must not work here.
	Audiences []string

	// CertsURL is the JWKS location (CF_ACCESS_CERTS_URL). Default:
	// TeamDomain + CertsPath. Same scheme rules as TeamDomain; a path and a
	// query are allowed.
	CertsURL string

	// Skew is the clock skew tolerated on exp, nbf and iat
	// (CF_ACCESS_SKEW). Default 30s; allowed 0 < Skew <= 60s (zero selects
	// the default, so ask for 1s if you want almost none).
	Skew time.Duration

	// RefreshInterval is how often the key set is re-fetched in the
	// background (CF_ACCESS_REFRESH_INTERVAL). Default 15m; allowed 1m..24h.
	// Actual waits are jittered by ±10% so a fleet does not fetch in step.
	RefreshInterval time.Duration

	// MinRefreshInterval bounds fetches that tokens can cause: a token with
	// an unknown kid, or a Verify while no key set has loaded, triggers at
	// most one fetch per MinRefreshInterval, whatever the request rate
	// (CF_ACCESS_MIN_REFRESH_INTERVAL). It is also the retry interval while
	// no key set has loaded. Default 30s; allowed 1s..RefreshInterval.
	MinRefreshInterval time.Duration

	// ServiceTokens maps a service token's common_name (its Client ID, as
	// Cloudflare puts it in the token, e.g. "88bf3b6d86161464f6509f7219099e57.access")
	// to the service identity name the application uses
	// (CF_ACCESS_SERVICE_TOKENS). A service token whose common_name is not
	// here is rejected. Keys and values must be non-empty.
	ServiceTokens map[string]string

	// HTTPClient fetches the key set. Default: a client with a
	// DefaultHTTPTimeout timeout that does not follow redirects. Every fetch
	// is also bounded by DefaultHTTPTimeout through its context.
	HTTPClient *http.Client

	// MaxTokenBytes is the largest token accepted; larger ones are rejected
	// before any decoding (CF_ACCESS_MAX_TOKEN_BYTES). Default 8 KiB;
	// allowed 512..64 KiB.
	MaxTokenBytes int

	// AllowInsecureLoopback permits http:// TeamDomain and CertsURL when the
	// host is a loopback address (127.0.0.0/8, ::1, localhost). For tests
	// and local benchmarks only (an httptest server): the server sets it
	// only from the explicit CF_ACCESS_INSECURE_LOOPBACK=1, and logs a
	// warning when it does.
	AllowInsecureLoopback bool

	// Logger receives background refresh failures and key set changes.
	// Default slog.Default().
	Logger *slog.Logger

	// Test hooks. Unexported so only this package's tests can set them.
	now                 func() time.Time // clock for claims and the refresh rate bound
	allowShortIntervals bool             // lifts the floors on the refresh intervals
}

// ConfigError reports a bad Config field. Field is the Go field name, so a
// caller can map it back to the environment variable it came from.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return "cfaccess: invalid config: " + e.Field + ": " + e.Reason
}

func configErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ParseAudiences splits a list of AUD tags separated by commas and/or white
// space (the CF_ACCESS_AUD format), dropping empty entries and duplicates.
func ParseAudiences(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	out := make([]string, 0, len(fields))
	seen := make(map[string]struct{}, len(fields))
	for _, f := range fields {
		if _, ok := seen[f]; ok {
			continue
		}
		seen[f] = struct{}{}
		out = append(out, f)
	}
	return out
}

// validated returns a copy of c with defaults filled, or the first problem
// found as a *ConfigError. The steps run in field order, so the error names
// the first bad field.
func (c Config) validated() (Config, error) {
	for _, step := range []func(*Config) error{
		(*Config).validateTeamDomain,
		(*Config).validateAudiences,
		(*Config).validateCertsURL,
		(*Config).validateSkew,
		(*Config).validateRefreshIntervals,
		(*Config).validateServiceTokens,
		(*Config).validateMaxTokenBytes,
	} {
		if err := step(&c); err != nil {
			return Config{}, err
		}
	}
	c.fillDefaults()
	return c, nil
}

func (c *Config) validateTeamDomain() error {
	return c.canonicalizeURL("TeamDomain", &c.TeamDomain, false)
}

func (c *Config) validateAudiences() error {
	if len(c.Audiences) == 0 {
		return configErr("Audiences", "at least one AUD tag is required")
	}
	auds := make([]string, 0, len(c.Audiences))
	for _, a := range c.Audiences {
		if a == "" {
			return configErr("Audiences", "empty AUD tag")
		}
		if strings.ContainsAny(a, ", \t\r\n") {
			return configErr("Audiences", "AUD tag contains a comma or white space (use ParseAudiences to split a list)")
		}
		auds = append(auds, a)
	}
	c.Audiences = auds
	return nil
}

// validateCertsURL runs after validateTeamDomain: the default is derived
// from the canonical team domain.
func (c *Config) validateCertsURL() error {
	if c.CertsURL == "" {
		c.CertsURL = c.TeamDomain + CertsPath
		return nil
	}
	return c.canonicalizeURL("CertsURL", &c.CertsURL, true)
}

// canonicalizeURL replaces *u by its canonical form after checkURL accepts it.
func (c *Config) canonicalizeURL(field string, u *string, pathAllowed bool) error {
	canonical, err := c.checkURL(field, *u, pathAllowed)
	if err != nil {
		return err
	}
	*u = canonical
	return nil
}

func (c *Config) validateSkew() error {
	switch {
	case c.Skew == 0:
		c.Skew = DefaultSkew
	case c.Skew < 0 || c.Skew > MaxSkew:
		return configErr("Skew", "must be between 0 and %s, got %s", MaxSkew, c.Skew)
	}
	return nil
}

func (c *Config) validateRefreshIntervals() error {
	floorRefresh, floorMin := minRefreshInterval, minMinRefreshInterval
	if c.allowShortIntervals {
		floorRefresh, floorMin = time.Millisecond, time.Millisecond
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.RefreshInterval < floorRefresh || c.RefreshInterval > maxRefreshInterval {
		return configErr("RefreshInterval", "must be between %s and %s, got %s", floorRefresh, maxRefreshInterval, c.RefreshInterval)
	}
	if c.MinRefreshInterval == 0 {
		c.MinRefreshInterval = min(DefaultMinRefreshInterval, c.RefreshInterval)
	}
	if c.MinRefreshInterval < floorMin || c.MinRefreshInterval > c.RefreshInterval {
		return configErr("MinRefreshInterval", "must be between %s and RefreshInterval (%s), got %s", floorMin, c.RefreshInterval, c.MinRefreshInterval)
	}
	return nil
}

func (c *Config) validateServiceTokens() error {
	services := make(map[string]string, len(c.ServiceTokens))
	for cn, name := range c.ServiceTokens {
		if strings.TrimSpace(cn) == "" || strings.TrimSpace(cn) != cn {
			return configErr("ServiceTokens", "common_name %q is empty or has surrounding white space", cn)
		}
		if strings.TrimSpace(name) == "" {
			return configErr("ServiceTokens", "common_name %q maps to an empty service name", cn)
		}
		services[cn] = name
	}
	// A private copy: the caller mutating its map later cannot race Verify.
	c.ServiceTokens = services
	return nil
}

func (c *Config) validateMaxTokenBytes() error {
	switch {
	case c.MaxTokenBytes == 0:
		c.MaxTokenBytes = DefaultMaxTokenBytes
	case c.MaxTokenBytes < minMaxTokenBytes || c.MaxTokenBytes > maxMaxTokenBytes:
		return configErr("MaxTokenBytes", "must be between %d and %d, got %d", minMaxTokenBytes, maxMaxTokenBytes, c.MaxTokenBytes)
	}
	return nil
}

// fillDefaults sets the optional fields that have no invalid values.
func (c *Config) fillDefaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{
			Timeout: DefaultHTTPTimeout,
			// The certs endpoint does not redirect; following one would let
			// whoever controls a redirect (or a downgrade to http) choose the
			// keys we trust.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
}

// checkURL validates TeamDomain or CertsURL and returns its canonical form
// (lower-case scheme and host; for the team domain, no trailing slash).
// https is required because the key set is the root of trust: fetched over
// http, anyone on the path could substitute their own keys.
func (c Config) checkURL(field, raw string, pathAllowed bool) (string, error) {
	if raw == "" {
		return "", configErr(field, "required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", configErr(field, "not a URL: %v", err)
	}
	switch {
	case u.Opaque != "" || u.Host == "":
		return "", configErr(field, "must be an absolute URL like https://team.cloudflareaccess.com, got %q", raw)
	case u.User != nil:
		return "", configErr(field, "must not contain user info")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", configErr(field, "must not contain a fragment")
	case !pathAllowed && (u.RawQuery != "" || u.ForceQuery):
		return "", configErr(field, "must not contain a query")
	case !pathAllowed && u.Path != "" && u.Path != "/":
		return "", configErr(field, "must not contain a path, got %q", u.Path)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "https":
	case scheme == "http" && c.AllowInsecureLoopback && isLoopbackHost(u.Hostname()):
	case scheme == "http" && isLoopbackHost(u.Hostname()):
		return "", configErr(field, "must use https (http is accepted for loopback hosts only with AllowInsecureLoopback)")
	default:
		return "", configErr(field, "must use https, got %q", u.Scheme)
	}
	u.Scheme = scheme
	u.Host = strings.ToLower(u.Host)
	if !pathAllowed {
		u.Path = ""
		u.RawPath = ""
	}
	return u.String(), nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
