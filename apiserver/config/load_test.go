package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
platform: acme
secrets:
  jwtKeyFile: /s/jwt
  encryptionKeyFile: /s/enc
providers:
- name: openai
  type: OpenAI
  keys: [{id: openai-key/apiKey, file: /p/openai-key/apiKey}]
  models: [{name: gpt-4o-mini, pricing: {input: "0.15", output: "0.6"}}]
`

func TestParseAppliesDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	p := c.Providers[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"registration", c.Auth.Registration, RegistrationOpen},
		{"accessTokenTTL", c.Auth.AccessTokenTTL.Duration, 30 * time.Minute},
		{"refreshTokenTTL", c.Auth.RefreshTokenTTL.Duration, 168 * time.Hour},
		{"timezone", c.Timezone, "UTC"},
		{"baseURL", p.BaseURL, "https://api.openai.com/v1"},
		{"key weight", p.Keys[0].Weight, int32(1)},
		{"maxOutputTokens", p.Models[0].MaxOutputTokens, int32(DefaultMaxOutputTokens)},
		{"firstByte", p.Timeouts.FirstByte.Duration, 5 * time.Minute},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, doc, wantField string
	}{
		{"unknown field", minimal + "bogus: 1\n", `unknown field "bogus"`},
		{"bad timezone", minimal + "timezone: Mars/Olympus\n", "timezone"},
		{"bad registration", minimal + "auth: {registration: Maybe}\n", "auth.registration"},
		{"bad duration", minimal + "auth: {accessTokenTTL: soon}\n", "accessTokenTTL"},
		{"bad price", strings.Replace(minimal, `"0.15"`, `"1e3"`, 1), "providers[0].models[0].pricing.input"},
		{"bad provider type", strings.Replace(minimal, "type: OpenAI", "type: Bard", 1), "providers[0].type"},
		{"no jwt key", strings.Replace(minimal, "jwtKeyFile: /s/jwt", "jwtKeyFile: ''", 1), "secrets.jwtKeyFile"},
		{"two subject kinds", minimal + "quotas: [{name: q, subjects: {users: [a], allUsers: true}}]\n", "quotas[0].subjects"},
		{"bad cost", minimal + "quotas: [{name: q, subjects: {allUsers: true}, limits: {costPerMonth: '-1'}}]\n", "quotas[0].limits.costPerMonth"},
		{"bad origin", minimal + "cors: {allowedOrigins: ['https://x.example/path']}\n", "cors.allowedOrigins[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantField) {
				t.Fatalf("Parse() error = %v, want one naming %q", err, tt.wantField)
			}
		})
	}
}

func TestParseUSD(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"", 0, false}, {"0", 0, false}, {"0.15", 150_000, false}, {"12.5", 12_500_000, false},
		{"0.000001", 1, false}, {"100", 100_000_000, false},
		{"0.0000001", 0, true}, {"-1", 0, true}, {"01", 0, true}, {"1e3", 0, true}, {"1.", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseUSD(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatUSD(t *testing.T) {
	for micros, want := range map[int64]string{0: "0", 1: "0.000001", 150_000: "0.15", 12_500_000: "12.5", 3_000_000: "3", -5: "-0.000005"} {
		if got := FormatUSD(micros); got != want {
			t.Errorf("FormatUSD(%d) = %q, want %q", micros, got, want)
		}
	}
}

func TestServerSettings(t *testing.T) {
	c, err := Parse([]byte(minimal + "http: {trustedProxies: [10.0.0.0/8, 192.168.1.7]}\nauth: {passwordHashing: {memoryKiB: 8192}}\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.HTTP.MaxBodyBytes != DefaultMaxBodyBytes || c.Auth.PasswordHashing.MemoryKiB != 8192 ||
		c.Auth.PasswordHashing.Iterations != DefaultArgon2Iterations || c.Auth.PasswordHashing.Parallelism != DefaultArgon2Parallelism {
		t.Errorf("defaults not applied: %+v %+v", c.HTTP, c.Auth.PasswordHashing)
	}
	for doc, field := range map[string]string{
		"http: {trustedProxies: [ingress]}\n":       "http.trustedProxies[0]",
		"http: {maxBodyBytes: 10}\n":                "http.maxBodyBytes",
		"auth: {passwordHashing: {memoryKiB: 1}}\n": "auth.passwordHashing.memoryKiB",
	} {
		if _, err := Parse([]byte(minimal + doc)); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Parse(%q) = %v, want an error naming %s", doc, err, field)
		}
	}
}

func TestRelativePathsResolveAgainstTheConfigDirectory(t *testing.T) {
	doc := `
platform: acme
database: {urlFile: ../database/uri}
secrets:
  jwtKeyFile: ../secrets/jwt/key
  encryptionKeyFile: /abs/enc
  previousEncryptionKeyFiles: [../secrets/old/key]
  adminDir: ../admin
  internalTokenFile: ../secrets/internal/token
providers:
- name: openai
  type: OpenAI
  keys: [{id: openai-key/apiKey, file: ../providers/openai-key/apiKey}]
  models: [{name: gpt-4o-mini}]
`
	dir := filepath.Join(t.TempDir(), "etc", "llmplatform", "config")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "platform.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	parsed, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	root := filepath.Dir(dir)
	checks := []struct {
		name      string
		got, want string
	}{
		{"database.urlFile", loaded.Database.URLFile, filepath.Join(root, "database", "uri")},
		{"secrets.jwtKeyFile", loaded.Secrets.JWTKeyFile, filepath.Join(root, "secrets", "jwt", "key")},
		{"absolute path kept", loaded.Secrets.EncryptionKeyFile, "/abs/enc"},
		{"previous key", loaded.Secrets.PreviousEncryptionKeyFiles[0], filepath.Join(root, "secrets", "old", "key")},
		{"secrets.adminDir", loaded.Secrets.AdminDir, filepath.Join(root, "admin")},
		{"secrets.internalTokenFile", loaded.Secrets.InternalTokenFile, filepath.Join(root, "secrets", "internal", "token")},
		{"provider key", loaded.Providers[0].Keys[0].File, filepath.Join(root, "providers", "openai-key", "apiKey")},
		{"Parse leaves paths as written", parsed.Secrets.JWTKeyFile, "../secrets/jwt/key"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}
