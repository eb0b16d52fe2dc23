package lambdas_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/usersvc/usersvc/lambdas"
)

// TestEveryMainServesItsOwnEntry holds each lambdas/<fn>/main.go to the
// catalogue: its main is one call whose one argument is its own function's
// name (so a copied main that still names the function it came from
// fails), and every catalogued function has such a main.
func TestEveryMainServesItsOwnEntry(t *testing.T) {
	fns := lambdas.Functions()
	if len(fns) == 0 {
		t.Fatal("no functions catalogued")
	}
	mains, err := filepath.Glob(filepath.Join("*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, path := range mains {
		dir := filepath.Dir(path)
		dirs = append(dirs, dir)
		callee, name, ok := servedName(t, path)
		switch {
		case !ok:
			t.Errorf("%s: main is not one call with the function's name as its only argument", path)
		case name != dir:
			t.Errorf("%s serves %q, want its own directory's name %q", path, name, dir)
		case !slices.Contains(fns, name):
			t.Errorf("%s serves %q, which lambdas.Routes does not list", path, name)
		case callee != entryPoint(name):
			t.Errorf("%s calls %s, want %s for this kind of function", path, callee, entryPoint(name))
		}
	}
	for _, fn := range fns {
		if !slices.Contains(dirs, fn) {
			t.Errorf("function %q has no lambdas/%s/main.go", fn, fn)
		}
	}
}

// entryPoint is what a function's main must call: the user service's
// routes (those with a Handler) start their handler through serve.Function,
// the portal its http.Handler through function.Main.
func entryPoint(function string) string {
	for _, r := range lambdas.Routes() {
		if r.Function == function && r.Handler != nil {
			return "serve.Function"
		}
	}
	if function == lambdas.Portal.Function {
		return "function.Main"
	}
	return "(no entry point for " + function + ")"
}

// servedName returns the function a main.go's main calls, as pkg.Name, and
// the string literal it passes, e.g. "serve.Function" and "get_user" in
// `func main() { serve.Function("get_user") }`.
func servedName(t *testing.T, path string) (callee, name string, ok bool) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "main" || fn.Recv != nil {
			continue
		}
		if len(fn.Body.List) != 1 {
			return "", "", false
		}
		stmt, ok := fn.Body.List[0].(*ast.ExprStmt)
		if !ok {
			return "", "", false
		}
		call, ok := stmt.X.(*ast.CallExpr)
		if !ok || len(call.Args) != 1 {
			return "", "", false
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return "", "", false
		}
		pkg, ok := sel.X.(*ast.Ident)
		if !ok {
			return "", "", false
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return pkg.Name + "." + sel.Sel.Name, s, err == nil
	}
	return "", "", false
}

func TestRoutesHaveHandlersOrArePublic(t *testing.T) {
	for _, r := range lambdas.Routes() {
		if r.Handler == nil && !r.Public {
			t.Errorf("route %q (function %q) has no handler and is not public", r.Key, r.Function)
		}
	}
}
