// Package settings holds the API server's live configuration: platform.yaml and the secret files it names,
// loaded at start and reloaded when they change on disk (a ConfigMap or Secret updated in Kubernetes reaches
// a running pod as a swapped "..data" symlink). A bad new file keeps the old settings running.
package settings

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmplatform/llmplatform/apiserver/config"
)

// MinJWTKeyLen is the shortest HMAC key accepted for signing access tokens (256 bits, as HS256 asks).
const MinJWTKeyLen = 32

// Admin is the bootstrap admin's credentials from the admin directory.
type Admin struct {
	Username string
	Password string
	// Email is empty when the directory has no "email" file.
	Email string
}

// Snapshot is one consistent view of the configuration and secrets. It is never modified after it is
// published; a reload publishes a new one.
type Snapshot struct {
	Config *config.Config
	// JWTKey signs and verifies access tokens.
	JWTKey []byte
	// Admin is nil when no admin directory is configured.
	Admin *Admin
	// fingerprint identifies the content the snapshot was built from, so a reload that changes nothing is
	// not counted.
	fingerprint [32]byte
}

// Options says where the settings come from.
type Options struct {
	// ConfigPath is platform.yaml; empty runs with defaults and an ephemeral signing key (development).
	ConfigPath string
}

// load builds a snapshot from the files.
func load(opts Options) (*Snapshot, error) {
	h := sha256.New()
	var cfg *config.Config
	if opts.ConfigPath == "" {
		cfg = &config.Config{Platform: "llmplatform"}
		cfg.ApplyDefaults()
	} else {
		data, err := os.ReadFile(opts.ConfigPath)
		if err != nil {
			return nil, fmt.Errorf("reading config: %w", err)
		}
		h.Write(data)
		// Relative paths in the file are relative to its directory (the operator renders them so).
		if cfg, err = config.ParseAt(data, filepath.Dir(opts.ConfigPath)); err != nil {
			return nil, err
		}
	}
	s := &Snapshot{Config: cfg}
	var err error
	if s.JWTKey, err = readJWTKey(cfg.Secrets.JWTKeyFile); err != nil {
		return nil, err
	}
	h.Write(s.JWTKey)
	if s.Admin, err = readAdmin(cfg.Secrets.AdminDir); err != nil {
		return nil, err
	}
	if s.Admin != nil {
		_, _ = fmt.Fprintf(h, "\x00%s\x00%s\x00%s", s.Admin.Username, s.Admin.Password, s.Admin.Email)
	}
	hashSecretFiles(h, cfg)
	copy(s.fingerprint[:], h.Sum(nil))
	return s, nil
}

// hashSecretFiles adds the content of the secret files that others read themselves (provider keys, the
// encryption keys) to the fingerprint, so that a rotated Secret publishes a new snapshot and its listeners
// reload them. An unreadable file counts as its error text: it changes when the file appears.
func hashSecretFiles(h io.Writer, cfg *config.Config) {
	files := append([]string{cfg.Secrets.EncryptionKeyFile}, cfg.Secrets.PreviousEncryptionKeyFiles...)
	for _, p := range cfg.Providers {
		for _, k := range p.Keys {
			files = append(files, k.File)
		}
	}
	for _, f := range files {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f) //nolint:gosec // the paths are the operator's config, not a request's
		if err != nil {
			data = []byte(err.Error())
		}
		sum := sha256.Sum256(data)
		_, _ = fmt.Fprintf(h, "\x00%s\x00%x", f, sum)
	}
}

func readJWTKey(path string) ([]byte, error) {
	if path == "" {
		// Development without a config file: tokens die with the process.
		key := make([]byte, MinJWTKeyLen)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generating an ephemeral JWT key: %w", err)
		}
		return key, nil
	}
	key, err := os.ReadFile(path) //nolint:gosec // the path is the operator's config, not a request's
	if err != nil {
		return nil, fmt.Errorf("secrets.jwtKeyFile: %w", err)
	}
	key = bytes.TrimSpace(key)
	if len(key) < MinJWTKeyLen {
		return nil, fmt.Errorf("secrets.jwtKeyFile: %s holds %d bytes, want at least %d", path, len(key), MinJWTKeyLen)
	}
	return key, nil
}

func readAdmin(dir string) (*Admin, error) {
	if dir == "" {
		return nil, nil
	}
	read := func(name string, required bool) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name)) //nolint:gosec // the directory is the operator's config
		if errors.Is(err, os.ErrNotExist) && !required {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("secrets.adminDir: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" && required {
			return "", fmt.Errorf("secrets.adminDir: %s is empty", filepath.Join(dir, name))
		}
		return v, nil
	}
	var a Admin
	var err error
	if a.Username, err = read("username", true); err != nil {
		return nil, err
	}
	if a.Password, err = read("password", true); err != nil {
		return nil, err
	}
	if a.Email, err = read("email", false); err != nil {
		return nil, err
	}
	return &a, nil
}

// watchedDirs are the directories whose changes trigger a reload: the config file's and every secret
// file's. Directories, not files, because Kubernetes replaces mounted files by swapping a symlink.
func (s *Snapshot) watchedDirs(configPath string) []string {
	seen := map[string]bool{}
	var dirs []string
	add := func(p string) {
		if p == "" {
			return
		}
		d := filepath.Dir(p)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	add(configPath)
	c := s.Config
	add(c.Secrets.JWTKeyFile)
	add(c.Secrets.EncryptionKeyFile)
	add(c.Secrets.InternalTokenFile)
	add(c.Database.URLFile)
	for _, f := range c.Secrets.PreviousEncryptionKeyFiles {
		add(f)
	}
	if c.Secrets.AdminDir != "" {
		add(filepath.Join(c.Secrets.AdminDir, "username"))
	}
	for _, p := range c.Providers {
		for _, k := range p.Keys {
			add(k.File)
		}
	}
	return dirs
}
