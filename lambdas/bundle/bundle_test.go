package bundle_test

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/lambdas"
	"github.com/usersvc/usersvc/lambdas/bundle"
)

const maxZipBytes = 8 << 20

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(string(bytes.TrimSpace(out)))
}

// TestBuildReproducible builds every function twice and expects
// byte-identical zips, each holding one arm64 executable named bootstrap.
func TestBuildReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles every function; skipped in -short mode")
	}
	ctx := context.Background()
	root := moduleRoot(t)
	statSources(t, root)
	// Ignore any go env file: one that sets -buildvcs=false would hide a
	// build that stamps the commit into the binaries.
	t.Setenv("GOENV", "off")
	first, err := bundle.Build(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	second, err := bundle.Build(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(lambdas.Functions()) || len(first) == 0 {
		t.Fatalf("built %d packages, want one per function %v", len(first), lambdas.Functions())
	}
	for i, a := range first {
		b := second[i]
		if a.SHA256 != b.SHA256 || a.Size != b.Size {
			t.Errorf("%s: builds differ: %s (%d) vs %s (%d)", a.Function, a.SHA256, a.Size, b.SHA256, b.Size)
		}
		if a.Size > maxZipBytes {
			t.Errorf("%s: zip is %d bytes, over %d", a.Function, a.Size, maxZipBytes)
		}
		t.Logf("%s: %d bytes sha256:%s", a.Function, a.Size, a.SHA256)
		checkZip(t, a.Path)
	}
}

// statSources looks at every Go file of the module. The builds run in a
// go subprocess, whose reads go test cannot see; stat-ing the sources here
// puts them in the test's record, so that a change to any of them
// invalidates a cached pass of this test.
func statSources(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum") {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkZip(t *testing.T, path string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("%s: want exactly one entry named bootstrap, got %d entries", path, len(zr.File))
	}
	f := zr.File[0]
	if mode := f.Mode(); mode.Perm() != 0o755 || !mode.IsRegular() {
		t.Errorf("%s: bootstrap mode %v, want -rwxr-xr-x", path, mode)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s: bootstrap is not ELF: %v", path, err)
	}
	if exe.Machine != elf.EM_AARCH64 || exe.Type != elf.ET_EXEC {
		t.Errorf("%s: bootstrap is %v %v, want an arm64 executable", path, exe.Machine, exe.Type)
	}
	if exe.Section(".symtab") != nil {
		t.Errorf("%s: bootstrap is not stripped", path)
	}
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s: no build info: %v", path, err)
	}
	for _, s := range info.Settings {
		if strings.HasPrefix(s.Key, "vcs.") {
			t.Errorf("%s: bootstrap carries %s=%s, which changes with every commit", path, s.Key, s.Value)
		}
	}
}

func TestFunctionsHaveMains(t *testing.T) {
	root := moduleRoot(t)
	for _, fn := range lambdas.Functions() {
		if _, err := os.Stat(filepath.Join(root, "lambdas", fn, "main.go")); err != nil {
			t.Errorf("route function %s has no lambdas/%s/main.go: %v", fn, fn, err)
		}
	}
}
