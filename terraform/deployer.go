package terraform

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
)

// ErrDeclined is returned when the operator does not approve a plan.
var ErrDeclined = errors.New("plan not approved; nothing was changed")

// ErrNeedsApproval is returned when a change needs approval and there is no
// way to ask: no Confirm function and no AutoApprove.
var ErrNeedsApproval = errors.New("approval required: run from a terminal to be asked, or pass -auto-approve")

// ErrProtected is returned, wrapped with the resources concerned, when a
// destroy plan would delete a resource whose deletion protection is on.
var ErrProtected = errors.New("destroy refused: deletion protection is on")

// Runner is the part of Stack the Deployer uses.
type Runner interface {
	Init(ctx context.Context) error
	Plan(ctx context.Context, tmpDir string, destroy bool) (*Plan, error)
	Apply(ctx context.Context, p *Plan) error
	Outputs(ctx context.Context) (map[string]tfexec.OutputMeta, error)
}

var _ Runner = (*Stack)(nil)

// Deployer runs the three operator workflows (plan, deploy, destroy) on a
// stack: build the function packages, init, plan, show the summary, ask,
// apply.
type Deployer struct {
	// Stack runs Terraform.
	Stack Runner
	// Build makes the function packages the module uploads (bundle.Build in
	// the portal). Nil skips it, for packages built beforehand.
	Build func(ctx context.Context) error
	// Confirm asks the operator a yes/no question. Nil means nobody can be
	// asked; then a change needs AutoApprove.
	Confirm func(ctx context.Context, question string) (bool, error)
	// AutoApprove applies without asking.
	AutoApprove bool
	// Out receives the summary and results; nil discards them.
	Out io.Writer
	// Interrupted, when set, is called if the context is cancelled while
	// Terraform runs (not while building or asking), at most once per
	// Plan, Deploy or Destroy. Terraform is then still stopping, which can
	// take minutes: the caller can say so. It is called on a goroutine of
	// its own and has returned before the interrupted step does.
	Interrupted func()
}

// watched is the Stack of one workflow: it calls notify, once, if the
// context is cancelled while a Terraform step runs.
type watched struct {
	Runner
	notify func()
	once   sync.Once
}

// watch returns the Stack for one Plan, Deploy or Destroy.
func (d *Deployer) watch() *watched {
	return &watched{Runner: d.Stack, notify: d.Interrupted}
}

func (w *watched) step(ctx context.Context, run func() error) error {
	if w.notify == nil {
		return run()
	}
	called := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(called)
		w.once.Do(w.notify)
	})
	err := run()
	if !stop() {
		<-called // started: let it finish before the step's error is reported
	}
	return err
}

func (w *watched) Init(ctx context.Context) error {
	return w.step(ctx, func() error { return w.Runner.Init(ctx) })
}

func (w *watched) Plan(ctx context.Context, tmpDir string, destroy bool) (p *Plan, err error) {
	err = w.step(ctx, func() error {
		p, err = w.Runner.Plan(ctx, tmpDir, destroy)
		return err
	})
	return p, err
}

func (w *watched) Apply(ctx context.Context, p *Plan) error {
	return w.step(ctx, func() error { return w.Runner.Apply(ctx, p) })
}

func (w *watched) Outputs(ctx context.Context) (outs map[string]tfexec.OutputMeta, err error) {
	err = w.step(ctx, func() error {
		outs, err = w.Runner.Outputs(ctx)
		return err
	})
	return outs, err
}

func (d *Deployer) out() io.Writer {
	if d.Out == nil {
		return io.Discard
	}
	return d.Out
}

// prepare builds the packages and initialises the module.
func (d *Deployer) prepare(ctx context.Context, st Runner) error {
	if d.Build != nil {
		fmt.Fprintln(d.out(), "Building the Lambda packages...")
		if err := d.Build(ctx); err != nil {
			return err
		}
	}
	return st.Init(ctx)
}

// plan prepares, plans and prints the summary. The caller removes dir.
func (d *Deployer) plan(ctx context.Context, st Runner, dir string, destroy bool) (*Plan, Summary, error) {
	if err := d.prepare(ctx, st); err != nil {
		return nil, Summary{}, err
	}
	p, err := st.Plan(ctx, dir, destroy)
	if err != nil {
		return nil, Summary{}, err
	}
	s := Summarize(p.JSON)
	if err := s.Write(d.out()); err != nil {
		return nil, Summary{}, err
	}
	return p, s, nil
}

// Plan builds, plans and prints the summary; it changes nothing.
func (d *Deployer) Plan(ctx context.Context) (Summary, error) {
	dir, err := os.MkdirTemp("", "portal-plan-")
	if err != nil {
		return Summary{}, fmt.Errorf("plan: %w", err)
	}
	defer os.RemoveAll(dir)
	_, s, err := d.plan(ctx, d.watch(), dir, false)
	return s, err
}

