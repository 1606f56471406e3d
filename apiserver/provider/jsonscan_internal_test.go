package provider

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestJSONGet(t *testing.T) {
	doc := []byte(` { "id" : "x", "skip": {"a":[1,{"}":"]"}], "b\"q": "\\" },
		"choices":[ {"delta":{"content":"Hi \"there\"\n\u00e9\ud83d\ude00"},"finish_reason":null}, {"n":2} ],
		"usage":{"prompt_tokens":12,"completion_tokens":3.0}, "t": true }`)
	cases := []struct {
		path []string
		want string
	}{
		{[]string{"id"}, `"x"`},
		{[]string{"choices", "1", "n"}, `2`},
		{[]string{"choices", "0", "finish_reason"}, `null`},
		{[]string{"usage", "prompt_tokens"}, `12`},
		{[]string{"t"}, `true`},
		{[]string{"choices", "2"}, ``},
		{[]string{"missing"}, ``},
		{[]string{"id", "deeper"}, ``},
		{[]string{"choices", "x"}, ``},
	}
	for _, c := range cases {
		if got := string(jsonGet(doc, c.path...)); got != c.want {
			t.Errorf("jsonGet(%v) = %q, want %q", c.path, got, c.want)
		}
	}
	if s, ok := jsonString(jsonGet(doc, "choices", "0", "delta", "content")); !ok || s != "Hi \"there\"\né😀" {
		t.Errorf("content = %q, %v", s, ok)
	}
	if n, ok := jsonInt(jsonGet(doc, "usage", "completion_tokens")); !ok || n != 3 {
		t.Errorf("completion_tokens = %d, %v", n, ok)
	}
	if _, ok := jsonInt([]byte(`-1`)); ok {
		t.Error("jsonInt accepted a negative count")
	}
	var seen []string
	jsonEach(jsonGet(doc, "choices"), func(e []byte) bool {
		seen = append(seen, string(e))
		return true
	})
	if len(seen) != 2 {
		t.Errorf("jsonEach saw %q", seen)
	}
	for _, bad := range []string{``, `{`, `{"a"`, `{"a":`, `{"a":"`, `[1,`, `{"a" 1}`, `"\`, `}`, `{"a":1,}`} {
		_ = jsonGet([]byte(bad), "a", "0") // must not panic or hang
	}
}

// FuzzJSONScan checks the sniffer against encoding/json: on valid documents it finds what a full decode
// finds, and strings decode to the same text; on anything else it neither panics nor hangs.
func FuzzJSONScan(f *testing.F) {
	f.Add([]byte(`{"choices":[{"delta":{"content":"a\"b\\c\u00e9"}}],"usage":{"prompt_tokens":5}}`), "choices.0.delta.content")
	f.Add([]byte(`{"a":{"b":[1,2,{"c":"\ud83d\ude00"}]}}`), "a.b.2.c")
	f.Add([]byte(`["x", {"y": null}]`), "1.y")
	f.Add([]byte(`"\ud800 lone \udc00 surrogates \u12"`), "")
	f.Fuzz(func(t *testing.T, data []byte, dotted string) {
		var path []string
		if dotted != "" {
			path = strings.Split(dotted, ".")
		}
		_ = jsonGet(data, path...) // any input: must not panic or hang
		var doc any
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		// Keys are compared as raw text, so check on the canonical form (no duplicate keys, plain keys).
		canonical, _ := json.Marshal(doc)
		want, found := lookup(doc, path)
		if !plainKeys(path) {
			return
		}
		got := jsonGet(canonical, path...)
		if !found {
			if got != nil {
				t.Fatalf("jsonGet(%s, %q) = %s, want nothing", canonical, path, got)
			}
			return
		}
		var gotValue any
		if err := json.Unmarshal(got, &gotValue); err != nil || !reflect.DeepEqual(gotValue, want) {
			t.Fatalf("jsonGet(%s, %q) = %s, want %v", canonical, path, got, want)
		}
		if s, ok := want.(string); ok {
			if dec, ok := jsonString(got); !ok || dec != s {
				t.Fatalf("jsonString(%s) = %q, want %q", got, dec, s)
			}
		}
		if s, ok := doc.(string); ok {
			// The original text of a string, with its own escapes, decodes like encoding/json decodes it.
			if dec, ok := jsonString(bytes.TrimSpace(data)); !ok || dec != s {
				t.Fatalf("jsonString(%s) = %q, want %q", data, dec, s)
			}
		}
	})
}

// lookup follows path in a decoded document.
func lookup(v any, path []string) (any, bool) {
	for _, key := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[key]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) || strconv.Itoa(i) != key {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// plainKeys reports whether the path's keys are written the same escaped and unescaped.
func plainKeys(path []string) bool {
	for _, k := range path {
		for _, r := range k {
			if r < 0x20 || r == '"' || r == '\\' || r == '<' || r == '>' || r == '&' || r == utf8.RuneError || r >= 0x2028 {
				return false
			}
		}
	}
	return true
}
