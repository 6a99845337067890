package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/config"
)

// slowServer serves newHTTPServer (serve's http.Server) with short
// timeouts: /ok answers at once, /echo reads the body, /big writes 64 MiB
// and reports when its write failed.
func slowServer(t *testing.T) (addr string, bigFailed <-chan time.Duration) {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"HTTP_READ_HEADER_TIMEOUT": "300ms", "HTTP_READ_TIMEOUT": "600ms",
			"HTTP_WRITE_TIMEOUT": "600ms", "HTTP_IDLE_TIMEOUT": "300ms",
		}[k]
	})
	require.NoError(t, err)
	failed := make(chan time.Duration, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "slow body", http.StatusRequestTimeout)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		chunk := make([]byte, 1<<20)
		for range 64 {
			if _, err := w.Write(chunk); err != nil {
				failed <- time.Since(start)
				return
			}
		}
	})
	srv := newHTTPServer(cfg, mux, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), failed
}

// closedWithin reads from c until the server closes it and returns how
// long that took from start (failing after limit).
func closedWithin(t *testing.T, c net.Conn, start time.Time, limit time.Duration) time.Duration {
	t.Helper()
	_ = c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept the connection open past %s", limit)
	return time.Since(start)
}

// TestSlowClients: serve's HTTP timeouts cut off clients that hold a
// connection without finishing: 100 slowloris connections trickling header
// lines, a client trickling its body, a client that does not read a large
// answer, an idle keep-alive connection. Each is closed within its
// timeout, and meanwhile ordinary requests are served as fast as ever.
func TestSlowClients(t *testing.T) {
	t.Parallel()
	addr, bigFailed := slowServer(t)
	ordinary := func(n int) []time.Duration {
		client := &http.Client{Timeout: 5 * time.Second}
		var lat []time.Duration
		for range n {
			start := time.Now()
			resp, err := client.Get("http://" + addr + "/ok")
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
			lat = append(lat, time.Since(start))
		}
		return lat
	}
	idle := ordinary(50)

	t.Run("slowloris", func(t *testing.T) {
		var wg sync.WaitGroup
		closed := make(chan time.Duration, 100)
		for range 100 {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer c.Close()
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				_, _ = io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: x\r\n")
				go func() { // one header line every 50 ms, never the blank line
					for i := 0; ; i++ {
						time.Sleep(50 * time.Millisecond)
						if _, err := fmt.Fprintf(c, "X-Slow-%d: 1\r\n", i); err != nil {
							return
						}
					}
				}()
				closed <- closedWithin(t, c, start, 3*time.Second)
			}()
		}
		during := ordinary(50)
		wg.Wait()
		close(closed)
		var worst time.Duration
		for d := range closed {
			worst = max(worst, d)
		}
		t.Logf("ordinary requests: median %s idle, %s beside 100 slowloris connections; slowloris closed after at most %s",
			median(idle), median(during), worst.Round(time.Millisecond))
		require.Less(t, worst, 1500*time.Millisecond, "closed after HTTP_READ_HEADER_TIMEOUT (300 ms), however it trickles")
		require.Less(t, median(during), 50*time.Millisecond, "the others were served meanwhile")
	})

	t.Run("slow body", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		start := time.Now()
		_, _ = io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
		go func() {
			for range 100 {
				time.Sleep(50 * time.Millisecond)
				if _, err := io.WriteString(c, "x"); err != nil {
					return
				}
			}
		}()
		took := closedWithin(t, c, start, 3*time.Second)
		require.Less(t, took, 1500*time.Millisecond, "closed after HTTP_READ_TIMEOUT (600 ms)")
	})

	t.Run("slow reader", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, _ = io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n") // and never read the answer
		select {
		case d := <-bigFailed:
			require.Less(t, d, 1500*time.Millisecond, "the handler's write failed after HTTP_WRITE_TIMEOUT (600 ms)")
		case <-time.After(5 * time.Second):
			t.Fatal("a client that does not read held the handler")
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, _ = io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		require.Equal(t, "ok", string(body))
		require.False(t, resp.Close, "a keep-alive connection")
		took := closedWithin(t, c, time.Now(), 3*time.Second)
		require.InDelta(t, 300*time.Millisecond, took, float64(400*time.Millisecond), "closed after HTTP_IDLE_TIMEOUT (300 ms)")
	})
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
