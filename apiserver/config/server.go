package config

import (
	"fmt"
	"net/netip"
)

// Defaults of the HTTP server and password hashing, applied by Load to fields left empty.
const (
	DefaultMaxBodyBytes = 4 << 20
	// DefaultArgon2MemoryKiB, DefaultArgon2Iterations and DefaultArgon2Parallelism exceed the OWASP Password
	// Storage Cheat Sheet's minimum for argon2id (19 MiB, 2 iterations, 1 lane).
	DefaultArgon2MemoryKiB   = 64 * 1024
	DefaultArgon2Iterations  = 2
	DefaultArgon2Parallelism = 2
)

// HTTP configures the API server's HTTP handling.
type HTTP struct {
	// TrustedProxies are the CIDRs (or single addresses) of reverse proxies (ingress controllers, gateways)
	// whose X-Forwarded-For header is believed when finding a client's address, which login throttling and
	// the audit log use. Empty means the connection's peer address is the client's.
	TrustedProxies []string `json:"trustedProxies,omitempty"`
	// MaxBodyBytes limits the size of a request body. Default 4 MiB.
	MaxBodyBytes int64 `json:"maxBodyBytes,omitempty"`
}

// PasswordHashing sets the argon2id cost of password hashes. Existing hashes keep their own parameters and
// are re-hashed with the current ones at the next successful login.
type PasswordHashing struct {
	// MemoryKiB is the memory per hash in KiB. Default 65536 (64 MiB).
	MemoryKiB uint32 `json:"memoryKiB,omitempty"`
	// Iterations is the number of passes. Default 2.
	Iterations uint32 `json:"iterations,omitempty"`
	// Parallelism is the number of lanes. Default 2.
	Parallelism uint8 `json:"parallelism,omitempty"`
}

func (c *Config) applyServerDefaults() {
	if c.HTTP.MaxBodyBytes == 0 {
		c.HTTP.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h := &c.Auth.PasswordHashing
	if h.MemoryKiB == 0 {
		h.MemoryKiB = DefaultArgon2MemoryKiB
	}
	if h.Iterations == 0 {
		h.Iterations = DefaultArgon2Iterations
	}
	if h.Parallelism == 0 {
		h.Parallelism = DefaultArgon2Parallelism
	}
}

func (c *Config) validateServer(v *validator) {
	for i, p := range c.HTTP.TrustedProxies {
		_, errPrefix := netip.ParsePrefix(p)
		_, errAddr := netip.ParseAddr(p)
		v.check(errPrefix == nil || errAddr == nil, fmt.Sprintf("http.trustedProxies[%d]", i),
			"must be an IP address or CIDR such as 10.0.0.0/8, not %q", p)
	}
	v.check(c.HTTP.MaxBodyBytes >= 1024 && c.HTTP.MaxBodyBytes <= 1<<30, "http.maxBodyBytes", "must be between 1024 and 1073741824")
	h := c.Auth.PasswordHashing
	v.check(h.MemoryKiB >= 1024 && h.MemoryKiB <= 4<<20, "auth.passwordHashing.memoryKiB", "must be between 1024 and 4194304")
	v.check(h.Iterations >= 1 && h.Iterations <= 100, "auth.passwordHashing.iterations", "must be between 1 and 100")
	v.check(h.Parallelism >= 1, "auth.passwordHashing.parallelism", "must be at least 1")
}
