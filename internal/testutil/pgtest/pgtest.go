// Package pgtest gives tests a real, throwaway PostgreSQL. A test package calls Main from its TestMain; each
// test then asks for a fresh, empty database with NewDatabase. When TEST_DATABASE_URL is set in the
// environment (nothing in this repository sets it: it is for a developer or CI job that brings its own
// server), that server is used; otherwise a private server is started from the PostgreSQL binaries in
// /usr/lib/postgresql/*/bin or on PATH, on 127.0.0.1 and a free port, and stopped when the package's tests
// end. On Linux the private server is also killed by the kernel when the test process dies (a panic, a
// timeout, a SIGKILL), so no server outlives its tests; only its temporary directory is left behind then.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// adminURL is the URL of the server's maintenance database, set by Main.
var adminURL string

// Main starts (or finds) the server, runs the package's tests and stops the server it started.
func Main(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		adminURL = u
		return m.Run(), nil
	}
	srv, err := Start()
	if err != nil {
		return 0, err
	}
	defer srv.Stop()
	adminURL = srv.URL
	return m.Run(), nil
}

// NewDatabase creates an empty database for one test and returns its URL; the database is dropped when the
// test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if adminURL == "" {
		t.Fatal("pgtest: call pgtest.Main from TestMain first")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := "test_" + randomHex(8)
	if err := exec1(ctx, adminURL, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: creating database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec1(ctx, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func exec1(ctx context.Context, dbURL, sql string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

// Server is a PostgreSQL server started by Start.
type Server struct {
	// URL connects to the server's postgres database as the superuser "postgres".
	URL   string
	dir   string
	bin   string
	owner *syscall.Credential // the user the server runs as when the tests run as root; nil otherwise
	proc  *os.Process         // the postmaster, a child of this process
	done  chan struct{}       // closed when the postmaster has exited
}

// Start initialises a cluster in a temporary directory and starts a server on 127.0.0.1 and a free port.
// Settings trade durability for speed (fsync off), which is right for tests.
func Start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin}
	if err := s.prepareOwner(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := s.initAndStart(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// prepareOwner makes the server run as "postgres" when the tests run as root, which PostgreSQL refuses.
func (s *Server) prepareOwner() error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user to run the server (apt-get install postgresql): %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if err := os.Chown(s.dir, int(uid), int(gid)); err != nil {
		return err
	}
	s.owner = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return nil
}

func (s *Server) initAndStart() error {
	data := filepath.Join(s.dir, "data")
	if out, err := s.command("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, out)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		// Another process may take the port between the probe and the server's bind: then try another.
		if lastErr = s.startOn(data, port); lastErr == nil {
			return nil
		}
	}
	return lastErr
}

// startOn runs the postmaster on port and waits until it accepts connections.
func (s *Server) startOn(data string, port int) error {
	logPath := filepath.Join(s.dir, "server.log")
	logFile, err := os.Create(logPath) //nolint:gosec // a file in the server's own temporary directory
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	cmd := s.command("postgres", "-D", data, "-p", strconv.Itoa(port), "-k", s.dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithParent(cmd.SysProcAttr)
	if err := s.startChild(cmd); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := s.waitReady(u, 60*time.Second); err != nil {
		s.stopServer()
		log, _ := os.ReadFile(logPath) //nolint:gosec // the server's log, in its own temporary directory
		return fmt.Errorf("postgres on port %d: %w\n%s", port, err, log)
	}
	s.URL = u
	return nil
}

// startChild starts the postmaster from a goroutine that keeps its OS thread locked until the postmaster
// exits. The kernel's parent-death signal (Pdeathsig) fires when the thread that forked the child ends, not
// the process: an unlocked goroutine could fork from a thread the Go runtime later ends (a thread is ended
// when a goroutine locked to it returns), killing the server in the middle of the tests. A thread locked to
// a goroutine that is still running is never ended, so the server dies only with this process, or after
// Stop.
func (s *Server) startChild(cmd *exec.Cmd) error {
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		// Deliberately never unlocked: when this goroutine returns, after the child has exited, the runtime
		// ends its thread instead of reusing a thread that carried a child's death signal.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return err
	}
	s.proc, s.done = cmd.Process, done
	return nil
}

// waitReady polls until the server accepts connections, the postmaster exits, or the timeout passes.
func (s *Server) waitReady(dbURL string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dbURL)
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-s.done:
			return errors.New("the server exited")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after %s: %w", timeout, err)
		}
	}
}

// Stop stops the server and removes its files.
func (s *Server) Stop() {
	s.stopServer()
	_ = os.RemoveAll(s.dir)
}

// stopServer shuts the postmaster down at once (SIGQUIT: the data is thrown away anyway) and waits for it,
// killing it if it takes longer than 30 seconds.
func (s *Server) stopServer() {
	if s.proc == nil {
		return
	}
	_ = s.proc.Signal(syscall.SIGQUIT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.proc.Kill()
		<-s.done
	}
	s.proc = nil
}

// command runs one of PostgreSQL's programs in the server's directory, as the server's owner.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	//nolint:gosec,noctx // PostgreSQL's own programs with this package's arguments; the server is stopped by Stop
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.owner}
	return cmd
}

// binDir finds the newest PostgreSQL server binaries.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb) in /usr/lib/postgresql/*/bin or on PATH: install Debian's postgresql package or set TEST_DATABASE_URL")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0") //nolint:noctx // a port probe, closed at once: nothing to cancel
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
