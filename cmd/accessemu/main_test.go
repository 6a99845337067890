package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/cfaccess"
)

// TestEmulatorTokensVerify: tokens the emulator mints pass the server's
// real verification (cfaccess, configured as .env.example configures the
// server), for the email asked, normalized.
func TestEmulatorTokensVerify(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var out strings.Builder
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-ttl", "2h"}, &out, ready) }()
	addr := <-ready
	url := "http://" + addr
	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, token := get("/token?email=%20Dev@Example.com")
	require.Equal(t, 200, status, token)

	v, err := cfaccess.New(ctx, cfaccess.Config{TeamDomain: url, Audiences: []string{"pgtenant-local"}, AllowInsecureLoopback: true})
	require.NoError(t, err)
	defer v.Close()
	claims, err := v.Verify(ctx, strings.TrimSpace(token))
	require.NoError(t, err)
	require.Equal(t, "dev@example.com", claims.Email)
	require.WithinDuration(t, time.Now().Add(2*time.Hour), claims.Expiry, time.Minute)

	v2, err := cfaccess.New(ctx, cfaccess.Config{TeamDomain: url, Audiences: []string{"another-app"}, AllowInsecureLoopback: true})
	require.NoError(t, err)
	defer v2.Close()
	_, err = v2.Verify(ctx, strings.TrimSpace(token))
	require.ErrorIs(t, err, cfaccess.ErrInvalidToken, "bound to its AUD like Access's")

	status, _ = get("/token?email=nope")
	require.Equal(t, 400, status)
	status, help := get("/")
	require.Equal(t, 200, status)
	require.Contains(t, help, "CF_ACCESS_TEAM_DOMAIN="+url)
	require.Contains(t, out.String(), "CF_ACCESS_INSECURE_LOOPBACK=1")
	cancel()
	require.NoError(t, <-done)
}

// TestEmulatorRefusesNonLoopback: it mints tokens for anyone, so it never
// listens beyond the machine.
func TestEmulatorRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:9901"} {
		err := run(context.Background(), []string{"-addr", addr}, io.Discard, nil)
		require.ErrorContains(t, err, "loopback only", addr)
	}
}
