package service

import (
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/security"
)

func TestTokenCacheKeepsCheckingExpiryAndKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	tok, err := security.SignAccessToken(key, "u1", "s1", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var c tokenCache
	for i := range 2 { // the second call is a cache hit
		if u, s, ok := c.verify(key, tok, now); !ok || u != "u1" || s != "s1" {
			t.Fatalf("call %d: %s %s %v", i, u, s, ok)
		}
	}
	if _, _, ok := c.verify(key, tok, now.Add(2*time.Minute)); ok {
		t.Error("a cached token was accepted after its expiry")
	}
	if _, _, ok := c.verify([]byte("another key, long enough to sign!"), tok, now); ok {
		t.Error("a cached token was accepted under a new key")
	}
	if _, _, ok := c.verify(key, tok+"x", now); ok {
		t.Error("a tampered token was accepted")
	}
}
