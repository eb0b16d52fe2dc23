package terraform_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/usersvc/usersvc/lambdas"
	"github.com/usersvc/usersvc/terraform"
)

// The offline plan: terraform, the AWS provider from a local mirror, dummy
// credentials and the skip-* settings in an override file written into a
// temporary copy of the module (never into the module itself). Init and
// plan run once per test binary and the tests share the result.

const (
	defaultPluginDir = "/opt/tf-plugins"
	testAccountID    = "123456789012"
)

// providerOverride makes the provider configure without AWS: static dummy
// keys, no STS, no instance metadata. allowed_account_ids is cleared since
// with no account lookup there is no account to compare.
const providerOverride = `provider "aws" {
  access_key                  = "AKIAOFFLINEPLANTEST0"
  secret_key                  = "offline-plan-only"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  allowed_account_ids         = null
}
`

// fixture is the shared, initialised copy of the module.
type fixture struct {
	exec      string // terraform
	pluginDir string
	dir       string // the module copy
	dist      string // dummy packages
	env       map[string]string
	stack     *terraform.Stack
}

var (
	tmpRoot string

	toolsOnce sync.Once
	tfPath    string
	plugins   string
	skipWhy   string

	fixOnce sync.Once
	fix     *fixture
	fixErr  error

	planOnce sync.Once
	plan     *terraform.Plan
	planErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tmpRoot != "" {
		os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}

// tools finds terraform and the provider mirror. Without them the test is
// skipped, except under CI=true, where they are mandatory.
func tools(t testing.TB) (execPath, pluginDir string) {
	t.Helper()
	toolsOnce.Do(func() {
		p, err := exec.LookPath("terraform")
		if err != nil {
			skipWhy = "terraform not found on PATH"
			return
		}
		tfPath = p
		plugins = os.Getenv("TF_PLUGIN_DIR")
		if plugins == "" {
			plugins = defaultPluginDir
		}
		if _, err := os.Stat(filepath.Join(plugins, "registry.terraform.io", "hashicorp", "aws")); err != nil {
			skipWhy = fmt.Sprintf("no AWS provider mirror at %s (set TF_PLUGIN_DIR)", plugins)
		}
	})
	if skipWhy != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %s", skipWhy)
		}
		t.Skip(skipWhy)
	}
	return tfPath, plugins
}

// offlineEnv is terraform's whole environment in the tests: no AWS
// profile or region of the developer's leaks in, and a CLI configuration
// of our own (the machine's TF_CLI_CONFIG_FILE may name a missing file).
func offlineEnv(root string) (map[string]string, error) {
	rc := filepath.Join(root, "terraformrc")
	if err := os.WriteFile(rc, []byte("# offline tests: providers come from -plugin-dir\n"), 0o600); err != nil {
		return nil, err
	}
	return map[string]string{
		"PATH":                      os.Getenv("PATH"),
		"HOME":                      root,
		"TMPDIR":                    os.TempDir(),
		"TF_CLI_CONFIG_FILE":        rc,
		"AWS_EC2_METADATA_DISABLED": "true",
	}, nil
}

// copyModule copies the module's Terraform files (not its Go files, state
// or .terraform) from src to dst.
func copyModule(src, dst string) error {
	for _, pattern := range []string{"*.tf", "env/*.tfvars", "tests/*.tftest.hcl"} {
		files, err := filepath.Glob(filepath.Join(src, pattern))
		if err != nil {
			return err
		}
		for _, f := range files {
			rel, _ := filepath.Rel(src, f)
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dst, rel), data, 0o644); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(dst, "provider_override.tf"), []byte(providerOverride), 0o644)
}

// The portal's route: on its own HTTP API, without an authorizer, served
// by the portal function (lambdas.Portal).
var (
	portalFunction = lambdas.Portal.Function
	portalRouteKey = lambdas.Portal.Key
)

