// Package terraform drives the Terraform module in this directory (the
// whole AWS stack) with terraform-exec: init, plan to a file, a short
// human summary of that plan, apply of exactly that plan, and the outputs
// the portal needs.
//
// The module's *.tf files sit next to this package's Go files; Terraform
// ignores the Go files and the Go tool ignores the *.tf files.
//
// Cancellation: every method takes a context and hands it to
// terraform-exec. On cancellation terraform-exec v0.26 sends terraform an
// interrupt (SIGINT), the same as a single Ctrl-C in a terminal: Terraform
// stops starting new operations, waits for those in flight and writes its
// state, so the state is never left half written. terraform-exec runs
// terraform in its own process group, so a terminal's Ctrl-C reaches it
// only through that path, once. If terraform has not exited after the wait
// delay (see Options.WaitDelay) it is killed.
package terraform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
)

// DefaultWaitDelay is how long a cancelled Terraform run may take to stop
// gracefully before it is killed. In-flight AWS operations (a Cognito
// domain, a Lambda update) can take minutes, and killing Terraform before
// they finish loses track of what they created.
const DefaultWaitDelay = 5 * time.Minute

// Options configure a Stack.
type Options struct {
	// ExecPath is the terraform executable.
	ExecPath string
	// Dir is the module directory, Terraform's working directory: state
	// (local by default) and .terraform/ live there.
	Dir string
	// PluginDir, when set, is passed to init as -plugin-dir: providers come
	// from that directory only, never from the registry (offline machines).
	PluginDir string
	// VarFiles are passed to plan as -var-file, in order. Relative paths are
	// taken from the current directory, not from Dir.
	VarFiles []string
	// Vars are passed to plan as -var name=value, after VarFiles, so they
	// take precedence.
	Vars map[string]string
	// Progress receives Terraform's own output while it initialises and
	// applies. Nil discards it. Errors carry Terraform's error output in
	// full either way.
	Progress io.Writer
	// Env, when not nil, is the whole environment of terraform; nil
	// inherits the current process's environment.
	Env map[string]string
	// WaitDelay bounds the graceful stop after cancellation; zero means
	// DefaultWaitDelay.
	WaitDelay time.Duration
}

// Stack is the Terraform module at one directory, run by one terraform
// executable. Its methods must not be called concurrently: Terraform
// itself locks the state, and the streams are shared.
type Stack struct {
	tf   *tfexec.Terraform
	opts Options
}

// Plan is a saved plan: the file apply will carry out, and its JSON form.
type Plan struct {
	// File is the saved plan; apply runs exactly this.
	File string
	// JSON is the plan as `terraform show -json` renders it.
	JSON *tfjson.Plan
	// Destroy tells a destroy plan from a normal one.
	Destroy bool
}

// New returns the Stack of the module in opts.Dir. It checks that the
// executable and the directory exist, and runs nothing yet.
func New(opts Options) (*Stack, error) {
	if opts.ExecPath == "" {
		return nil, errors.New("terraform executable not set")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("module directory: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("module directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("module directory %s is not a directory", dir)
	}
	opts.Dir = dir
	// terraform runs in Dir, so a relative var file would be looked up
	// there; the user meant the current directory.
	files := make([]string, len(opts.VarFiles))
	for i, f := range opts.VarFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("var file %s: %w", f, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("var file: %w", err)
		}
		files[i] = abs
	}
	opts.VarFiles = files

	tf, err := tfexec.NewTerraform(dir, opts.ExecPath)
	if err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	if opts.Env != nil {
		if err := tf.SetEnv(opts.Env); err != nil {
			return nil, fmt.Errorf("terraform environment: %w", err)
		}
	}
	delay := opts.WaitDelay
	if delay == 0 {
		delay = DefaultWaitDelay
	}
	// SetWaitDelay fails only on Windows, where terraform-exec cannot
	// interrupt gracefully and kills instead; the default stands there.
	_ = tf.SetWaitDelay(delay)
	return &Stack{tf: tf, opts: opts}, nil
}

// Dir returns the module directory (absolute).
func (s *Stack) Dir() string { return s.opts.Dir }

// stream sends Terraform's standard output to Progress for the next
// command, or discards it.
func (s *Stack) stream(on bool) {
	if on && s.opts.Progress != nil {
		s.tf.SetStdout(s.opts.Progress)
		return
	}
	s.tf.SetStdout(io.Discard)
}

// Init runs terraform init, from PluginDir when set.
func (s *Stack) Init(ctx context.Context) error {
	var opts []tfexec.InitOption
	if s.opts.PluginDir != "" {
		dir, err := filepath.Abs(s.opts.PluginDir)
		if err != nil {
			return fmt.Errorf("terraform init: plugin directory: %w", err)
		}
		opts = append(opts, tfexec.PluginDir(dir))
	}
	// terraform-exec checks the version before running init, through the
	// same stdout; ask first, quietly, so the progress stream shows only
	// init's own lines (the answer is cached).
	s.stream(false)
	if _, _, err := s.tf.Version(ctx, false); err != nil {
		return fmt.Errorf("terraform version: %w", err)
	}
	s.stream(true)
	defer s.stream(false)
	if err := s.tf.Init(ctx, opts...); err != nil {
		return fmt.Errorf("terraform init in %s: %w", s.opts.Dir, err)
	}
	return nil
}

// Plan runs terraform plan into a file under tmpDir and reads it back as
// JSON. With destroy it plans the destruction of everything in the state.
// The caller removes the file when done (it may hold sensitive values).
func (s *Stack) Plan(ctx context.Context, tmpDir string, destroy bool) (*Plan, error) {
	f, err := os.CreateTemp(tmpDir, "portal-*.tfplan")
	if err != nil {
		return nil, fmt.Errorf("terraform plan: %w", err)
	}
	f.Close()
	file := f.Name()

	opts := []tfexec.PlanOption{tfexec.Out(file), tfexec.Destroy(destroy)}
	for _, vf := range s.opts.VarFiles {
		opts = append(opts, tfexec.VarFile(vf))
	}
	names := make([]string, 0, len(s.opts.Vars))
	for name := range s.opts.Vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		opts = append(opts, tfexec.Var(name+"="+s.opts.Vars[name]))
	}

	step := "terraform plan"
	if destroy {
		step = "terraform plan -destroy"
	}
	s.stream(false)
	if _, err := s.tf.Plan(ctx, opts...); err != nil {
		os.Remove(file)
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	js, err := s.tf.ShowPlanFile(ctx, file)
	if err != nil {
		os.Remove(file)
		return nil, fmt.Errorf("terraform show -json (reading the plan): %w", err)
	}
	return &Plan{File: file, JSON: js, Destroy: destroy}, nil
}

// Apply carries out exactly the saved plan p, streaming Terraform's
// progress.
func (s *Stack) Apply(ctx context.Context, p *Plan) error {
	s.stream(true)
	defer s.stream(false)
	if err := s.tf.Apply(ctx, tfexec.DirOrPlan(p.File)); err != nil {
		if p.Destroy {
			return fmt.Errorf("terraform apply (destroy plan): %w", err)
		}
		return fmt.Errorf("terraform apply: %w", err)
	}
	return nil
}

// Outputs returns the module's outputs from the state, sensitive ones
// included.
func (s *Stack) Outputs(ctx context.Context) (map[string]tfexec.OutputMeta, error) {
	s.stream(false)
	out, err := s.tf.Output(ctx)
	if err != nil {
		return nil, fmt.Errorf("terraform output: %w", err)
	}
	return out, nil
}
