package openapi

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestDocumentIsValidOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(YAML())
	if err != nil {
		t.Fatalf("loading the document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	if _, err := JSON(); err != nil {
		t.Fatal(err)
	}
}

func TestOperationsUseGinPaths(t *testing.T) {
	ops, err := Operations()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, op := range ops {
		if op == "GET /api/v1/conversations/:id/messages" {
			found = true
		}
	}
	if !found {
		t.Fatalf("Operations() = %v, want GET /api/v1/conversations/:id/messages among them", ops)
	}
}
