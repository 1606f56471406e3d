// Command crd-docs writes the CRD reference (docs/crd-reference.md) from the generated CRD manifests, so the
// reference always says what the schema says: every field with its type, default, constraints and
// description. `make manifests` runs it.
//
//	go run ./hack/crd-docs config/crd/bases/*.yaml > docs/crd-reference.md
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crd-docs CRD.yaml...")
		os.Exit(2)
	}
	var crds []apiextensionsv1.CustomResourceDefinition
	for _, path := range os.Args[1:] {
		data, err := os.ReadFile(path)
		if err != nil {
			fail(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			fail(fmt.Errorf("%s: %w", path, err))
		}
		crds = append(crds, crd)
	}
	sort.Slice(crds, func(i, j int) bool { return crds[i].Spec.Names.Kind < crds[j].Spec.Names.Kind })
	var doc strings.Builder
	write(&doc, crds)
	// The reference is redirected into a file: a failed write must fail `make manifests`.
	if _, err := io.WriteString(os.Stdout, doc.String()); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "crd-docs:", err)
	os.Exit(1)
}

func write(w *strings.Builder, crds []apiextensionsv1.CustomResourceDefinition) {
	fmt.Fprintln(w, "# CRD reference")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Generated from `config/crd/bases` by `make manifests` (hack/crd-docs). Do not edit by hand.")
	fmt.Fprintln(w, "`kubectl explain <kind>.<field>` shows the same descriptions in a cluster.")
	for _, crd := range crds {
		for _, v := range crd.Spec.Versions {
			writeVersion(w, crd, v)
		}
	}
}

func writeVersion(w *strings.Builder, crd apiextensionsv1.CustomResourceDefinition, v apiextensionsv1.CustomResourceDefinitionVersion) {
	n := crd.Spec.Names
	fmt.Fprintf(w, "\n## %s (`%s/%s`)\n\n", n.Kind, crd.Spec.Group, v.Name)
	root := v.Schema.OpenAPIV3Schema
	fmt.Fprintf(w, "%s\n\n", oneLine(root.Description))
	fmt.Fprintf(w, "Scope: %s. Short names: %s.", crd.Spec.Scope, strings.Join(n.ShortNames, ", "))
	if v.Subresources != nil && v.Subresources.Status != nil {
		fmt.Fprint(w, " Status subresource: yes.")
	}
	fmt.Fprintln(w)
	for _, rule := range root.XValidations {
		fmt.Fprintf(w, "\nRule: %s\n", rule.Message)
	}
	for _, part := range []string{"spec", "status"} {
		s, ok := root.Properties[part]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "\n### %s\n\n", part)
		fmt.Fprintln(w, "| field | type | required | default | constraints | description |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
		writeFields(w, part, s)
	}
}

// writeFields writes one row per field below prefix, depth first, in name order.
func writeFields(w *strings.Builder, prefix string, s apiextensionsv1.JSONSchemaProps) {
	if s.Type == "array" && s.Items != nil && s.Items.Schema != nil {
		writeFields(w, prefix+"[]", *s.Items.Schema)
		return
	}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for _, name := range names {
		p := s.Properties[name]
		path := prefix + "." + name
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s | %s |\n", path, typeOf(p), yesNo(required[name]), cell(defaultOf(p)), cell(constraints(p)), cell(p.Description))
		if strings.HasPrefix(path, "spec.apiServer.affinity") || strings.HasPrefix(path, "spec.apiServer.tolerations") ||
			strings.HasSuffix(path, ".resources") || strings.HasPrefix(path, "spec.gateway.parentRefs") || strings.HasSuffix(path, "conditions") {
			continue // Kubernetes' own types: documented upstream.
		}
		writeFields(w, path, p)
	}
}

func typeOf(p apiextensionsv1.JSONSchemaProps) string {
	switch {
	case p.Type == "array" && p.Items != nil && p.Items.Schema != nil:
		return "[]" + typeOf(*p.Items.Schema)
	case p.Type == "object" && p.AdditionalProperties != nil && p.AdditionalProperties.Schema != nil:
		return "map[string]" + typeOf(*p.AdditionalProperties.Schema)
	case p.XIntOrString:
		return "int or string"
	case p.Type == "":
		return "any"
	}
	if p.Format != "" {
		return p.Type + " (" + p.Format + ")"
	}
	return p.Type
}

func defaultOf(p apiextensionsv1.JSONSchemaProps) string {
	if p.Default == nil {
		return ""
	}
	return "`" + string(p.Default.Raw) + "`"
}

func constraints(p apiextensionsv1.JSONSchemaProps) string {
	var c []string
	if len(p.Enum) > 0 {
		var vals []string
		for _, e := range p.Enum {
			vals = append(vals, strings.Trim(string(e.Raw), `"`))
		}
		c = append(c, "one of "+strings.Join(vals, ", "))
	}
	if p.Minimum != nil {
		c = append(c, fmt.Sprintf("≥ %g", *p.Minimum))
	}
	if p.Maximum != nil {
		c = append(c, fmt.Sprintf("≤ %g", *p.Maximum))
	}
	if p.MinLength != nil && *p.MinLength > 0 {
		c = append(c, fmt.Sprintf("length ≥ %d", *p.MinLength))
	}
	if p.MaxLength != nil {
		c = append(c, fmt.Sprintf("length ≤ %d", *p.MaxLength))
	}
	if p.MinItems != nil && *p.MinItems > 0 {
		c = append(c, fmt.Sprintf("items ≥ %d", *p.MinItems))
	}
	if p.MaxItems != nil {
		c = append(c, fmt.Sprintf("items ≤ %d", *p.MaxItems))
	}
	if p.Pattern != "" {
		c = append(c, "pattern `"+p.Pattern+"`")
	}
	if p.XListType != nil && *p.XListType == "map" {
		c = append(c, "unique by "+strings.Join(p.XListMapKeys, ", "))
	}
	if p.XListType != nil && *p.XListType == "set" {
		c = append(c, "unique items")
	}
	for _, rule := range p.XValidations {
		c = append(c, rule.Message)
	}
	return strings.Join(c, "; ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
