// Command testsummary reads `go test -json` output on stdin, prints each package's result and the output of
// every failed test, and ends with one line counting passed, failed and skipped tests. It exits non-zero when
// anything failed, including a package that did not build.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type summary struct {
	passed, failed, skipped int
	failedPackages          []string
	output                  map[string]*strings.Builder // by package + test, kept for failures
}

func main() {
	var out bytes.Buffer
	s, err := summarise(os.Stdin, &out)
	if _, werr := os.Stdout.Write(out.Bytes()); err == nil {
		err = werr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	fmt.Printf("Go tests: %d passed, %d failed, %d skipped", s.passed, s.failed, s.skipped)
	if len(s.failedPackages) > 0 {
		fmt.Printf("; failed packages: %s", strings.Join(s.failedPackages, ", "))
	}
	fmt.Println()
	if s.failed > 0 || len(s.failedPackages) > 0 {
		os.Exit(1)
	}
}

func summarise(r io.Reader, w *bytes.Buffer) (*summary, error) {
	s := &summary{output: map[string]*strings.Builder{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Build errors and other non-JSON lines pass through as they are.
			fmt.Fprintln(w, sc.Text())
			continue
		}
		s.record(e, w)
	}
	sort.Strings(s.failedPackages)
	return s, sc.Err()
}

func (s *summary) record(e event, w *bytes.Buffer) {
	key := e.Package + " " + e.Test
	switch e.Action {
	case "output":
		b := s.output[key]
		if b == nil {
			b = &strings.Builder{}
			s.output[key] = b
		}
		b.WriteString(e.Output)
	case "pass", "fail", "skip":
		if e.Test == "" {
			s.packageDone(e, w)
			return
		}
		s.testDone(e, key, w)
	}
}

func (s *summary) testDone(e event, key string, w *bytes.Buffer) {
	switch e.Action {
	case "pass":
		s.passed++
	case "skip":
		s.skipped++
	case "fail":
		s.failed++
		fmt.Fprintf(w, "--- FAIL: %s %s (%.2fs)\n", e.Package, e.Test, e.Elapsed)
		if b := s.output[key]; b != nil {
			fmt.Fprint(w, indent(b.String()))
		}
	}
	delete(s.output, key)
}

func (s *summary) packageDone(e event, w *bytes.Buffer) {
	key := e.Package + " "
	switch e.Action {
	case "pass":
		fmt.Fprintf(w, "ok   %s (%.1fs)\n", e.Package, e.Elapsed)
	case "skip":
		fmt.Fprintf(w, "--   %s (no tests)\n", e.Package)
	case "fail":
		fmt.Fprintf(w, "FAIL %s (%.1fs)\n", e.Package, e.Elapsed)
		s.failedPackages = append(s.failedPackages, e.Package)
		if b := s.output[key]; b != nil {
			fmt.Fprint(w, indent(b.String()))
		}
	}
	delete(s.output, key)
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