// Deploy builds, plans, prints the summary, asks (unless AutoApprove),
// applies exactly the plan shown, and returns the stack's configuration
// from the outputs. A plan with no changes is not applied, and the outputs
// are still read, so Deploy also refreshes a lost .local/aws.json.
func (d *Deployer) Deploy(ctx context.Context) (AWSConfig, error) {
	if err := d.canApprove(); err != nil {
		return AWSConfig{}, err
	}
	dir, err := os.MkdirTemp("", "portal-deploy-")
	if err != nil {
		return AWSConfig{}, fmt.Errorf("deploy: %w", err)
	}
	defer os.RemoveAll(dir)
	st := d.watch()
	p, s, err := d.plan(ctx, st, dir, false)
	if err != nil {
		return AWSConfig{}, err
	}
	if !s.Empty() || len(s.Outputs) > 0 {
		if err := d.approve(ctx, "Deploy these changes to AWS?"); err != nil {
			return AWSConfig{}, err
		}
		if err := st.Apply(ctx, p); err != nil {
			return AWSConfig{}, err
		}
	}
	outs, err := st.Outputs(ctx)
	if err != nil {
		return AWSConfig{}, err
	}
	return ConfigFromOutputs(outs)
}

// Destroy builds (the module hashes the packages even to plan a destroy),
// plans the destruction, prints the summary, asks (unless AutoApprove) and
// applies it. It returns the summary of what it destroyed, empty when
// there was nothing to destroy. A plan that would delete a resource with
// deletion protection on is refused with ErrProtected before asking, even
// with AutoApprove.
func (d *Deployer) Destroy(ctx context.Context) (Summary, error) {
	if err := d.canApprove(); err != nil {
		return Summary{}, err
	}
	dir, err := os.MkdirTemp("", "portal-destroy-")
	if err != nil {
		return Summary{}, fmt.Errorf("destroy: %w", err)
	}
	defer os.RemoveAll(dir)
	st := d.watch()
	p, s, err := d.plan(ctx, st, dir, true)
	if err != nil || s.Empty() {
		return s, err
	}
	// AWS refuses to delete a protected user pool or table, but only when
	// Terraform reaches it, after the API, functions and bucket are gone:
	// refuse up front rather than leave half a stack.
	if addrs := Protected(p.JSON); len(addrs) > 0 {
		them := "them"
		if len(addrs) == 1 {
			them = "it"
		}
		return Summary{}, fmt.Errorf("%w for %s, so AWS would refuse to delete %s after destroying the rest of the stack; "+
			"to destroy the stack, set deletion_protection = false in your var file, run `portal deploy` to turn the protection off, "+
			"then `portal destroy` again (nothing was changed)", ErrProtected, strings.Join(addrs, " and "), them)
	}
	if err := d.approve(ctx, "Destroy these resources? This cannot be undone."); err != nil {
		return Summary{}, err
	}
	if err := st.Apply(ctx, p); err != nil {
		return Summary{}, err
	}
	return s, nil
}

// deletionProtected tells, per resource type, whether a resource's values
// (as the state holds them) have AWS's deletion protection on.
var deletionProtected = map[string]func(values map[string]any) bool{
	"aws_cognito_user_pool": func(v map[string]any) bool { return v["deletion_protection"] == "ACTIVE" },
	"aws_dynamodb_table":    func(v map[string]any) bool { return v["deletion_protection_enabled"] == true },
}

// Protected returns the addresses, sorted, of the resources the plan
// deletes (destroys or replaces) although their deletion protection is on
// in their current values: AWS would refuse those deletions at apply.
func Protected(p *tfjson.Plan) []string {
	if p == nil {
		return nil
	}
	var addrs []string
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		on, ok := deletionProtected[rc.Type]
		if !ok || !slices.Contains(rc.Change.Actions, tfjson.ActionDelete) {
			continue
		}
		if before, ok := rc.Change.Before.(map[string]any); ok && on(before) {
			addrs = append(addrs, rc.Address)
		}
	}
	slices.Sort(addrs)
	return addrs
}

// canApprove fails early, before any building or planning, when a change
// could never be approved.
func (d *Deployer) canApprove() error {
	if !d.AutoApprove && d.Confirm == nil {
		return ErrNeedsApproval
	}
	return nil
}

func (d *Deployer) approve(ctx context.Context, question string) error {
	if d.AutoApprove {
		return nil
	}
	if d.Confirm == nil {
		return ErrNeedsApproval
	}
	ok, err := d.Confirm(ctx, question)
	if err != nil {
		return fmt.Errorf("ask for approval: %w", err)
	}
	if !ok {
		return ErrDeclined
	}
	return nil
}

// Prompt returns a Confirm function that writes the question to w and reads
// the answer, one line, from r. As with Terraform's own prompt, only "yes"
// approves. A cancelled context ends the wait (the pending read is
// abandoned, which is fine for a process about to exit).
func Prompt(r io.Reader, w io.Writer) func(ctx context.Context, question string) (bool, error) {
	br := bufio.NewReader(r)
	return func(ctx context.Context, question string) (bool, error) {
		fmt.Fprintf(w, "\n%s\n  Only 'yes' will be accepted.\n\n  Enter a value: ", question)
		type answer struct {
			line string
			err  error
		}
		ch := make(chan answer, 1)
		go func() {
			line, err := br.ReadString('\n')
			ch <- answer{line, err}
		}()
		select {
		case <-ctx.Done():
			fmt.Fprintln(w)
			return false, ctx.Err()
		case a := <-ch:
			fmt.Fprintln(w)
			// End of input without "yes" is no approval, not an error.
			if a.err != nil && !errors.Is(a.err, io.EOF) {
				return false, a.err
			}
			return strings.TrimSpace(a.line) == "yes", nil
		}
	}
}
