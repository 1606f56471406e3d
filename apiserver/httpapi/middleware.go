package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/settings"
)

const (
	requestIDKey = "request_id"
	loggerKey    = "logger"
	principalKey = "principal"
	clientIPKey  = "client_ip"
)

// recovery turns a panic into a logged error and a JSON 500.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v) // net/http's way to abort a response; it handles it
				}
				log.ErrorContext(c.Request.Context(), "Handler panicked", "request_id", requestID(c), "panic", fmt.Sprint(v),
					"stack", string(debug.Stack()))
				if !c.Writer.Written() {
					c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: errorDetail{
						Code: "internal_error", Message: "internal error (request id " + requestID(c) + ")"}})
					return
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestIDs keeps a sane caller-supplied X-Request-ID or makes one, echoes it and puts the logger in the
// context (logger adds the id when a handler logs: most requests never do).
func requestIDs(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !requestIDRE.MatchString(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(requestIDKey, id)
		c.Set(loggerKey, log)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

// quietPaths are logged at debug level: probes and scrapes would drown the access log.
var quietPaths = map[string]bool{"/healthz": true, "/readyz": true, "/health": true, "/metrics": true}

// accessLog logs one line per request (never bodies, query strings or headers, which may hold secrets) and
// records the HTTP metrics.
func accessLog(log *slog.Logger, m *Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		elapsed := time.Since(start)
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(c.Request.Method, route).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if quietPaths[c.Request.URL.Path] {
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int("bytes", c.Writer.Size()),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("client_ip", c.GetString(clientIPKey)),
		}
		if p, ok := principalOf(c); ok {
			attrs = append(attrs, slog.String("user_id", p.UserID))
		}
		log.LogAttrs(c.Request.Context(), level, "HTTP request", attrs...)
	}
}

// contentSecurityPolicy allows only this origin's scripts; inline styles are needed by the UI's components
// and Swagger UI.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; " +
	"frame-ancestors 'none'; form-action 'self'"

// securityHeaders sets the headers every response carries. HSTS is sent only over HTTPS (directly or as
// reported by a trusted proxy), never over plain HTTP. The policies that only govern documents (referrer,
// opener, permissions) are left out of the OpenAI-compatible /v1 API's answers, which programs read: an open
// stream holds its headers for as long as it is open, and fewer of them take less memory.
func securityHeaders(proxies *trustedProxies) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		if !strings.HasPrefix(c.Request.URL.Path, "/v1/") {
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		}
		if strings.HasPrefix(c.Request.URL.Path, "/api/") {
			// Answers about one user must not be kept by shared caches.
			h.Set("Cache-Control", "no-store")
		}
		if c.Request.TLS != nil || (proxies.trusted(c.Request) && c.GetHeader("X-Forwarded-Proto") == "https") {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		c.Next()
	}
}

// cors answers cross-origin requests from the configured origins; with none configured, only same-origin
// requests work (browsers refuse the rest).
func cors(current func() *settings.Snapshot) gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" {
			c.Next()
			return
		}
		allowed := slices.Contains(current().Config.CORS.AllowedOrigins, origin)
		preflight := c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != ""
		h := c.Writer.Header()
		h.Add("Vary", "Origin")
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After, Content-Disposition")
		}
		if !preflight {
			c.Next()
			return
		}
		if !allowed {
			writeError(c, apperr.Forbidden("origin_not_allowed", "cross-origin requests from this origin are not allowed"))
			return
		}
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID")
		h.Set("Access-Control-Max-Age", "600")
		c.AbortWithStatus(http.StatusNoContent)
	}
}

// bodyLimit caps request bodies at the configured size; reading past it fails, and bindJSON answers 413.
func bodyLimit(current func() *settings.Snapshot) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit := current().Config.HTTP.MaxBodyBytes
		if c.Request.ContentLength > limit {
			writeError(c, apperr.New(apperr.ErrTooLarge, "body_too_large", "the request body is larger than %d bytes", limit))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}

// trustedProxies finds clients' addresses, believing X-Forwarded-For only from configured proxies. The
// parsed list follows config reloads.
type trustedProxies struct {
	current func() *settings.Snapshot
	mu      sync.Mutex
	from    *settings.Snapshot
	nets    []netip.Prefix
}

func (t *trustedProxies) prefixes() []netip.Prefix {
	snap := t.current()
	t.mu.Lock()
	defer t.mu.Unlock()
	if snap != t.from {
		t.from, t.nets = snap, nil
		for _, s := range snap.Config.HTTP.TrustedProxies {
			if p, err := netip.ParsePrefix(s); err == nil {
				t.nets = append(t.nets, p)
			} else if a, err := netip.ParseAddr(s); err == nil {
				t.nets = append(t.nets, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}
	return t.nets
}

func (t *trustedProxies) contains(nets []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// trusted reports whether the request came straight from a trusted proxy.
func (t *trustedProxies) trusted(r *http.Request) bool {
	return t.contains(t.prefixes(), peerAddr(r))
}

// clientIP walks X-Forwarded-For from the right, skipping trusted proxies; the first untrusted address is
// the client.
func (t *trustedProxies) clientIP(r *http.Request) string {
	nets := t.prefixes()
	addr := peerAddr(r)
	if len(nets) == 0 || !t.contains(nets, addr) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = a.Unmap()
		if !t.contains(nets, addr) {
			break
		}
	}
	return addr.String()
}

func clientIPs(t *trustedProxies) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(clientIPKey, t.clientIP(c.Request))
		c.Next()
	}
}
