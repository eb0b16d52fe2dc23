// Package static holds the portal's stylesheet and images, embedded into
// the binary so that nothing is fetched from a CDN.
//
// Files are served under fingerprinted names (portal.3f2a9c1b.css), which
// change whenever the content does, so browsers may cache them forever.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed *.css *.svg
var files embed.FS

// Prefix is the URL path under which Handler expects to be mounted.
const Prefix = "/static/"

var (
	// byName maps a file's name to its fingerprinted URL path.
	byName = map[string]string{}
	// byPath maps a fingerprinted URL path back to the file's name.
	byPath = map[string]string{}
)

func init() {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		p := Prefix + strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:4]) + ext
		byName[e.Name()] = p
		byPath[p] = e.Name()
	}
}

// Path returns the fingerprinted URL path of the embedded file name (for
// example "portal.css"), or "" when there is no such file.
func Path(name string) string { return byName[name] }

// Handler serves the embedded files under their fingerprinted paths with a
// one-year immutable cache lifetime; any other path is not found.
func Handler() http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		fileServer.ServeHTTP(w, r2)
	})
}
