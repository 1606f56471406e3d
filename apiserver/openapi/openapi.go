// Package openapi holds the OpenAPI 3 document of the tenant API server. The document is written by hand
// (spec first: the web UI generates its types from it) and kept true by tests that compare it with the
// router and validate responses against it.
package openapi

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

//go:embed openapi.yaml
var document []byte

// YAML returns the document as written.
func YAML() []byte { return document }

// JSON returns the document converted to JSON, as served at /openapi.json.
func JSON() ([]byte, error) {
	j, err := yaml.YAMLToJSON(document)
	if err != nil {
		return nil, fmt.Errorf("converting the OpenAPI document to JSON: %w", err)
	}
	return j, nil
}

// Operations lists the documented operations as "METHOD /path" with gin-style parameters
// ("/api/v1/tags/:id"), sorted.
func Operations() ([]string, error) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal(document, &doc); err != nil {
		return nil, fmt.Errorf("parsing the OpenAPI document: %w", err)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "patch", "delete", "head", "options":
				ops = append(ops, strings.ToUpper(method)+" "+GinPath(path))
			}
		}
	}
	sort.Strings(ops)
	return ops, nil
}

// GinPath turns an OpenAPI path template ("/tags/{id}") into gin's form ("/tags/:id").
func GinPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			parts[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(parts, "/")
}
