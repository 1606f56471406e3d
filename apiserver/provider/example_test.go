package provider_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// A provider with a key pool streams an answer; the caller forwards each text delta and stores the result
// with its usage, whatever happened.
func ExampleProvider_Stream() {
	mock := httptest.NewServer(mockprovider.New(mockprovider.Config{Defaults: mockprovider.Behaviour{ReplyTokens: 5}}))
	defer mock.Close()

	transport := provider.NewTransport(provider.TransportOptions{}) // one per process
	pool := provider.NewPool([]provider.Key{{ID: "openai/key-1", Secret: "sk-1"}}, provider.PoolOptions{})
	p, err := provider.New(config.Provider{Name: "mock", Type: config.ProviderOpenAI, BaseURL: mock.URL + "/openai/v1"}, pool, transport)
	if err != nil {
		panic(err)
	}
	call := provider.Call{
		Model:    "mock-chat",
		System:   "Be brief.",
		Messages: []provider.Message{{Role: provider.RoleUser, Content: "Hello?"}},
	}
	res, err := p.Stream(context.Background(), call, func(ev provider.Event) error {
		fmt.Printf("delta %q\n", ev.Text) // an SSE "delta" event to the browser
		return nil
	})
	fmt.Println(res.Text, res.Usage.PromptTokens, res.Usage.CompletionTokens, res.Usage.Estimated, res.KeyID, err)
	// Output:
	// delta ""
	// delta "Hello"
	// delta ","
	// delta " world"
	// delta "!"
	// delta " This"
	// delta ""
	// delta ""
	// Hello, world! This 9 5 false openai/key-1 <nil>
}
