package provider

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxLineSize bounds one line of an upstream stream (an SSE line or an NDJSON object) and one SSE event's
// data. Longer lines fail the stream with ErrProtocol instead of exhausting memory. It is far above the
// 64 KiB that bufio.Scanner allows by default, which kills streams with long tool-call arguments.
const MaxLineSize = 8 << 20

// readBufferSize is the read buffer of a stream: most chunks fit in it; longer lines are assembled. It is
// held for as long as the stream is open, so it is small: 1 KiB instead of 16 is 15 KiB less per open stream
// (streams wait on slow models for minutes). It reads from the upstream connection's own buffer
// (TransportOptions), not from the socket.
const readBufferSize = 1 << 10

var errLineTooLong = fmt.Errorf("a line of the stream is longer than %d bytes", MaxLineSize)

// lineReader splits a stream into lines ending in \n or \r\n, with a bounded line length. A final line
// without a line ending is returned too.
type lineReader struct {
	r    *bufio.Reader
	long []byte // assembles lines longer than r's buffer
	max  int
}

func newLineReader(r io.Reader, bufSize, maxLine int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, bufSize), max: maxLine}
}

// next returns the next line without its ending. The line is only valid until the next call.
func (l *lineReader) next() ([]byte, error) {
	line, err := l.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		l.long = append(l.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(l.long) > l.max+1 { // +1: the \r of a \r\n may be in already
				return nil, errLineTooLong
			}
			line, err = l.r.ReadSlice('\n')
			l.long = append(l.long, line...)
		}
		line = l.long
	}
	if err != nil && (!errors.Is(err, io.EOF) || len(line) == 0) {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > l.max {
		return nil, errLineTooLong
	}
	return line, nil
}

// chunkReader yields the chunks of a streamed answer: SSE events, or NDJSON lines (which have no name).
type chunkReader interface {
	// next returns the next chunk's event name and data, valid until the next call, or io.EOF at the end.
	next() (name, data []byte, err error)
}

// sseReader reads Server-Sent Events as the WHATWG specification parses them: "event:" names the event,
// "data:" lines are joined with \n, lines starting with ":" are comments, a blank line ends the event. An
// event still open at the end of the stream is returned too, as servers often omit the last blank line.
type sseReader struct {
	lines   *lineReader
	name    []byte
	data    []byte
	hasData bool
}

func newSSEReader(r io.Reader) chunkReader {
	return &sseReader{lines: newLineReader(r, readBufferSize, MaxLineSize)}
}

func (s *sseReader) next() (name, data []byte, err error) {
	s.name, s.data, s.hasData = s.name[:0], s.data[:0], false
	for {
		line, err := s.lines.next()
		if err != nil {
			if errors.Is(err, io.EOF) && s.hasData {
				return s.name, s.data, nil
			}
			return nil, nil, err
		}
		if len(line) == 0 {
			if s.hasData {
				return s.name, s.data, nil
			}
			s.name = s.name[:0]
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(field) {
		case "event":
			s.name = append(s.name[:0], value...)
		case "data":
			if s.hasData {
				s.data = append(s.data, '\n')
			}
			if len(s.data)+len(value) > s.lines.max {
				return nil, nil, errLineTooLong
			}
			s.data = append(s.data, value...)
			s.hasData = true
		}
	}
}

// ndjsonReader reads newline-delimited JSON, skipping blank lines.
type ndjsonReader struct{ lines *lineReader }

func newNDJSONReader(r io.Reader) chunkReader {
	return &ndjsonReader{lines: newLineReader(r, readBufferSize, MaxLineSize)}
}

func (n *ndjsonReader) next() (name, data []byte, err error) {
	for {
		line, err := n.lines.next()
		if err != nil {
			return nil, nil, err
		}
		if len(bytes.TrimSpace(line)) > 0 {
			return nil, line, nil
		}
	}
}
