package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestEveryCommandTakesHelp checks the contract scripts rely on: every
// subcommand answers -h with its usage and flag.ErrHelp, and starts nothing.
func TestEveryCommandTakesHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{c.name, "-h"}, func(string) string { return "" }, &out, &errOut)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("portal %s -h: err = %v, want flag.ErrHelp", c.name, err)
			}
			if !strings.Contains(errOut.String(), "-") {
				t.Errorf("portal %s -h printed no flags: %q", c.name, errOut.String())
			}
		})
	}
}

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		help    bool
	}{
		{name: "no command", args: nil, wantErr: "no command given"},
		{name: "unknown", args: []string{"launch"}, wantErr: `unknown command "launch"`},
		{name: "help", args: []string{"help"}, help: true},
		{name: "-h", args: []string{"-h"}, help: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return "" }, &bytes.Buffer{}, &errOut)
			switch {
			case tt.help && !errors.Is(err, flag.ErrHelp):
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			case !tt.help && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			for _, c := range commands {
				if !strings.Contains(errOut.String(), c.name) {
					t.Errorf("usage does not list %q:\n%s", c.name, errOut.String())
				}
			}
		})
	}
}
