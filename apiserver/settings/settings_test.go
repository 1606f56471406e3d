package settings

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// setup writes a config naming a JWT key, an admin directory and a database URL file.
func setup(t *testing.T) (dir, cfg string) {
	dir = t.TempDir()
	cfg = filepath.Join(dir, "config", "platform.yaml")
	write(t, filepath.Join(dir, "jwt", "key"), strings.Repeat("k", 40)+"\n")
	write(t, filepath.Join(dir, "admin", "username"), "root\n")
	write(t, filepath.Join(dir, "admin", "password"), "pw\n")
	write(t, filepath.Join(dir, "db", "url"), "postgres://db/x\n")
	write(t, cfg, "platform: p\nsecrets: {jwtKeyFile: "+filepath.Join(dir, "jwt", "key")+", encryptionKeyFile: "+
		filepath.Join(dir, "enc", "key")+", adminDir: "+filepath.Join(dir, "admin")+"}\ndatabase: {urlFile: "+filepath.Join(dir, "db", "url")+"}\n")
	return dir, cfg
}

func TestLoadReadsSecretFiles(t *testing.T) {
	dir, cfg := setup(t)
	s, err := Load(Options{ConfigPath: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap := s.Current()
	if len(snap.JWTKey) != 40 || snap.Admin == nil || snap.Admin.Username != "root" || snap.Admin.Password != "pw" || snap.Admin.Email != "" {
		t.Errorf("snapshot = key %d bytes, admin %+v", len(snap.JWTKey), snap.Admin)
	}
	t.Setenv("DATABASE_URL", "")
	if u, err := s.DatabaseURL(); err != nil || u != "postgres://db/x" {
		t.Errorf("DatabaseURL from file = %q, %v", u, err)
	}
	t.Setenv("DATABASE_URL", "postgres://env/y")
	if u, _ := s.DatabaseURL(); u != "postgres://env/y" {
		t.Errorf("DATABASE_URL does not take precedence: %q", u)
	}
	dirs := snap.watchedDirs(cfg)
	for _, want := range []string{"config", "jwt", "admin", "db", "enc"} {
		if !slices.Contains(dirs, filepath.Join(dir, want)) {
			t.Errorf("watched %v lacks %s", dirs, want)
		}
	}
}

func TestLoadRefusesBadSecrets(t *testing.T) {
	for name, breakIt := range map[string]func(dir string){
		"secrets.jwtKeyFile": func(dir string) { write(t, filepath.Join(dir, "jwt", "key"), "short") },
		"secrets.adminDir":   func(dir string) { _ = os.Remove(filepath.Join(dir, "admin", "password")) },
	} {
		dir, cfg := setup(t)
		breakIt(dir)
		if _, err := Load(Options{ConfigPath: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s broken: %v, want an error naming it", name, err)
		}
	}
}

func TestReloadKeepsTheOldSnapshotOnError(t *testing.T) {
	dir, cfg := setup(t)
	s, err := Load(Options{ConfigPath: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	old := s.Current()
	if err := s.Reload(t.Context()); err != nil || s.Current() != old {
		t.Errorf("an unchanged reload published a new snapshot (%v)", err)
	}
	write(t, filepath.Join(dir, "jwt", "key"), "short")
	if err := s.Reload(t.Context()); err == nil || s.Current() != old {
		t.Errorf("a bad key: err %v, snapshot replaced %v", err, s.Current() != old)
	}
	write(t, filepath.Join(dir, "admin", "email"), "Root@Example.com")
	var seen *Snapshot
	s.OnChange(func(_ context.Context, snap *Snapshot) { seen = snap })
	write(t, filepath.Join(dir, "jwt", "key"), strings.Repeat("n", 40))
	if err := s.Reload(t.Context()); err != nil || seen == nil || seen != s.Current() || seen.Admin.Email != "Root@Example.com" {
		t.Errorf("a good reload: err %v, listener saw %v", err, seen)
	}
}

func TestLoadResolvesRelativePathsAgainstTheConfigDirectory(t *testing.T) {
	dir, _ := setup(t)
	cfg := filepath.Join(dir, "config", "relative.yaml")
	write(t, cfg, "platform: p\nsecrets: {jwtKeyFile: ../jwt/key, encryptionKeyFile: ../enc/key, adminDir: ../admin}\ndatabase: {urlFile: ../db/url}\n")
	t.Chdir(t.TempDir()) // the paths must not depend on the working directory
	s, err := Load(Options{ConfigPath: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if snap := s.Current(); len(snap.JWTKey) != 40 || snap.Admin == nil || snap.Admin.Username != "root" {
		t.Errorf("snapshot = key %d bytes, admin %+v", len(snap.JWTKey), snap.Admin)
	}
	t.Setenv("DATABASE_URL", "")
	if u, err := s.DatabaseURL(); err != nil || u != "postgres://db/x" {
		t.Errorf("DatabaseURL from a relative file = %q, %v", u, err)
	}
}
