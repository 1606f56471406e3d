package llm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
)

// Keyring seals user-supplied provider keys with AES-256-GCM. It holds the current encryption key, which
// seals, and the previous ones (secrets.previousEncryptionKeyFiles), which still open what they sealed, so the
// encryption key can be rotated: put the new key in encryptionKeyFile and the old one in the previous list;
// each user key is re-sealed under the new key the next time it is used (see Registry.Resolve), and the old
// key can be dropped once no row names its id any more.
//
// Each sealed value names the key that sealed it by a key id: the first 8 bytes of the SHA-256 of the key, in
// hex. A Keyring is immutable and safe for concurrent use.
type Keyring struct {
	currentID string
	aeads     map[string]cipher.AEAD
}

// KeyLen is the length of an encryption key: AES-256.
const KeyLen = 32

// ErrUnknownEncryptionKey is returned by Open for a value sealed under a key the keyring does not hold.
var ErrUnknownEncryptionKey = errors.New("sealed under an encryption key that is not configured (check secrets.previousEncryptionKeyFiles)")

// NewKeyring returns a keyring that seals with current and opens with current and previous. Keys are raw
// 32-byte AES-256 keys.
func NewKeyring(current []byte, previous ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range append([][]byte{current}, previous...) {
		if len(key) != KeyLen {
			return nil, fmt.Errorf("encryption key %d is %d bytes, want %d", i, len(key), KeyLen)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("encryption key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("encryption key %d: %w", i, err)
		}
		id := KeyID(key)
		if i == 0 {
			k.currentID = id
		}
		if _, dup := k.aeads[id]; !dup {
			k.aeads[id] = aead
		}
	}
	return k, nil
}

// LoadKeyring reads the keys from files holding the base64 of 32 bytes (as the operator generates them).
// Errors name the file, never its content.
func LoadKeyring(currentFile string, previousFiles []string) (*Keyring, error) {
	read := func(path string) ([]byte, error) {
		data, err := os.ReadFile(path) //nolint:gosec // the path is the operator's config, not a request's
		if err != nil {
			return nil, fmt.Errorf("reading the encryption key: %w", err)
		}
		key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
		if err != nil || len(key) != KeyLen {
			return nil, fmt.Errorf("the encryption key in %s is not the base64 of %d bytes", path, KeyLen)
		}
		return key, nil
	}
	current, err := read(currentFile)
	if err != nil {
		return nil, err
	}
	var previous [][]byte
	for _, f := range previousFiles {
		key, err := read(f)
		if err != nil {
			return nil, err
		}
		previous = append(previous, key)
	}
	return NewKeyring(current, previous...)
}

// KeyID is the id of an encryption key: a short hash that identifies it without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// CurrentID is the id of the key that seals.
func (k *Keyring) CurrentID() string { return k.currentID }

// Seal encrypts plaintext under the current key, bound to aad (which Open must be given again). It returns the
// sealing key's id and the nonce followed by the ciphertext.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID string, sealed []byte, err error) {
	aead := k.aeads[k.currentID]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("generating a nonce: %w", err)
	}
	return k.currentID, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open decrypts what Seal returned. It fails when the key id is unknown or the value or aad was altered.
func (k *Keyring) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, ErrUnknownEncryptionKey
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("the sealed value is too short")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, errors.New("the sealed value does not open: altered, or sealed for another owner")
	}
	return plain, nil
}
