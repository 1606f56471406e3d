package procstat

import (
	"os"
	"testing"
	"time"
)

func TestParseCountsFromTheLastParenthesis(t *testing.T) {
	// A command name with spaces and a ')' must not shift the fields.
	line := "4242 (postgres: bench) x) S 77 4242 4242 0 -1 4194560 100 0 0 0 150 25 30 5 20 0 1 0 100 1000 50"
	st, err := Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != 77 || st.CPU != 1750*time.Millisecond || st.Children != 350*time.Millisecond {
		t.Errorf("parsed %+v, want ppid 77, cpu 1.75s, children 350ms", st)
	}
	if _, err := Parse([]byte("4242 (truncated")); err == nil {
		t.Error("a line without ')' parsed")
	}
}

func TestReadThisProcess(t *testing.T) {
	st, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != os.Getppid() {
		t.Errorf("ppid %d, want %d", st.PPID, os.Getppid())
	}
}
