package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestAPIServerMetricsListenOnABusyPort: a --metrics-listen address that cannot be bound fails at once,
// naming the flag, before the server waits for its database.
func TestAPIServerMetricsListenOnABusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	t.Setenv("DATABASE_URL", "postgres://127.0.0.1:1/unreachable")
	// Were the flag read after the database, the wait for it would end at this deadline with another error.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = runAPIServer(ctx, []string{"--listen=127.0.0.1:0", "--metrics-listen=" + l.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
		t.Errorf("runAPIServer with a busy metrics port = %v, want an error naming --metrics-listen", err)
	}
}
