package llm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/llm"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, llm.KeyLen)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyring(t *testing.T) {
	oldKey, newKeyBytes := newKey(t), newKey(t)
	old, err := llm.NewKeyring(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	aad := llm.SealAAD("user-1", "key-1")
	id, sealed, err := old.Seal([]byte("sk-secret"), aad)
	if err != nil || id != llm.KeyID(oldKey) || len(id) != 16 {
		t.Fatalf("Seal = %s, %v", id, err)
	}
	if bytes.Contains(sealed, []byte("sk-secret")) {
		t.Fatal("the sealed value contains the plain text")
	}
	rotated, err := llm.NewKeyring(newKeyBytes, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.CurrentID() == id {
		t.Fatal("the rotated keyring seals with the old key")
	}
	if plain, err := rotated.Open(id, sealed, aad); err != nil || string(plain) != "sk-secret" {
		t.Errorf("opening a value of the previous key: %q, %v", plain, err)
	}
	if _, err := rotated.Open(id, sealed, llm.SealAAD("user-2", "key-1")); err == nil {
		t.Error("a value sealed for another user opened")
	}
	tampered := append([]byte{}, sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := rotated.Open(id, tampered, aad); err == nil {
		t.Error("an altered value opened")
	}
	fresh, _ := llm.NewKeyring(newKeyBytes)
	if _, err := fresh.Open(id, sealed, aad); !errors.Is(err, llm.ErrUnknownEncryptionKey) {
		t.Errorf("opening without the old key: %v, want ErrUnknownEncryptionKey", err)
	}
	if _, err := llm.NewKeyring([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestLoadKeyring(t *testing.T) {
	dir := t.TempDir()
	k := newKey(t)
	good := writeKey(t, dir, "enc", base64.StdEncoding.EncodeToString(k))
	bad := writeKey(t, dir, "bad", "not base64 of 32 bytes")
	ring, err := llm.LoadKeyring(good, nil)
	if err != nil || ring.CurrentID() != llm.KeyID(k) {
		t.Fatalf("LoadKeyring = %v", err)
	}
	if _, err := llm.LoadKeyring(bad, nil); err == nil || bytes.Contains([]byte(err.Error()), []byte("not base64 of")) {
		t.Errorf("a bad key file: %v (must fail without quoting the file)", err)
	}
	if _, err := llm.LoadKeyring(good, []string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing previous key file was accepted")
	}
}

// fakeKeys is an in-memory UserKeyStore.
type fakeKeys struct {
	mu   sync.Mutex
	keys map[string]*model.ProviderKey
}

func (f *fakeKeys) UseProviderKey(_ context.Context, userID, id string) (*model.ProviderKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok || k.UserID != userID {
		return nil, apperr.NotFound("provider key")
	}
	cp := *k
	return &cp, nil
}

func (f *fakeKeys) ListProviderKeys(_ context.Context, userID string) ([]model.ProviderKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []model.ProviderKey
	for _, k := range f.keys {
		if k.UserID == userID {
			out = append(out, *k)
		}
	}
	return out, nil
}

func (f *fakeKeys) ResealProviderKey(_ context.Context, userID, id, oldKeyID, newKeyID string, sealed []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := f.keys[id]; k != nil && k.UserID == userID && k.EncryptionKeyID == oldKeyID {
		k.EncryptionKeyID, k.Sealed = newKeyID, sealed
	}
	return nil
}

// TestUserKeyResolution: a user's key resolves for its owner only, calls the provider with the key, and is
// re-sealed under the new encryption key after a rotation.
func TestUserKeyResolution(t *testing.T) {
	mock := mockprovider.New(mockprovider.Config{})
	srv := httptest.NewServer(mock)
	defer srv.Close()
	dir := t.TempDir()
	oldKey, newKeyBytes := newKey(t), newKey(t)
	oldFile := writeKey(t, dir, "old", base64.StdEncoding.EncodeToString(oldKey))
	newFile := writeKey(t, dir, "new", base64.StdEncoding.EncodeToString(newKeyBytes))
	ring, _ := llm.NewKeyring(oldKey)
	_, sealed, _ := ring.Seal([]byte("sk-user-secret"), llm.SealAAD("u1", "k1"))
	store := &fakeKeys{keys: map[string]*model.ProviderKey{"k1": {
		ID: "k1", UserID: "u1", Name: "mine", ProviderType: config.ProviderOllama, BaseURL: srv.URL + "/ollama",
		Models:          []model.KeyModel{{Name: "mock-chat", Pricing: model.Price{Input: "1", Output: "3"}, ContextWindow: 4096}},
		EncryptionKeyID: ring.CurrentID(), Sealed: sealed,
	}}}
	cfg := &config.Config{Secrets: config.Secrets{EncryptionKeyFile: oldFile}}
	r := llm.New(llm.Options{UserKeys: store})
	ctx := context.Background()
	if err := r.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, "u1", "key:k1/mock-chat"); !llm.IsUnknownModel(err) {
		t.Errorf("with userKeys not allowed: %v, want unknown model", err)
	}
	cfg.UserKeys.Allowed = true
	cfg.Secrets = config.Secrets{EncryptionKeyFile: newFile, PreviousEncryptionKeyFiles: []string{oldFile}}
	if err := r.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	m, err := r.Resolve(ctx, "u1", "key:k1/mock-chat")
	if err != nil {
		t.Fatal(err)
	}
	if m.Provider != "key:k1" || m.UserKeyID != "k1" || m.ContextWindow != 4096 || m.Pricing.Output != 3_000_000 {
		t.Errorf("resolved %+v", m)
	}
	res, err := m.Backend.Stream(ctx, provider.Call{Model: m.Upstream, Messages: []provider.Message{{Role: "user", Content: "hi"}}},
		func(provider.Event) error { return nil })
	if err != nil || res.Text == "" || mock.LastRequest().Protocol != "ollama" {
		t.Fatalf("stream with the user's key: %q, %v", res.Text, err)
	}
	if store.keys["k1"].EncryptionKeyID != llm.KeyID(newKeyBytes) {
		t.Error("the key was not re-sealed under the current encryption key")
	}
	for _, tc := range []struct{ user, id string }{{"u2", "key:k1/mock-chat"}, {"u1", "key:k1/other"}, {"u1", "key:k9/mock-chat"}} {
		if _, err := r.Resolve(ctx, tc.user, tc.id); !llm.IsUnknownModel(err) {
			t.Errorf("Resolve(%s, %s) = %v, want unknown model", tc.user, tc.id, err)
		}
	}
	models, err := r.UserModels(ctx, "u1")
	if err != nil || len(models) != 1 || models[0].ID != "key:k1/mock-chat" {
		t.Errorf("UserModels = %+v, %v", models, err)
	}
	// Without the old key, a key still sealed under it cannot be used, and the error says what to do.
	store.keys["k1"].EncryptionKeyID, store.keys["k1"].Sealed = llm.KeyID(oldKey), sealed
	cfg.Secrets.PreviousEncryptionKeyFiles = nil
	_ = r.Apply(cfg)
	if _, err := r.Resolve(ctx, "u1", "key:k1/mock-chat"); !errors.Is(err, apperr.ErrUnavailable) {
		t.Errorf("a key sealed under a dropped encryption key: %v, want unavailable", err)
	}
	names, err2 := r.TestKey(ctx, config.ProviderOllama, srv.URL+"/ollama", "anything")
	if err2 != nil || len(names) == 0 {
		t.Errorf("TestKey = %v, %v", names, err2)
	}
}
