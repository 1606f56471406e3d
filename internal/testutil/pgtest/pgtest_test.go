package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewDatabaseIsEmptyAndIsolated(t *testing.T) {
	ctx := context.Background()
	first, second := NewDatabase(t), NewDatabase(t)
	if first == second {
		t.Fatalf("two calls returned the same database %s", first)
	}
	conn, err := pgx.Connect(ctx, first)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
		t.Fatalf("creating a table: %v", err)
	}
	other, err := pgx.Connect(ctx, second)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer func() { _ = other.Close(ctx) }()
	var n int
	if err := other.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("table created in one database is visible in another")
	}
}
