package provider

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small JSON sniffer: it finds one value in a document by its path without decoding the rest,
// and without allocating except for the strings it returns. Streams are passed through as bytes and only the
// few fields metering needs are looked at, which costs a fraction of a full decode per chunk. The sniffer
// does not validate: on malformed input it returns nothing or a wrong value, never panics, and always ends.

// jsonGet returns the raw JSON value at path in data, or nil when there is none. Path elements are object
// keys, or decimal indexes for arrays. Keys are compared with the raw (still escaped) key text. Only the
// values on the way are skipped over; the document's end is never looked for.
func jsonGet(data []byte, path ...string) []byte {
	v := data[skipSpace(data, 0):]
	for _, key := range path {
		if len(v) == 0 {
			return nil
		}
		switch v[0] {
		case '{':
			v = objectField(v, key)
		case '[':
			v = arrayElem(v, key)
		default:
			return nil
		}
	}
	return jsonValue(v)
}

// jsonValue returns the first JSON value in data, after white space, or nil.
func jsonValue(data []byte) []byte {
	data = data[skipSpace(data, 0):]
	n := valueEnd(data, 0)
	if n <= 0 {
		return nil
	}
	return data[:n]
}

// objectField returns the text from the start of key's value in the object obj to the end of obj, or nil.
func objectField(obj []byte, key string) []byte {
	i := 1
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return nil
		}
		end := stringEnd(obj, i)
		if end < 0 {
			return nil
		}
		match := string(obj[i+1:end-1]) == key
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return nil
		}
		i = skipSpace(obj, i+1)
		if match {
			return obj[i:]
		}
		if i = valueEnd(obj, i); i < 0 {
			return nil
		}
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != ',' {
			return nil
		}
		i++
	}
}

// arrayElem returns the text from the start of the element at the decimal index in the array arr to the end
// of arr, or nil.
func arrayElem(arr []byte, index string) []byte {
	want, ok := parseIndex(index)
	if !ok {
		return nil
	}
	i := skipSpace(arr, 1)
	for n := 0; i < len(arr) && arr[i] != ']'; n++ {
		if n == want {
			return arr[i:]
		}
		if i = valueEnd(arr, i); i < 0 {
			return nil
		}
		i = skipSpace(arr, i)
		if i >= len(arr) || arr[i] != ',' {
			return nil
		}
		i = skipSpace(arr, i+1)
	}
	return nil
}

func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// jsonEach calls fn for every element of the array arr until fn returns false.
func jsonEach(arr []byte, fn func(elem []byte) bool) {
	if len(arr) == 0 || arr[0] != '[' {
		return
	}
	i := skipSpace(arr, 1)
	if i < len(arr) && arr[i] == ']' {
		return
	}
	for i < len(arr) {
		end := valueEnd(arr, i)
		if end < 0 || !fn(arr[i:end]) {
			return
		}
		i = skipSpace(arr, end)
		if i >= len(arr) || arr[i] != ',' {
			return
		}
		i = skipSpace(arr, i+1)
	}
}

// EachMember calls fn with the name (unescaped) and the raw value of each member of the JSON object obj, in
// order, until fn returns false. obj must be valid JSON (json.Valid); EachMember reports whether it is an
// object.
func EachMember(obj []byte, fn func(name string, value []byte) bool) bool {
	obj = obj[skipSpace(obj, 0):]
	if len(obj) == 0 || obj[0] != '{' {
		return false
	}
	jsonMembers(obj, func(key, value []byte) bool { return fn(memberName(key), value) })
	return true
}

// jsonMembers calls fn with the raw key (its quotes included) and the raw value of each member of the object
// obj, in order, until fn returns false or the object ends.
func jsonMembers(obj []byte, fn func(key, value []byte) bool) {
	if len(obj) == 0 || obj[0] != '{' {
		return
	}
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		end := stringEnd(obj, i)
		if end < 0 {
			return
		}
		key := obj[i:end]
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return
		}
		i = skipSpace(obj, i+1)
		vend := valueEnd(obj, i)
		if vend < 0 || !fn(key, obj[i:vend]) {
			return
		}
		i = skipSpace(obj, vend)
		if i >= len(obj) || obj[i] != ',' {
			return
		}
		i = skipSpace(obj, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value starting at b[i], or -1 when there is none.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		return compositeEnd(b, i)
	case '}', ']', ',', ':':
		return -1
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r', ':', '"', '{', '[':
			return j
		}
		j++
	}
	return j
}

// stringEnd returns the index just past the string starting at b[i] (a quote), or -1 when it is not closed.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// compositeEnd returns the index just past the object or array starting at b[i], or -1 when it is not
// closed. Brackets inside strings are skipped; the kinds of brackets are not matched against each other.
func compositeEnd(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end := stringEnd(b, j)
			if end < 0 {
				return -1
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// jsonString decodes the JSON string raw. It returns false when raw is not a string.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	plain := true
	for _, c := range body {
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(body), true
	}
	return unescape(body), true
}

// unescape decodes the body of a JSON string: escapes, surrogate pairs, and invalid UTF-8 replaced by U+FFFD
// as encoding/json does.
func unescape(s []byte) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			if c < utf8.RuneSelf {
				b.WriteByte(c)
				i++
				continue
			}
			r, size := utf8.DecodeRune(s[i:])
			b.WriteRune(r)
			i += size
			continue
		}
		if i+1 >= len(s) {
			b.WriteRune(utf8.RuneError)
			break
		}
		esc := s[i+1]
		i += 2
		switch esc {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, n := decodeU(s[i-2:])
			b.WriteRune(r)
			i += n - 2
		default: // '"', '\\', '/' and anything else stand for themselves
			b.WriteByte(esc)
		}
	}
	return b.String()
}

// decodeU decodes a \uXXXX escape (with its low surrogate, if any) at the start of s and returns the rune and
// the number of bytes used. A lone or malformed escape gives U+FFFD.
func decodeU(s []byte) (rune, int) {
	r, ok := hex4(s)
	if !ok {
		return utf8.RuneError, 2
	}
	if utf16.IsSurrogate(r) {
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if r2, ok := hex4(s[6:]); ok {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return dec, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return r, 6
}

// hex4 reads the four hex digits of a \uXXXX escape at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 6 {
		return 0, false
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// jsonInt reads a non-negative JSON integer; a fraction is dropped. It returns false for anything else.
func jsonInt(raw []byte) (int64, bool) {
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return 0, false
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			break
		}
		if n > (1<<62)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// jsonTrue reports whether raw is the literal true.
func jsonTrue(raw []byte) bool { return string(raw) == "true" }
