package idp

import (
	"slices"
	"strings"
	"testing"
)

// TestClientAuthFlows: -clients takes Cognito's ExplicitAuthFlows and
// PreventUserExistenceErrors, refuses names Cognito does not have, and
// applies Cognito's defaults when they are absent.
func TestClientAuthFlows(t *testing.T) {
	const base = `{"UserPoolClients":[{"ClientId":"c","CallbackURLs":["http://localhost/cb"]`
	cs, err := LoadClients(strings.NewReader(base + `,"ExplicitAuthFlows":["ALLOW_USER_PASSWORD_AUTH","ALLOW_REFRESH_TOKEN_AUTH"],"PreventUserExistenceErrors":"LEGACY"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c := cs[0]; !c.allows(FlowUserPassword) || c.allows(FlowUserSRP) || c.preventsExistenceErrors() {
		t.Fatalf("loaded %+v", c)
	}
	cs, err = LoadClients(strings.NewReader(base + `}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c := cs[0]; !c.allows(FlowUserSRP) || !c.allows(FlowRefreshToken) || c.allows(FlowUserPassword) || !c.preventsExistenceErrors() {
		t.Fatalf("defaults %+v", c)
	}
	for _, bad := range []string{`,"ExplicitAuthFlows":["USER_MAGIC"]}]}`, `,"PreventUserExistenceErrors":"maybe"}]}`} {
		if _, err := LoadClients(strings.NewReader(base + bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if dev := DevClient("http://localhost:8080", ""); !slices.Equal(dev.ExplicitAuthFlows, []string{FlowUserSRP, FlowRefreshToken}) {
		t.Fatalf("DevClient flows %v", dev.ExplicitAuthFlows)
	}
}
