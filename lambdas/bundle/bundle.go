// Package bundle builds the Lambda deployment packages: one zip per function
// of the catalogue in package lambdas, holding a single linux/arm64
// executable named bootstrap for the provided.al2023 runtime.
//
// Packages are reproducible: the same source and Go version give
// byte-identical zips, so Terraform's source_code_hash changes only when the
// code does.
package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/usersvc/usersvc/lambdas"
)

// Artifact is one built package.
type Artifact struct {
	Function string // the route table's Function name
	Path     string // dist/lambdas/<Function>.zip
	Size     int64
	SHA256   string // hex
}

// zipTime is the fixed modification time of every entry; a real clock would
// make each build differ. (DOS time cannot go before 1980.)
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Build compiles every function of the route table from the module at
// moduleRoot and writes outDir/<function>.zip. It runs the go command found
// on PATH.
func Build(ctx context.Context, moduleRoot, outDir string) ([]Artifact, error) {
	work, err := os.MkdirTemp("", "lambda-build-")
	if err != nil {
		return nil, fmt.Errorf("build lambdas: %w", err)
	}
	defer os.RemoveAll(work)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("build lambdas: %w", err)
	}

	fns := lambdas.Functions()
	// One go build for all functions shares the compile work; with several
	// packages and -o naming a directory, each binary takes its package's
	// directory name.
	// -buildvcs=false: the commit and a dirty flag would otherwise be
	// stamped into every binary, so each commit would change every zip.
	args := []string{"build", "-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w -buildid=", "-o", work + string(filepath.Separator)}
	for _, fn := range fns {
		args = append(args, "./lambdas/"+fn)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build lambdas: go build: %w\n%s", err, out)
	}

	var arts []Artifact
	for _, fn := range fns {
		bin, err := os.ReadFile(filepath.Join(work, fn))
		if err != nil {
			return nil, fmt.Errorf("build lambda %s: %w", fn, err)
		}
		a, err := writeZip(filepath.Join(outDir, fn+".zip"), bin)
		if err != nil {
			return nil, fmt.Errorf("package lambda %s: %w", fn, err)
		}
		a.Function = fn
		arts = append(arts, a)
	}
	return arts, nil
}

// writeZip writes a zip holding bin as an executable named bootstrap,
// replacing path atomically so a failed build never leaves half a zip.
func writeZip(path string, bin []byte) (Artifact, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: zipTime}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return Artifact{}, err
	}
	if _, err := w.Write(bin); err != nil {
		return Artifact{}, err
	}
	if err := zw.Close(); err != nil {
		return Artifact{}, err
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.zip")
	if err != nil {
		return Artifact{}, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := io.Copy(tmp, bytes.NewReader(buf.Bytes())); err != nil {
		tmp.Close()
		return Artifact{}, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return Artifact{}, err
	}
	if err := tmp.Close(); err != nil {
		return Artifact{}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Artifact{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return Artifact{Path: path, Size: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:])}, nil
}
