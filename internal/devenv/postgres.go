package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Role and database of the tenant in the local PostgreSQL, the names the operator uses in a managed one.
const (
	dbRole = "llmplatform"
	dbName = "llmplatform"
)

// postgres is a local PostgreSQL server whose data persists in a directory, so that users and conversations
// survive a restart of `make dev`. It listens on 127.0.0.1 only, with trust authentication.
type postgres struct {
	dir  string
	port int
	proc *process
}

// startPostgres initialises the cluster in dir on first use and starts the server on a free port. When the
// runner is root, the server runs as the "postgres" user, as PostgreSQL requires.
func startPostgres(ctx context.Context, dir, logPath string) (*postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		//nolint:gosec // PostgreSQL's own initdb, on the runner's data directory
		initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, out)
		}
	}
	port, err := freePort(ctx)
	if err != nil {
		return nil, err
	}
	//nolint:gosec,noctx // PostgreSQL on the runner's data; stopped by process.stop (fast shutdown), not by a context
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	// SIGINT is PostgreSQL's fast shutdown: it ends open connections instead of waiting for them.
	proc, err := startProcess("PostgreSQL", cmd, logPath, syscall.SIGINT)
	if err != nil {
		return nil, err
	}
	pg := &postgres{dir: dir, port: port, proc: proc}
	if err := pg.prepare(ctx); err != nil {
		pg.stop(nil)
		return nil, fmt.Errorf("%w (log: %s)", err, logPath)
	}
	return pg, nil
}

// adminURL connects as the superuser.
func (pg *postgres) adminURL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

// URL connects to the tenant's database as its role.
func (pg *postgres) URL() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", dbRole, pg.port, dbName)
}

// prepare waits for the server and creates the tenant's role and database when they are missing.
func (pg *postgres) prepare(ctx context.Context) error {
	var conn *pgx.Conn
	deadline := time.Now().Add(60 * time.Second)
	for {
		var err error
		if conn, err = pgx.Connect(ctx, pg.adminURL()); err == nil {
			break
		}
		if pg.proc.exited() {
			return fmt.Errorf("PostgreSQL did not start: %w", pg.proc.exitError())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL did not accept connections within a minute: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer func() { _ = conn.Close(ctx) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", dbRole).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE ROLE "+dbRole+" LOGIN"); err != nil {
			return err
		}
	}
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", dbName).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+dbName+" OWNER "+dbRole); err != nil {
			return err
		}
	}
	return nil
}

func (pg *postgres) stop(force <-chan struct{}) {
	pg.proc.stop(time.Minute, force)
}

// postgresBin finds the newest PostgreSQL server binaries: Debian's /usr/lib/postgresql/<major>/bin, else
// PATH.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	major := func(d string) int { n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d))); return n }
	sort.Slice(dirs, func(i, j int) bool { return major(dirs[i]) > major(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin or on PATH (Debian: apt-get install postgresql)")
}

// postgresCredential is the "postgres" user when the runner is root (PostgreSQL refuses to run as root), else
// nil: the server runs as the runner's user.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user to run PostgreSQL (apt-get install postgresql): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
