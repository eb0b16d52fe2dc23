package terraform_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/usersvc/usersvc/terraform"
)

// stopping is a Runner whose step named by cancelIn cancels the workflow
// and then, as terraform does after an interrupt, keeps running until the
// operator has been told (or a second passes) before it returns. With
// finish, the step completes despite the cancellation, as a step that was
// already done does.
type stopping struct {
	cancelIn string
	finish   bool
	cancel   context.CancelFunc
	told     chan struct{}
	early    atomic.Bool // the notice came before the step stopped
}

func (s *stopping) step(ctx context.Context, name string) error {
	if name != s.cancelIn {
		return ctx.Err()
	}
	s.cancel()
	select {
	case <-s.told:
		s.early.Store(true)
	case <-time.After(time.Second):
	}
	if s.finish {
		return nil
	}
	return ctx.Err()
}

func (s *stopping) Init(ctx context.Context) error { return s.step(ctx, "init") }

func (s *stopping) Plan(ctx context.Context, dir string, destroy bool) (*terraform.Plan, error) {
	if err := s.step(ctx, "plan"); err != nil {
		return nil, err
	}
	return offlinePlanFor(destroy), nil
}

func (s *stopping) Apply(ctx context.Context, p *terraform.Plan) error { return s.step(ctx, "apply") }

func (s *stopping) Outputs(ctx context.Context) (map[string]tfexec.OutputMeta, error) {
	if err := s.step(ctx, "outputs"); err != nil {
		return nil, err
	}
	return stackOutputs(), nil
}

// offlinePlanFor is a plan with one change: the deploy adds a function,
// the destroy removes it.
func offlinePlanFor(destroy bool) *terraform.Plan {
	a := tfjson.ActionCreate
	if destroy {
		a = tfjson.ActionDelete
	}
	return &terraform.Plan{Destroy: destroy, JSON: &tfjson.Plan{
		ResourceChanges: []*tfjson.ResourceChange{change("aws_lambda_function", "function", a)},
	}}
}

// TestInterruptedWhileTerraformRuns checks when the Deployer tells the
// operator that Terraform is stopping: as soon as the context is cancelled
// during a Terraform step, before the step returns, once; never for a
// cancellation while building or asking, where there is no Terraform to
// wait for.
func TestInterruptedWhileTerraformRuns(t *testing.T) {
	tests := []struct {
		name      string
		workflow  string // plan, deploy, destroy
		cancelIn  string // the step that cancels: build, init, plan, confirm, apply, outputs
		finish    bool
		wantCalls int32
	}{
		{"plan: during init", "plan", "init", false, 1},
		{"plan: during plan", "plan", "plan", false, 1},
		{"plan: during build", "plan", "build", false, 0},
		{"plan: not cancelled", "plan", "", false, 0},
		{"deploy: while asking", "deploy", "confirm", false, 0},
		{"deploy: during apply", "deploy", "apply", false, 1},
		{"deploy: during outputs", "deploy", "outputs", false, 1},
		{"deploy: init done anyway, then plan", "deploy", "init", true, 1},
		{"destroy: during plan", "destroy", "plan", false, 1},
		{"destroy: while asking", "destroy", "confirm", false, 0},
		{"destroy: during apply", "destroy", "apply", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st := &stopping{cancelIn: tt.cancelIn, finish: tt.finish, cancel: cancel, told: make(chan struct{})}
			var calls atomic.Int32
			d := &terraform.Deployer{
				Stack: st,
				Out:   io.Discard,
				Build: func(ctx context.Context) error {
					if tt.cancelIn == "build" {
						cancel()
						return ctx.Err()
					}
					return nil
				},
				Confirm: func(ctx context.Context, _ string) (bool, error) {
					if tt.cancelIn == "confirm" {
						cancel()
						return false, ctx.Err()
					}
					return true, nil
				},
				Interrupted: func() {
					if calls.Add(1) == 1 {
						close(st.told)
					}
				},
			}
			var err error
			switch tt.workflow {
			case "plan":
				_, err = d.Plan(ctx)
			case "deploy":
				_, err = d.Deploy(ctx)
			case "destroy":
				_, err = d.Destroy(ctx)
			}
			if tt.cancelIn == "" {
				if err != nil {
					t.Fatalf("error = %v", err)
				}
			} else if !errors.Is(err, context.Canceled) {
				t.Fatalf("error = %v, want context.Canceled", err)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("Interrupted called %d times, want %d", got, tt.wantCalls)
			}
			if tt.wantCalls > 0 && !tt.finish && !st.early.Load() {
				t.Error("the operator was told only after Terraform had stopped")
			}
		})
	}
}
