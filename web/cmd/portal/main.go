// Command portal is the project's one binary: the web portal, the local
// identity provider, the local HTTP API, the whole offline stack at once,
// and the Terraform driver for the AWS stack.
//
// Usage:
//
//	portal <command> [flags]
//
// Run "portal <command> -h" for the flags of each command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand. run gets the arguments after the command name,
// the environment lookup and the output streams, so whole programs are
// testable without touching process globals.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"dev", "run the whole stack offline: portal, identity provider, HTTP API", runDev},
	{"idp", "run the local identity provider (a Cognito twin) alone", runIDP},
	{"api", "run the HTTP API: gateway, JWT authorizer, handlers and store", runAPI},
	{"serve", "run the portal alone against any OIDC issuer and API (AWS included)", runServe},
	{"admin", "administer accounts over Cognito's API (AWS or the local provider)", runAdmin},
	{"token", "sign in against an identity provider and print tokens (for curl)", runToken},
	{"plan", "show what Terraform would change in AWS", runPlan},
	{"deploy", "build the Lambda packages and apply the Terraform module", runDeploy},
	{"destroy", "destroy the AWS stack", runDestroy},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal asks for a clean stop; once it has come, signals get
	// their default effect again, so a second Ctrl-C ends the process at
	// once if the clean stop takes too long.
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // asked for help, and got it
		}
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return flag.ErrHelp
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: portal <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"portal <command> -h\" for its flags.")
}
