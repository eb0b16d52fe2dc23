package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/mattn/go-isatty"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/lambdas/bundle"
	"github.com/usersvc/usersvc/terraform"
)

// The Terraform driver: `portal plan`, `portal deploy` and `portal destroy`
// build the Lambda packages and run the module in terraform/ through
// terraform-exec (package terraform). Ctrl-C cancels the context, which
// terraform-exec turns into one interrupt to terraform: it finishes what is
// in flight and saves its state before exiting, which can take minutes.
// main stops catching signals after the first, so a second Ctrl-C ends the
// portal at once; terraform, in a process group of its own, does not get
// that one.

func runPlan(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	d, _, err := newDeployer("plan", args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	_, err = d.Plan(ctx)
	return d.explain(err)
}

func runDeploy(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	d, out, err := newDeployer("deploy", args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	cfg, err := d.Deploy(ctx)
	if err != nil {
		return d.explain(err)
	}
	if err := terraform.WriteConfig(out, cfg); err != nil {
		return err
	}
	return writeDeployed(stdout, cfg, out)
}

// writeDeployed tells the operator what deploy made: the portal's URL
// first, how to sign in there, how to make the first admin (nobody is in
// admins after a first deploy), and where the configuration went.
func writeDeployed(w io.Writer, cfg terraform.AWSConfig, configPath string) error {
	_, err := fmt.Fprintf(w, `
The stack is up.
  Portal:     %[1]s
  API:        %[2]s
  Hosted UI:  %[3]s/login
  Issuer:     %[4]s
  Client id:  %[5]s
  Table:      %[6]s (%[7]s)

Open the portal at %[1]s and choose "Sign in": Cognito's Hosted UI signs you
in (or signs you up; confirm the address through the link it mails) and
sends you back to the portal.

Nobody is an admin yet. Once your account exists, put it in the admins group:
  portal admin grant EMAIL
(or have the account made an admin from the start: portal admin invite EMAIL -admin)
or, with the AWS CLI:
  aws cognito-idp admin-add-user-to-group --region %[7]s --user-pool-id %[8]s --group-name %[9]s --username EMAIL
then sign out of the portal and in again: the group reaches your session with
your next sign-in.

The portal's configuration, client secret included, is in %[10]s (mode 0600).
To run a portal on this machine against the stack instead (its callback URL
must be among the module's callback_urls):
  PORTAL_CLIENT_SECRET=... portal serve -issuer %[4]s -client-id %[5]s -api-url %[2]s
`, cfg.PortalURL, cfg.APIURL, cfg.HostedUIURL, cfg.Issuer, cfg.ClientID, cfg.TableName, cfg.Region,
		cfg.UserPoolID, api.AdminGroup, configPath)
	return err
}

func runDestroy(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	d, _, err := newDeployer("destroy", args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	s, err := d.Destroy(ctx)
	if err != nil {
		return d.explain(err)
	}
	if s.Empty() {
		fmt.Fprintln(stdout, "Nothing to destroy.")
		return nil
	}
	fmt.Fprintln(stdout, "The stack is destroyed.")
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// deployer is a terraform.Deployer that remembers whether Terraform was
// interrupted, to explain a cancellation.
type deployer struct {
	*terraform.Deployer
	stopped atomic.Bool // cancelled while Terraform ran
}

// newDeployer parses the flags of one of the three commands and wires a
// terraform.Deployer. It also returns the -out path (deploy only).
func newDeployer(name string, args []string, getenv func(string) string, stdout, stderr io.Writer) (*deployer, string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var varFiles stringList
	fs.Var(&varFiles, "var-file", "Terraform variables file, such as terraform/env/dev.tfvars (repeatable)")
	tfPath := fs.String("terraform", "", "terraform executable (default: terraform on PATH)")
	pluginDir := fs.String("plugin-dir", getenv("TF_PLUGIN_DIR"), "directory of provider plugins for init, for offline machines (default $TF_PLUGIN_DIR)")
	dir := fs.String("dir", "terraform", "the Terraform module directory (state is kept there)")
	dist := fs.String("dist", "", "directory of the Lambda packages (default dist/lambdas beside the module directory)")
	build := fs.Bool("build", true, "build the Lambda packages first; -build=false uses those already in -dist")
	var autoApprove *bool
	if name != "plan" {
		autoApprove = fs.Bool("auto-approve", false, "apply without asking")
	}
	out := ".local/aws.json"
	if name == "deploy" {
		fs.StringVar(&out, "out", out, "where to write the portal's AWS configuration (mode 0600, holds the client secret)")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: portal %s [flags]\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return nil, "", fmt.Errorf("%s: unexpected arguments %q", name, fs.Args())
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	exe := *tfPath
	if exe == "" {
		p, err := exec.LookPath("terraform")
		if err != nil {
			return nil, "", errors.New("terraform not found on PATH: install Terraform 1.5 or later, or pass -terraform")
		}
		exe = p
	}
	moduleDir, err := filepath.Abs(*dir)
	if err != nil {
		return nil, "", err
	}
	// The repository's layout: terraform/ sits at the root of the Go
	// module whose lambdas/ it deploys, and `make lambdas` writes to
	// dist/lambdas there.
	root := filepath.Dir(moduleDir)
	distDir := *dist
	if distDir == "" {
		distDir = filepath.Join(root, "dist", "lambdas")
	}
	if distDir, err = filepath.Abs(distDir); err != nil {
		return nil, "", err
	}

	st, err := terraform.New(terraform.Options{
		ExecPath:  exe,
		Dir:       moduleDir,
		PluginDir: *pluginDir,
		VarFiles:  varFiles,
		Vars:      map[string]string{"lambda_dist_dir": distDir},
		Progress:  stderr,
	})
	if err != nil {
		return nil, "", err
	}
	d := &deployer{Deployer: &terraform.Deployer{Stack: st, Out: stdout}}
	// On a terminal the Ctrl-C is echoed as ^C with no line end: start
	// the notice on a line of its own.
	lead := ""
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		lead = "\n"
	}
	d.Interrupted = func() {
		d.stopped.Store(true)
		fmt.Fprint(stderr, lead+"interrupted: waiting for Terraform to stop cleanly (Ctrl-C again to abandon it)\n")
	}
	if *build {
		d.Build = func(ctx context.Context) error {
			arts, err := bundle.Build(ctx, root, distDir)
			if err != nil {
				return err
			}
			for _, a := range arts {
				log.Info("lambda package", "function", a.Function, "path", a.Path, "bytes", a.Size, "sha256", a.SHA256)
			}
			return nil
		}
	}
	if autoApprove != nil {
		d.AutoApprove = *autoApprove
		if !d.AutoApprove {
			// Asking needs a person at a terminal; a pipe or CI job gets a
			// clear refusal before anything is built.
			if !isTerminal(os.Stdin) {
				return nil, "", fmt.Errorf("%s: standard input is not a terminal, so nobody can approve the plan; review it with `portal plan`, then pass -auto-approve", name)
			}
			d.Confirm = terraform.Prompt(os.Stdin, stdout)
		}
	}
	return d, out, nil
}

// isTerminal reports whether f is a terminal. (A character device is not
// enough: /dev/null is one too.)
func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// explain says what a cancellation left behind: when Terraform was
// running, it was interrupted, not killed, so its state is consistent;
// otherwise (building, asking) Terraform changed nothing.
func (d *deployer) explain(err error) error {
	if !errors.Is(err, context.Canceled) {
		return err
	}
	if d.stopped.Load() {
		return fmt.Errorf("interrupted; Terraform stopped after its in-flight operations and saved its state: %w", err)
	}
	return fmt.Errorf("interrupted before Terraform changed anything: %w", err)
}
