package provider

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// TransportOptions size the shared upstream transport.
type TransportOptions struct {
	// MaxIdleConnsPerHost is how many idle keep-alive connections are kept per upstream host. Set it to the
	// expected number of concurrent calls to one provider: http.DefaultTransport keeps only 2, so that at 3
	// or more concurrent calls most of them open a new connection. Default 256.
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes idle connections after this long. Default 90s.
	IdleConnTimeout time.Duration
	// DialContext dials connections; nil uses a net.Dialer. Tests replace it.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DefaultConnectTimeout bounds dialing when the call's configuration sets no connect timeout.
const DefaultConnectTimeout = 10 * time.Second

// NewTransport returns the HTTP transport that every adapter of a process should share, so that connections
// to a provider are kept alive and reused across calls, keys and users. Its dialer honours each call's
// connect timeout (Timeouts.Connect), which the adapters pass in the request's context.
func NewTransport(opts TransportOptions) *http.Transport {
	if opts.MaxIdleConnsPerHost == 0 {
		opts.MaxIdleConnsPerHost = 256
	}
	if opts.IdleConnTimeout == 0 {
		opts.IdleConnTimeout = 90 * time.Second
	}
	dial := opts.DialContext
	if dial == nil {
		dial = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
	}
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			timeout, _ := ctx.Value(connectTimeoutKey{}).(time.Duration)
			if timeout <= 0 {
				timeout = DefaultConnectTimeout
			}
			ctx, cancel := context.WithTimeoutCause(ctx, timeout, errConnectTimeout)
			defer cancel()
			conn, err := dial(ctx, network, addr)
			if err != nil && errors.Is(context.Cause(ctx), errConnectTimeout) {
				return nil, &net.OpError{Op: "dial", Net: network, Err: errConnectTimeout}
			}
			return conn, err
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // no global cap: MaxIdleConnsPerHost bounds each provider
		MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
		IdleConnTimeout:       opts.IdleConnTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Compression would make the transport buffer and inflate streams; providers send them uncompressed.
		DisableCompression: true,
		// Each HTTP/1 connection keeps its buffers while a stream is open (for minutes, on a slow model): small
		// ones are kilobytes less per open stream. A request's headers fit in 1 KiB (a larger body is written
		// past the buffer); a response's header lines may be longer than the read buffer (they are assembled),
		// and a stream's events are read through its own reader (readBufferSize).
		WriteBufferSize: 1 << 10,
		ReadBufferSize:  1 << 10,
	}
}

// connectTimeoutKey carries a call's connect timeout to the transport's dialer. The transport keeps the
// request context's values (though not its cancellation) when it dials.
type connectTimeoutKey struct{}

// errConnectTimeout is a dial that exceeded the connect timeout; it reports itself as a timeout like the
// net package's errors.
var errConnectTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string { return "connect timeout" }
func (timeoutError) Timeout() bool { return true }

// isDialTimeout reports whether err is a dial that timed out.
func isDialTimeout(err error) bool {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return false
	}
	var t interface{ Timeout() bool }
	return errors.As(op.Err, &t) && t.Timeout()
}
