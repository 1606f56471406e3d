package provider

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// splitReader hands out its data in reads of at most size bytes, as a network does.
type splitReader struct {
	data []byte
	size int
}

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.data)
	r.data = r.data[n:]
	return n, nil
}

type chunk struct{ name, data string }

// readAll drains a chunk reader.
func readAll(r chunkReader) ([]chunk, error) {
	var out []chunk
	for {
		name, data, err := r.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, chunk{string(name), string(data)})
	}
}

// referenceLines splits a whole input into lines the simple way: the reference the streaming readers are
// checked against.
func referenceLines(input string, maxLine int) ([]string, error) {
	var lines []string
	for input != "" {
		line, rest, found := strings.Cut(input, "\n")
		if !found {
			rest = ""
		}
		input = rest
		line = strings.TrimSuffix(line, "\r")
		if len(line) > maxLine {
			return lines, errLineTooLong
		}
		lines = append(lines, line)
	}
	return lines, nil
}

// referenceSSE parses a whole SSE input.
func referenceSSE(input string, maxLine int) ([]chunk, error) {
	lines, lineErr := referenceLines(input, maxLine)
	var out []chunk
	name, data, hasData := "", "", false
	for _, line := range lines {
		switch {
		case line == "":
			if hasData {
				out = append(out, chunk{name, data})
			}
			name, data, hasData = "", "", false
		case line[0] == ':':
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				name = value
			case "data":
				if hasData {
					data += "\n"
				}
				if len(data)+len(value) > maxLine {
					return out, errLineTooLong
				}
				data += value
				hasData = true
			}
		}
	}
	if lineErr != nil {
		return out, lineErr
	}
	if hasData {
		out = append(out, chunk{name, data})
	}
	return out, nil
}

func referenceNDJSON(input string, maxLine int) ([]chunk, error) {
	lines, err := referenceLines(input, maxLine)
	var out []chunk
	for _, line := range lines {
		if strings.TrimSpace(line) != "" {
			out = append(out, chunk{"", line})
		}
	}
	return out, err
}

const testMaxLine = 64

func checkReader(t *testing.T, input string, size int, sse bool) {
	lines := newLineReader(&splitReader{[]byte(input), size}, 16, testMaxLine)
	var got, want []chunk
	var gotErr, wantErr error
	if sse {
		got, gotErr = readAll(&sseReader{lines: lines})
		want, wantErr = referenceSSE(input, testMaxLine)
	} else {
		got, gotErr = readAll(&ndjsonReader{lines: lines})
		want, wantErr = referenceNDJSON(input, testMaxLine)
	}
	if !errors.Is(gotErr, wantErr) || len(got) != len(want) {
		t.Fatalf("input %q in reads of %d: got %q (%v), want %q (%v)", input, size, got, gotErr, want, wantErr)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("input %q in reads of %d: chunk %d = %q, want %q", input, size, i, got[i], want[i])
		}
	}
}

func TestSSEReader(t *testing.T) {
	cases := []string{
		"data: {\"a\":1}\n\ndata: [DONE]\n\n",
		"event: message_start\ndata: {}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n",
		"data: a\r\ndata: b\r\n\r\n: comment\r\n\r\n",
		"data:no space\n\ndata\n\nevent: x\n\ndata: last without blank line",
		"id: 1\nretry: 10\ndata: x\n\n",
		"data: " + strings.Repeat("y", 100) + "\n\n",
		"data: " + strings.Repeat("y", 30) + "\ndata: " + strings.Repeat("z", 30) + "\n\n",
	}
	for _, c := range cases {
		for _, size := range []int{1, 3, 7, 1000} {
			checkReader(t, c, size, true)
		}
	}
	got, err := readAll(newSSEReader(strings.NewReader("data: " + strings.Repeat("x", 100<<10) + "\n\n")))
	if err != nil || len(got) != 1 || len(got[0].data) != 100<<10 {
		t.Errorf("a 100 KiB line was not read whole: %v", err)
	}
}

func TestNDJSONReader(t *testing.T) {
	cases := []string{
		"{\"a\":1}\n{\"b\":2}\n",
		"\n  \n{\"a\":1}\r\n{\"done\":true}",
		strings.Repeat("x", 65) + "\n",
	}
	for _, c := range cases {
		for _, size := range []int{1, 5, 1000} {
			checkReader(t, c, size, false)
		}
	}
}

// FuzzSSE checks the streaming SSE reader against the whole-input reference, with the input split into
// reads of every size and lines longer than the buffer and the limit.
func FuzzSSE(f *testing.F) {
	f.Add("data: {\"a\":1}\n\ndata: [DONE]\n\n", uint8(3))
	f.Add("event: e\r\ndata: x\r\ndata: y\r\n\r\n:c\n", uint8(1))
	f.Add("data: "+strings.Repeat("z", 70)+"\n\n", uint8(16))
	f.Fuzz(func(t *testing.T, input string, size uint8) {
		checkReader(t, input, int(size%40)+1, true)
	})
}

// FuzzNDJSON checks the streaming NDJSON reader the same way.
func FuzzNDJSON(f *testing.F) {
	f.Add("{\"a\":1}\n{\"done\":true}\n", uint8(2))
	f.Add("\r\n \n"+strings.Repeat("q", 66), uint8(16))
	f.Fuzz(func(t *testing.T, input string, size uint8) {
		checkReader(t, input, int(size%40)+1, false)
	})
}

func TestLineTooLongFailsTheStream(t *testing.T) {
	r := newLineReader(bytes.NewReader([]byte(strings.Repeat("a", 100)+"\nok\n")), 16, 50)
	if _, err := r.next(); !errors.Is(err, errLineTooLong) {
		t.Errorf("next = %v, want errLineTooLong", err)
	}
}