// writeDummyPackages writes dir/<function>.zip for every function: plan
// only hashes them.
func writeDummyPackages(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, fn := range lambdas.Functions() {
		if err := os.WriteFile(filepath.Join(dir, fn+".zip"), []byte("not a real package: "+fn), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// newFixture makes a fresh initialised copy of the module under root, with
// dummy packages at root/dist/lambdas: where the module looks by default,
// as in the repository, so `terraform test` finds them too.
func newFixture(ctx context.Context, execPath, pluginDir, root string, progress io.Writer) (*fixture, error) {
	f := &fixture{exec: execPath, pluginDir: pluginDir, dir: filepath.Join(root, "module"), dist: filepath.Join(root, "dist", "lambdas")}
	if err := copyModule(".", f.dir); err != nil {
		return nil, fmt.Errorf("copy module: %w", err)
	}
	if err := writeDummyPackages(f.dist); err != nil {
		return nil, fmt.Errorf("dummy packages: %w", err)
	}
	env, err := offlineEnv(root)
	if err != nil {
		return nil, err
	}
	f.env = env
	f.stack, err = terraform.New(f.options(progress))
	if err != nil {
		return nil, err
	}
	if err := f.stack.Init(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// options are the Stack options of the offline plan: the development var
// file of the repository, the dummy packages, and an account id so that
// the IAM policies are known at plan time.
func (f *fixture) options(progress io.Writer) terraform.Options {
	return terraform.Options{
		ExecPath:  f.exec,
		Dir:       f.dir,
		PluginDir: f.pluginDir,
		VarFiles:  []string{filepath.Join(f.dir, "env", "dev.tfvars")},
		Vars:      map[string]string{"lambda_dist_dir": f.dist, "account_id": testAccountID},
		Env:       f.env,
		Progress:  progress,
		WaitDelay: 10 * time.Second,
	}
}

// sharedFixture returns the test binary's initialised module copy.
func sharedFixture(t testing.TB) *fixture {
	t.Helper()
	execPath, pluginDir := tools(t)
	fixOnce.Do(func() {
		root, err := os.MkdirTemp("", "tf-offline-")
		if err != nil {
			fixErr = err
			return
		}
		tmpRoot = root
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		fix, fixErr = newFixture(ctx, execPath, pluginDir, root, nil)
	})
	if fixErr != nil {
		t.Fatalf("offline module: %v", fixErr)
	}
	return fix
}

// offlinePlan returns the shared offline plan of the module.
func offlinePlan(t testing.TB) *terraform.Plan {
	t.Helper()
	f := sharedFixture(t)
	planOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		plan, planErr = f.stack.Plan(ctx, tmpRoot, false)
	})
	if planErr != nil {
		t.Fatalf("offline plan: %v", planErr)
	}
	return plan
}

// resources returns the plan's managed resources of one type, by address
// index key ("GET /user", "get_user"; "" for a single resource).
func resources(t testing.TB, p *tfjson.Plan, typ string) map[string]*tfjson.ResourceChange {
	return named(t, p, typ, "")
}

// named is resources restricted to one resource name (aws_lambda_function
// "function"); an empty name takes them all.
func named(t testing.TB, p *tfjson.Plan, typ, name string) map[string]*tfjson.ResourceChange {
	t.Helper()
	m := map[string]*tfjson.ResourceChange{}
	for _, rc := range p.ResourceChanges {
		if rc.Type != typ || rc.Mode != tfjson.ManagedResourceMode || (name != "" && rc.Name != name) {
			continue
		}
		key := ""
		if rc.Index != nil {
			key = fmt.Sprint(rc.Index)
		}
		if _, dup := m[key]; dup {
			t.Fatalf("two %s resources keyed %q: name the one meant", typ, key)
		}
		m[key] = rc
	}
	return m
}

// one returns the planned values of the resource typ.name (not counted).
func one(t testing.TB, p *tfjson.Plan, typ, name string) map[string]any {
	t.Helper()
	rs := named(t, p, typ, name)
	rc, ok := rs[""]
	if len(rs) != 1 || !ok {
		t.Fatalf("%d resources %s.%s in the plan, want 1", len(rs), typ, name)
	}
	return after(t, rc)
}

// unknown reports whether attr of rc is known only after apply.
func unknown(rc *tfjson.ResourceChange, attr string) bool {
	u, _ := rc.Change.AfterUnknown.(map[string]any)
	return u[attr] != nil && u[attr] != false
}

// only returns the one resource of a type.
func only(t testing.TB, p *tfjson.Plan, typ string) map[string]any {
	t.Helper()
	rs := resources(t, p, typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s in the plan, want 1", len(rs), typ)
	}
	for _, rc := range rs {
		return after(t, rc)
	}
	return nil
}

// after returns the planned values of a resource.
func after(t testing.TB, rc *tfjson.ResourceChange) map[string]any {
	t.Helper()
	m, ok := rc.Change.After.(map[string]any)
	if !ok {
		t.Fatalf("%s: planned values are %T", rc.Address, rc.Change.After)
	}
	return m
}

// block returns the first (only) element of a nested block.
func block(t testing.TB, m map[string]any, name string) map[string]any {
	t.Helper()
	l, ok := m[name].([]any)
	if !ok || len(l) == 0 {
		t.Fatalf("block %s missing in %v", name, keys(m))
	}
	b, ok := l[0].(map[string]any)
	if !ok {
		t.Fatalf("block %s is %T", name, l[0])
	}
	return b
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(ks, ",")
}
