// Package webui serves the web UI: the Vite build in dist/, embedded into the binary. Paths that name a
// file are served as that file; every other path gets index.html, so that the UI's client-side routes work
// on reload. When the UI was not built (dist holds only .keep), a small page says so.
package webui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var embedded embed.FS

// notBuilt is served when dist has no index.html.
const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LLMPlatform</title></head>
<body><h1>The web UI was not built</h1>
<p>This binary was built without the web UI. Build it with <code>make build</code> (which runs the frontend build
into apiserver/webui/dist first). The API is available under <a href="/docs">/docs</a>.</p></body></html>
`

// Handler serves the UI from fsys (the embedded dist when nil).
type Handler struct {
	files fs.FS
	index []byte
}

// New returns a handler over the embedded build.
func New() *Handler {
	sub, err := fs.Sub(embedded, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path; "dist" is valid.
		panic(err)
	}
	return NewFS(sub)
}

// NewFS returns a handler over files, laid out as Vite's dist directory.
func NewFS(files fs.FS) *Handler {
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		index = nil
	}
	return &Handler{files: files, index: index}
}

// Built reports whether the UI build is present.
func (h *Handler) Built() bool { return h.index != nil }

// ServeHTTP serves a file, or index.html for client-side routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name != "" && name != "index.html" && name != ".keep" && h.isFile(name) {
		if strings.HasPrefix(name, "assets/") {
			// Vite puts a content hash in every asset's name.
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		// name is path.Clean'd from the root and files is an embedded FS: nothing outside it is reachable.
		http.ServeFileFS(w, r, h.files, name) //nolint:gosec // see above
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if h.index == nil {
		_, _ = w.Write([]byte(notBuilt))
		return
	}
	_, _ = w.Write(h.index)
}

func (h *Handler) isFile(name string) bool {
	st, err := fs.Stat(h.files, name)
	return err == nil && !st.IsDir()
}
