package apiserver_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// nginxBinary is Debian's nginx (apt-get install nginx; .ci/run installs it).
const nginxBinary = "/usr/sbin/nginx"

// nginxConfig proxies to the API server the way ingress-nginx does with the operator's Ingress annotations
// (controllers/builders.StreamingAnnotations): no response or request buffering, one-hour timeouts, HTTP/1.1
// upstream with keep-alive, and gzip on for its default types (which an event stream must escape).
const nginxConfig = `daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
%[4]s
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  gzip on;
  gzip_proxied any;
  gzip_types application/atom+xml application/javascript application/x-javascript application/json application/rss+xml
    application/xhtml+xml application/xml image/svg+xml text/css text/javascript text/plain text/x-component;
  upstream apiserver { server %[3]s; keepalive 8; }
  server {
    listen 127.0.0.1:%[2]d;
    location / {
      proxy_pass http://apiserver;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
`

// startNginx runs nginx in the foreground in front of upstream and returns its base URL.
func startNginx(t *testing.T, upstream string) string {
	t.Helper()
	if _, err := os.Stat(nginxBinary); err != nil {
		t.Fatalf("nginx is not installed at %s: install Debian's nginx (apt-get install nginx; .ci/run does) to run the streaming-through-a-proxy test", nginxBinary)
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers must reach the temp directories under the test's own
	}
	conf := filepath.Join(dir, "nginx.conf")
	writeFile(t, conf, fmt.Sprintf(nginxConfig, dir, port, strings.TrimPrefix(upstream, "http://"), user))
	cmd := exec.Command(nginxBinary, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // nginx: fast shutdown
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == 200 {
				return base
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not answer within 10s: %v", err)
		}
	}
}

// TestChatStreamsUnbufferedThroughNginx: through nginx configured as the operator's Ingress configures
// ingress-nginx, the first delta reaches the client while the provider is still generating, uncompressed.
func TestChatStreamsUnbufferedThroughNginx(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	proxy := startNginx(t, e.base)
	s := e.register("max")
	conv := e.conversation(s, "oai/crawl", "") // 40 tokens at 20 per second: two seconds
	through := *e
	through.base = proxy
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := through.post(ctx, "/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "slowly"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("through nginx: %d, Content-Type %q, Content-Encoding %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Encoding"))
	}
	r := newEventReader(res.Body)
	var got streamed
	first := true
	for {
		ev, _, err := r.next()
		if err != nil {
			t.Fatalf("reading through nginx: %v", err)
		}
		if ev.name == "delta" && first {
			first = false
			out := e.mock.LastRequest().Outcome()
			if out.Completed || out.TokensSent >= 40 {
				t.Fatalf("the first delta arrived after the provider finished (%+v): the stream was buffered", out)
			}
		}
		got.events = append(got.events, ev)
		if ev.name == "done" {
			break
		}
	}
	if text, want := got.text(), mockprovider.ReplyText(40); text != want {
		t.Errorf("text through nginx %q, want %q", text, want)
	}
}
