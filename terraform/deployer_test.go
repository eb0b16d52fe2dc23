package terraform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/usersvc/usersvc/terraform"
)

// recorder is a terraform.Runner that plans for real (the shared offline
// plan, or a destroy plan from a fake) and records the rest: apply cannot
// run without AWS.
type recorder struct {
	t        *testing.T
	calls    []string
	plan     *terraform.Plan // nil: the shared offline plan
	applied  *terraform.Plan
	applyErr error
}

func (r *recorder) Init(ctx context.Context) error {
	r.calls = append(r.calls, "init")
	return nil
}

func (r *recorder) Plan(ctx context.Context, dir string, destroy bool) (*terraform.Plan, error) {
	r.calls = append(r.calls, "plan")
	if r.plan != nil {
		return r.plan, nil
	}
	return offlinePlan(r.t), nil
}

func (r *recorder) Apply(ctx context.Context, p *terraform.Plan) error {
	r.calls = append(r.calls, "apply")
	r.applied = p
	return r.applyErr
}

func (r *recorder) Outputs(ctx context.Context) (map[string]tfexec.OutputMeta, error) {
	r.calls = append(r.calls, "outputs")
	return stackOutputs(), nil
}

func stackOutputs() map[string]tfexec.OutputMeta {
	str := func(s string) tfexec.OutputMeta {
		v, _ := json.Marshal(s)
		return tfexec.OutputMeta{Value: v, Type: json.RawMessage(`"string"`)}
	}
	secret := str("s3cr3t")
	secret.Sensitive = true
	return map[string]tfexec.OutputMeta{
		"region":         str("eu-west-1"),
		"issuer":         str("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"),
		"user_pool_id":   str("eu-west-1_abc"),
		"client_id":      str("client123"),
		"client_secret":  secret,
		"hosted_ui_url":  str("https://usersvc-dev.auth.eu-west-1.amazoncognito.com"),
		"api_url":        str("https://abc.execute-api.eu-west-1.amazonaws.com"),
		"table_name":     str("AppDummy"),
		"portal_url":     str("https://p0r7a1.execute-api.eu-west-1.amazonaws.com"),
		"function_names": {Value: json.RawMessage(`{"get_user":"usersvc-get_user"}`)},
	}
}

func answer(yes bool, err error) func(context.Context, string) (bool, error) {
	return func(context.Context, string) (bool, error) { return yes, err }
}

func TestDeploy(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name        string
		confirm     func(context.Context, string) (bool, error)
		autoApprove bool
		applyErr    error
		wantErr     error
		wantCalls   string
	}{
		{"approved", answer(true, nil), false, nil, nil, "build init plan apply outputs"},
		{"declined", answer(false, nil), false, nil, terraform.ErrDeclined, "build init plan"},
		{"prompt fails", answer(false, boom), false, nil, boom, "build init plan"},
		{"auto-approve asks nobody", nil, true, nil, nil, "build init plan apply outputs"},
		{"auto-approve wins over a prompt", answer(false, nil), true, nil, nil, "build init plan apply outputs"},
		{"nobody to ask: refuse before building", nil, false, nil, terraform.ErrNeedsApproval, ""},
		{"apply fails", answer(true, nil), false, boom, boom, "build init plan apply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{t: t, applyErr: tt.applyErr}
			var out bytes.Buffer
			d := &terraform.Deployer{
				Stack:       rec,
				Build:       func(context.Context) error { rec.calls = append(rec.calls, "build"); return nil },
				Confirm:     tt.confirm,
				AutoApprove: tt.autoApprove,
				Out:         &out,
			}
			cfg, err := d.Deploy(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Deploy error = %v, want %v", err, tt.wantErr)
			}
			if got := strings.Join(rec.calls, " "); got != tt.wantCalls {
				t.Errorf("calls %q, want %q", got, tt.wantCalls)
			}
			if tt.wantCalls != "" && !strings.Contains(out.String(), "Plan: ") {
				t.Errorf("the summary was not shown before asking:\n%s", out.String())
			}
			if tt.wantErr == nil {
				if rec.applied != offlinePlan(t) {
					t.Error("applied another plan than the one shown")
				}
				if cfg.ClientSecret != "s3cr3t" || cfg.APIURL == "" || cfg.Issuer == "" {
					t.Errorf("config %+v", cfg)
				}
			}
		})
	}
}

func TestDeployBuildFails(t *testing.T) {
	rec := &recorder{t: t}
	d := &terraform.Deployer{Stack: rec, AutoApprove: true, Out: io.Discard,
		Build: func(context.Context) error { return errors.New("go build failed") }}
	if _, err := d.Deploy(context.Background()); err == nil || !strings.Contains(err.Error(), "go build failed") {
		t.Fatalf("Deploy error = %v", err)
	}
	if len(rec.calls) != 0 {
		t.Errorf("ran %v after a failed build", rec.calls)
	}
}

