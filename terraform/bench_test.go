package terraform_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/usersvc/usersvc/terraform"
)

// BenchmarkOfflinePlan times `portal plan` without init: terraform plan to
// a file and terraform show -json, on the initialised shared copy.
//
//	CI=true go test -run '^$' -bench OfflinePlan -benchtime 3x ./terraform/
func BenchmarkOfflinePlan(b *testing.B) {
	f := sharedFixture(b)
	ctx := context.Background()
	var resources int
	for b.Loop() {
		p, err := f.stack.Plan(ctx, b.TempDir(), false)
		if err != nil {
			b.Fatal(err)
		}
		resources = terraform.Summarize(p.JSON).Count(terraform.Add)
	}
	b.ReportMetric(float64(resources), "resources")
}

// BenchmarkOfflineInitAndPlan times `portal plan` from a fresh copy of the
// module: init from the plugin mirror, plan, show -json.
func BenchmarkOfflineInitAndPlan(b *testing.B) {
	execPath, pluginDir := tools(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		root := filepath.Join(b.TempDir(), strconv.Itoa(i))
		if err := os.MkdirAll(root, 0o755); err != nil {
			b.Fatal(err)
		}
		f, err := newFixture(ctx, execPath, pluginDir, root, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.stack.Plan(ctx, root, false); err != nil {
			b.Fatal(err)
		}
	}
}
