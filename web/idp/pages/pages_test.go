package pages

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

var (
	inputIDRE = regexp.MustCompile(`<input id="([^"]+)"`)
	labelRE   = regexp.MustCompile(`<label for="([^"]+)"`)
)

// TestPagesAccessible renders every page and checks what the Hosted UI
// promises: every visible input labelled, a CSRF field in every form, no
// inline script or style (the CSP forbids them), markup escaped.
func TestPagesAccessible(t *testing.T) {
	for name, c := range map[string]templ.Component{
		"login":   LoginPage(Login{Action: "/login?a=1&b=2", CSRF: "tok", Error: "<b>bad</b>", SignUp: "/signup", Forgot: "/forgotPassword"}),
		"signup":  SignUpPage(SignUp{Action: "/signup", CSRF: "tok", Errors: []string{"x"}, Login: "/login"}),
		"forgot":  ForgotPage(Forgot{Action: "/forgotPassword", CSRF: "tok", Login: "/login"}),
		"reset":   ResetPage(Reset{Action: "/confirmForgotPassword", CSRF: "tok", Notice: "sent"}),
		"message": MessagePage(Message{Title: "T", Text: "x", Links: []Link{{"a", "javascript:alert(1)"}}}),
		"outbox":  OutboxPage([]OutboxMessage{{ID: "1", To: "a@example.com", Subject: "S", Body: "<script>", Links: []string{"http://localhost/x"}}}, "/outbox?before=1"),
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			html := b.String()
			labels := map[string]bool{}
			for _, m := range labelRE.FindAllStringSubmatch(html, -1) {
				labels[m[1]] = true
			}
			for _, m := range inputIDRE.FindAllStringSubmatch(html, -1) {
				if !labels[m[1]] {
					t.Errorf("input %q has no label", m[1])
				}
			}
			if strings.Contains(html, "<form") && !strings.Contains(html, `name="_csrf" value="tok"`) {
				t.Error("form without CSRF token")
			}
			for _, bad := range []string{"<script", "style=", "<b>bad", "javascript:"} {
				if strings.Contains(html, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
			if !strings.Contains(html, `<html lang="en">`) {
				t.Error("no document language")
			}
		})
	}
}
