package builders

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// GeneratedSecret is one Secret the operator generates for a platform: created once with crypto-random
// content and never written again, so that a restart of the operator or the API server changes nothing.
type GeneratedSecret struct {
	// Name is the Secret's name.
	Name string
	// Retained is true when the Secret outlives the platform (the credentials of a retained database).
	Retained bool

	component string
	generate  func(p *llmv1.LLMPlatform, r io.Reader) (map[string][]byte, error)
}

// JWTSecretName names the generated Secret holding the JWT signing key.
func JWTSecretName(p *llmv1.LLMPlatform) string { return p.Name + "-jwt" }

// EncryptionSecretName names the generated Secret holding the key that encrypts user-supplied provider keys.
func EncryptionSecretName(p *llmv1.LLMPlatform) string { return p.Name + "-encryption" }

// InternalSecretName names the generated Secret holding the operator's token for /internal/v1.
func InternalSecretName(p *llmv1.LLMPlatform) string { return p.Name + "-internal" }

// AdminSecretName names the generated Secret holding the bootstrap admin's credentials.
func AdminSecretName(p *llmv1.LLMPlatform) string { return p.Name + "-admin" }

// DatabaseSecretName names the generated Secret holding the managed database's credentials and URL.
func DatabaseSecretName(p *llmv1.LLMPlatform) string { return p.Name + "-db" }

// GeneratedSecrets lists the Secrets the platform needs generated: always the JWT key, the encryption key and
// the internal token; the bootstrap admin unless spec.auth.adminSecretRef names one; the database
// credentials for a managed database.
func GeneratedSecrets(p *llmv1.LLMPlatform) []GeneratedSecret {
	s := []GeneratedSecret{
		{Name: JWTSecretName(p), component: ComponentAPIServer, generate: jwtKey},
		{Name: EncryptionSecretName(p), component: ComponentAPIServer, generate: encryptionKey},
		{Name: InternalSecretName(p), component: ComponentAPIServer, generate: internalToken},
	}
	if p.Spec.Auth.AdminSecretRef == nil {
		s = append(s, GeneratedSecret{Name: AdminSecretName(p), component: ComponentAPIServer, generate: adminCredentials})
	}
	if p.Spec.Database.Managed != nil {
		s = append(s, GeneratedSecret{Name: DatabaseSecretName(p), Retained: RetainData(p), component: ComponentDatabase, generate: databaseCredentials})
	}
	return s
}

// Build returns the Secret with fresh random content read from r (crypto/rand.Reader outside tests).
func (g GeneratedSecret) Build(p *llmv1.LLMPlatform, r io.Reader) (*corev1.Secret, error) {
	data, err := g.generate(p, r)
	if err != nil {
		return nil, fmt.Errorf("generating Secret %s: %w", g.Name, err)
	}
	meta := objectMeta(p, g.Name, g.component)
	if g.Retained {
		meta = retainedMeta(p, g.Name, g.component)
	}
	return &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: meta,
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}, nil
}

// jwtKey is 64 random bytes, base64url-encoded: the API server uses the file's text as the HMAC key.
func jwtKey(_ *llmv1.LLMPlatform, r io.Reader) (map[string][]byte, error) {
	k, err := randomBytes(r, 64)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{KeyKey: []byte(base64.RawURLEncoding.EncodeToString(k))}, nil
}

// encryptionKey is the standard base64 encoding of 32 random bytes: an AES-256 key.
func encryptionKey(_ *llmv1.LLMPlatform, r io.Reader) (map[string][]byte, error) {
	k, err := randomBytes(r, 32)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{KeyKey: []byte(base64.StdEncoding.EncodeToString(k))}, nil
}

func internalToken(_ *llmv1.LLMPlatform, r io.Reader) (map[string][]byte, error) {
	t, err := randomToken(r, 32)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{TokenKey: []byte(t)}, nil
}

func adminCredentials(_ *llmv1.LLMPlatform, r io.Reader) (map[string][]byte, error) {
	pw, err := randomToken(r, 18)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		AdminUsernameKey: []byte("admin"),
		AdminPasswordKey: []byte(pw),
		AdminEmailKey:    []byte("admin@example.com"),
	}, nil
}

// databaseCredentials are the managed database's role, password, database and the URL the API server
// connects with, pointing at the database's Service.
func databaseCredentials(p *llmv1.LLMPlatform, r io.Reader) (map[string][]byte, error) {
	pw, err := randomToken(r, 24)
	if err != nil {
		return nil, err
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(DatabaseUser, pw),
		Host:     PostgresEndpoint(p),
		Path:     "/" + DatabaseName,
		RawQuery: "sslmode=disable",
	}
	return map[string][]byte{
		DatabaseUsernameKey: []byte(DatabaseUser),
		DatabasePasswordKey: []byte(pw),
		DatabaseNameKey:     []byte(DatabaseName),
		DatabaseURLKey:      []byte(u.String()),
	}, nil
}

// PostgresEndpoint is the managed database's host:port inside the cluster.
func PostgresEndpoint(p *llmv1.LLMPlatform) string {
	return net.JoinHostPort(PostgresName(p)+"."+p.Namespace+".svc", strconv.Itoa(PostgresPort))
}

func randomBytes(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("reading random bytes: %w", err)
	}
	return b, nil
}

// randomToken is n random bytes, base64url-encoded without padding: safe in a URL's userinfo and in a shell.
func randomToken(r io.Reader, n int) (string, error) {
	b, err := randomBytes(r, n)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
