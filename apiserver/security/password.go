// Package security holds the API server's credential primitives: argon2id password hashes, HS256 access
// tokens (JWT) and opaque refresh tokens. It knows nothing of HTTP or the database.
package security

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are argon2id cost parameters.
type Argon2Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// DefaultArgon2 follows OWASP's Password Storage Cheat Sheet, which asks for argon2id with at least
// 19 MiB of memory, 2 iterations and 1 degree of parallelism; these defaults spend more memory (64 MiB)
// and two lanes.
var DefaultArgon2 = Argon2Params{MemoryKiB: 64 * 1024, Iterations: 2, Parallelism: 2}

const (
	saltLen = 16
	keyLen  = 32
)

// ErrMalformedHash is returned for a stored hash that is not an argon2id PHC string.
var ErrMalformedHash = errors.New("malformed password hash")

// Hasher hashes and verifies passwords, with at most a bounded number of hashes running at once so that
// a burst of logins cannot exhaust memory (each hash holds MemoryKiB).
type Hasher struct {
	params func() Argon2Params
	slots  chan struct{}
}

// NewHasher returns a Hasher that reads its parameters from params on every new hash (so a reloaded config
// applies) and runs at most concurrency hashes at once.
func NewHasher(params func() Argon2Params, concurrency int) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	return &Hasher{params: params, slots: make(chan struct{}, concurrency)}
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$key) of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	p := h.params()
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading random salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
	h.release()
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations,
		p.Parallelism, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string encoded, using the parameters stored in it.
// needsRehash is true when those parameters differ from the current ones.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want)))
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1, p != h.params(), nil
}

func parseHash(encoded string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return p, nil, nil, ErrMalformedHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || p.Iterations == 0 || p.Parallelism == 0 {
		return p, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}
