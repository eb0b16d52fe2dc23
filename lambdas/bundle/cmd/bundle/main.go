// Command bundle builds the Lambda deployment packages (`make lambdas`) and
// prints each zip's size and SHA-256.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/usersvc/usersvc/lambdas/bundle"
)

func main() {
	out := flag.String("o", "dist/lambdas", "directory for the zips")
	root := flag.String("C", ".", "root of the Go module")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	arts, err := bundle.Build(ctx, *root, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bundle:", err)
		os.Exit(1)
	}
	for _, a := range arts {
		fmt.Printf("%-40s %9d bytes  sha256:%s\n", a.Path, a.Size, a.SHA256)
	}
}
