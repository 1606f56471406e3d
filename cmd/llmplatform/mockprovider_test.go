package main

import (
	"context"
	"io"
	"net/http"
	"testing"
)

func TestMockProviderServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveMockProvider(ctx, []string{"--listen=127.0.0.1:0", "--options=tps:0+ttft:0s"}, func(addr string) { addrc <- addr })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("mock-provider stopped: %v", err)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("GET /healthz = %d %q", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("mock-provider returned %v after cancellation, want nil", err)
	}
}

func TestMockProviderRejectsBadOptions(t *testing.T) {
	err := serveMockProvider(t.Context(), []string{"--listen=127.0.0.1:0", "--options=nosuch:1"}, func(string) {})
	if err == nil {
		t.Fatal("mock-provider accepted an unknown option")
	}
}
