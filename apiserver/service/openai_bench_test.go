package service

import "testing"

// BenchmarkParseChatRequest parses the load benchmark's request (make bench): one short message and a bound.
func BenchmarkParseChatRequest(b *testing.B) {
	body := []byte(`{"model":"mock/chat16","messages":[{"role":"user","content":"Say hello"}],"max_tokens":16}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseChatRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}
