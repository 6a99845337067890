package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/pgtenant/pgtenant/internal/pglocal"
)

// dockerProbeTimeout bounds how long a missing Docker engine can delay the
// tests (a docker client without an engine must fail fast).
const dockerProbeTimeout = 3 * time.Second

// dockerHealthy reports whether a Docker engine answers within the timeout.
func dockerHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dockerProbeTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("docker provider panicked: %v", r)
			}
		}()
		p, err := testcontainers.NewDockerProvider()
		if err != nil {
			done <- err
			return
		}
		done <- p.Health(ctx) // Health closes the provider
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errors.New("no Docker engine answered within " + dockerProbeTimeout.String())
	}
}

// startDocker runs postgres in a container (PGTEST_IMAGE, default
// postgres:15-alpine) when a Docker engine answers.
func startDocker(ctx context.Context) (*serverInfo, error) {
	if err := dockerHealthy(ctx); err != nil {
		return nil, err
	}
	image := os.Getenv("PGTEST_IMAGE")
	if image == "" {
		image = "postgres:15-alpine"
	}
	pass := pglocal.RandomToken()
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        image,
			Env:          map[string]string{"POSTGRES_PASSWORD": pass},
			ExposedPorts: []string{"5432/tcp"},
			Cmd:          []string{"postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"},
			WaitingFor:   wait.ForListeningPort("5432/tcp").WithStartupTimeout(60 * time.Second),
		},
		Started: true,
	})
	if err != nil {
		return nil, err
	}
	host, err := c.Host(ctx)
	if err != nil {
		_ = c.Terminate(ctx)
		return nil, err
	}
	port, err := c.MappedPort(ctx, "5432/tcp")
	if err != nil {
		_ = c.Terminate(ctx)
		return nil, err
	}
	s := &serverInfo{super: pglocal.URL(host, int(port.Num()), "postgres", pass, "postgres"), host: host, port: int(port.Num())}
	s.stop = func() { _ = c.Terminate(context.Background()) }
	// The port listens before initdb's restart completes; retry briefly.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err = s.readVersion(ctx); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}
