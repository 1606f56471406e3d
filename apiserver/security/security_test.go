package security

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var cheap = Argon2Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}

func TestPasswordHashing(t *testing.T) {
	params := cheap
	h := NewHasher(func() Argon2Params { return params }, 2)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash %q is not an argon2id PHC string with the parameters", enc)
	}
	if other, _ := h.Hash(ctx, "correct horse"); other == enc {
		t.Error("two hashes of one password are equal: no salt")
	}
	if ok, rehash, err := h.Verify(ctx, "correct horse", enc); !ok || rehash || err != nil {
		t.Errorf("Verify(right) = %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(ctx, "correct horsf", enc); ok {
		t.Error("Verify(wrong) = true")
	}
	params = Argon2Params{MemoryKiB: 2048, Iterations: 1, Parallelism: 1}
	if ok, rehash, _ := h.Verify(ctx, "correct horse", enc); !ok || !rehash {
		t.Errorf("after a parameter change: ok %v rehash %v, want the old hash accepted and flagged", ok, rehash)
	}
	for _, bad := range []string{"", "$2a$10$bcrypt", "$argon2id$v=19$m=x$a$b", "$argon2id$v=18$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=1024,t=1,p=1$!!$AAAA"} {
		if _, _, err := h.Verify(ctx, "x", bad); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) error = %v, want ErrMalformedHash", bad, err)
		}
	}
}

func TestHasherHonoursCancellation(t *testing.T) {
	h := NewHasher(func() Argon2Params { return cheap }, 1)
	h.slots <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "pw"); err == nil {
		t.Error("Hash waited past its context")
	}
}

func TestAccessTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	tok, err := SignAccessToken(key, "user-1", "session-1", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseAccessToken(key, tok, now.Add(30*time.Second))
	if err != nil || c.Subject != "user-1" || c.SessionID != "session-1" || c.Issuer != Issuer {
		t.Fatalf("ParseAccessToken = %+v, %v", c, err)
	}
	if _, err := ParseAccessToken(key, tok, now.Add(2*time.Minute)); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("expired token: %v", err)
	}
	if _, err := ParseAccessToken([]byte("another key, long enough to sign!"), tok, now); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token under another key: %v", err)
	}
	r1, h1, _ := NewRefreshToken()
	r2, _, _ := NewRefreshToken()
	if r1 == r2 || !strings.HasPrefix(r1, "rt_") || string(HashToken(r1)) != string(h1) {
		t.Error("refresh tokens are not random, prefixed and hashed consistently")
	}
}

// BenchmarkHashDefault is the CPU time of one login's password check with the production parameters.
func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(func() Argon2Params { return DefaultArgon2 }, 1)
	enc, _ := h.Hash(context.Background(), "benchmark password")
	for b.Loop() {
		if ok, _, _ := h.Verify(context.Background(), "benchmark password", enc); !ok {
			b.Fatal("verify failed")
		}
	}
}