func TestDestroy(t *testing.T) {
	empty := &terraform.Plan{Destroy: true, JSON: nil}
	tests := []struct {
		name      string
		plan      *terraform.Plan
		confirm   func(context.Context, string) (bool, error)
		wantErr   error
		wantCalls string
	}{
		{"approved", nil, answer(true, nil), nil, "build init plan apply"},
		{"declined", nil, answer(false, nil), terraform.ErrDeclined, "build init plan"},
		{"nothing to destroy: no question", empty, nil, terraform.ErrNeedsApproval, ""},
		{"nothing to destroy", empty, answer(false, nil), nil, "build init plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{t: t, plan: tt.plan}
			d := &terraform.Deployer{Stack: rec, Confirm: tt.confirm, Out: io.Discard,
				Build: func(context.Context) error { rec.calls = append(rec.calls, "build"); return nil }}
			_, err := d.Destroy(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Destroy error = %v, want %v", err, tt.wantErr)
			}
			if got := strings.Join(rec.calls, " "); got != tt.wantCalls {
				t.Errorf("calls %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

func TestPrompt(t *testing.T) {
	tests := []struct {
		input string
		want  bool
	}{
		{"yes\n", true},
		{"  yes  \n", true},
		{"yes", true}, // end of input right after the answer
		{"y\n", false},
		{"YES\n", false},
		{"no\n", false},
		{"\n", false},
		{"", false}, // stdin closed: no approval
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			var w bytes.Buffer
			got, err := terraform.Prompt(strings.NewReader(tt.input), &w)(context.Background(), "Deploy?")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("answer %q approved = %v, want %v", tt.input, got, tt.want)
			}
			if !strings.Contains(w.String(), "Deploy?") || !strings.Contains(w.String(), "Only 'yes'") {
				t.Errorf("prompt %q", w.String())
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		_, err := terraform.Prompt(iotest.ErrReader(errors.New("tty gone")), io.Discard)(context.Background(), "?")
		if err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		r, w := io.Pipe()
		defer w.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := terraform.Prompt(r, io.Discard)(ctx, "?")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v", err)
		}
	})
}

// TestDeployerPlanOffline runs `portal plan`'s whole path with a real
// Stack: init from the plugin mirror (on the shared copy, already
// initialised once), plan, show -json, summary.
func TestDeployerPlanOffline(t *testing.T) {
	f := sharedFixture(t)
	var progress bytes.Buffer
	st, err := terraform.New(f.options(&progress))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	builds := 0
	var out bytes.Buffer
	d := &terraform.Deployer{Stack: st, Out: &out, Build: func(context.Context) error { builds++; return nil }}
	s, err := d.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if builds != 1 {
		t.Errorf("built %d times", builds)
	}
	if s.Count(terraform.Add) == 0 || !strings.Contains(out.String(), "Plan: ") {
		t.Errorf("summary:\n%s", out.String())
	}
	if !strings.Contains(progress.String(), "Terraform has been successfully initialized") {
		t.Errorf("init progress not streamed:\n%s", progress.String())
	}
	if strings.Contains(progress.String(), "terraform_version") {
		t.Errorf("terraform-exec's version check leaked into the progress stream:\n%s", progress.String())
	}
	if _, err := os.Stat(filepath.Join(f.dir, "terraform.tfstate")); err == nil {
		t.Error("plan wrote a state file")
	}
}

// TestPlanErrorNamesStep checks that a failing Terraform run reports the
// step and Terraform's own message in full.
func TestPlanErrorNamesStep(t *testing.T) {
	f := sharedFixture(t)
	opts := f.options(nil)
	opts.Vars = map[string]string{"lambda_dist_dir": filepath.Join(t.TempDir(), "missing"), "account_id": testAccountID}
	st, err := terraform.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = st.Plan(ctx, t.TempDir(), false)
	if err == nil {
		t.Fatal("plan without packages succeeded")
	}
	for _, s := range []string{"terraform plan", "Error", "get_user.zip"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %v", s, err)
		}
	}
}

func TestConfigFile(t *testing.T) {
	cfg, err := terraform.ConfigFromOutputs(stackOutputs())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), ".local", "aws.json")
	if err := terraform.WriteConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %v, want 0600", perm)
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
	got, err := terraform.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != cfg {
		t.Errorf("round trip: %+v, want %+v", got, cfg)
	}
	// Overwriting a widened file narrows it again.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := terraform.LoadConfig(path); err == nil {
		t.Error("loaded a world-readable secret file")
	}
	if err := terraform.WriteConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after rewrite %v", fi.Mode().Perm())
	}
}

func TestConfigFromOutputsMissing(t *testing.T) {
	outs := stackOutputs()
	delete(outs, "client_secret")
	outs["api_url"] = tfexec.OutputMeta{Value: json.RawMessage(`42`)}
	_, err := terraform.ConfigFromOutputs(outs)
	if err == nil || !strings.Contains(err.Error(), "client_secret missing") || !strings.Contains(err.Error(), "api_url") {
		t.Fatalf("error = %v", err)
	}
}

// TestCancelInterruptsTerraform cancels a running `portal plan`, as Ctrl-C
// does: the operator is told once that Terraform is stopping,
// terraform-exec interrupts terraform, which stops and exits, and the error
// says the run was cancelled.
func TestCancelInterruptsTerraform(t *testing.T) {
	f := sharedFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	start := time.Now()
	told := 0
	d := &terraform.Deployer{Stack: f.stack, Out: io.Discard, Interrupted: func() { told++ }}
	_, err := d.Plan(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("plan error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("terraform took %v to stop after the interrupt", d)
	}
	if told != 1 {
		t.Errorf("told the operator %d times that Terraform was stopping, want 1", told)
	}
	if _, err := os.Stat(filepath.Join(f.dir, ".terraform.tfstate.lock.info")); err == nil {
		t.Error("the state lock was left behind")
	}
}
