package terraform

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// AWSConfig is what the portal needs to run against the deployed stack
// (`portal serve -issuer ... -client-id ... -api-url ...`), and where the
// deployed portal is. Deploy writes it as JSON to .local/aws.json, mode
// 0600, since it holds the client secret.
type AWSConfig struct {
	Region       string `json:"region"`
	Issuer       string `json:"issuer"`
	UserPoolID   string `json:"user_pool_id"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	HostedUIURL  string `json:"hosted_ui_url"`
	APIURL       string `json:"api_url"`
	TableName    string `json:"table_name"`
	// PortalURL is the deployed portal's base URL (its HTTP API's
	// endpoint); Cognito's callback is PortalURL + "/auth/callback".
	PortalURL string `json:"portal_url"`
}

// ConfigFromOutputs reads an AWSConfig from the module's outputs (see
// outputs.tf). Every field is required: a missing one means the state is
// not the module's, or not applied yet.
func ConfigFromOutputs(outs map[string]tfexec.OutputMeta) (AWSConfig, error) {
	var c AWSConfig
	fields := []struct {
		output string
		dst    *string
	}{
		{"region", &c.Region},
		{"issuer", &c.Issuer},
		{"user_pool_id", &c.UserPoolID},
		{"client_id", &c.ClientID},
		{"client_secret", &c.ClientSecret},
		{"hosted_ui_url", &c.HostedUIURL},
		{"api_url", &c.APIURL},
		{"table_name", &c.TableName},
		{"portal_url", &c.PortalURL},
	}
	var errs []error
	for _, f := range fields {
		o, ok := outs[f.output]
		if !ok {
			errs = append(errs, fmt.Errorf("output %s missing", f.output))
			continue
		}
		if err := json.Unmarshal(o.Value, f.dst); err != nil || *f.dst == "" {
			errs = append(errs, fmt.Errorf("output %s is not a non-empty string", f.output))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return AWSConfig{}, fmt.Errorf("read stack outputs: %w", err)
	}
	return c, nil
}

// WriteConfig writes c to path as JSON with mode 0600, creating the
// directory (0700) if needed. The file is replaced atomically, so a reader
// never sees half of it and its mode never widens.
func WriteConfig(path string, c AWSConfig) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, ".aws-*.json") // CreateTemp makes it 0600
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// LoadConfig reads a file written by WriteConfig. It refuses a file that
// others can read, as ssh does with a private key.
func LoadConfig(path string) (AWSConfig, error) {
	var c AWSConfig
	fi, err := os.Stat(path)
	if err != nil {
		return c, fmt.Errorf("load aws config: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return c, fmt.Errorf("load aws config: %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("load aws config: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("load aws config %s: %w", path, err)
	}
	return c, nil
}
