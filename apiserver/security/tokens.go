package security

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// KeyID names an HMAC key without revealing it: the first 8 bytes of its SHA-256, in hex. Tokens carry it
// in their "kid" header, so a token signed with a rotated-out key is refused before its signature is checked.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	// SessionID is the login session (refresh token family) the token was issued for.
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

// ErrInvalidToken is returned for every token that is not acceptable, whatever the reason.
var ErrInvalidToken = errors.New("invalid or expired token")

// Issuer is the value of the "iss" claim.
const Issuer = "llmplatform"

// SignAccessToken returns an HS256 JWT for user and session, valid for ttl from now.
func SignAccessToken(key []byte, userID, sessionID string, now time.Time, ttl time.Duration) (string, error) {
	claims := AccessClaims{
		SessionID: sessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = KeyID(key)
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("signing access token: %w", err)
	}
	return s, nil
}

// ParseAccessToken verifies token against key: algorithm HS256 only, the key's kid, the signature, an
// expiry in the future, the issuer and a subject and session. Any failure is ErrInvalidToken.
func ParseAccessToken(key []byte, token string, now time.Time) (*AccessClaims, error) {
	kid := KeyID(key)
	var claims AccessClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		if got, _ := t.Header["kid"].(string); got != kid {
			return nil, errors.New("unknown key id")
		}
		return key, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(Issuer),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil || claims.Subject == "" || claims.SessionID == "" || claims.IssuedAt == nil {
		return nil, ErrInvalidToken
	}
	return &claims, nil
}

// refreshPrefix marks refresh tokens, so that one pasted in the wrong place is recognisable.
const refreshPrefix = "rt_"

// NewRefreshToken returns a new opaque refresh token and the hash to store for it.
func NewRefreshToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("reading random token: %w", err)
	}
	token = refreshPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the SHA-256 of an opaque token. The tokens carry 256 random bits, so a fast hash is
// enough: nobody can brute-force them, and lookups stay one indexed query.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
