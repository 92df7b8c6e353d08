package cmdutil

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "reading manifest \"a.yaml\": not found", "reading manifest \"a.yaml\": not found"},
		{"userinfo", "cloning https://x-access-token:s3cret@github.com/o/r.git: denied", "cloning https://github.com/o/r.git: denied"},
		{"user only", "ssh://git@example.com/o/r", "ssh://example.com/o/r"},
		{"query", `Get "https://api.github.com/repos?access_token=abc&x=1": EOF`, `Get "https://api.github.com/repos": EOF`},
		{"fragment", "see https://h/p#access_token=abc.", "see https://h/p."},
		{"query no path", "https://h?t=1", "https://h"},
		{"at in path kept", "https://h/a@b", "https://h/a@b"},
		{"trailing paren", "(oci://reg.io/m?x=1)", "(oci://reg.io/m)"},
		{"ghp", "token ghp_AbCdEf0123456789AbCdEf0123456789abcd rejected", "token ghp_*** rejected"},
		{"gho", "gho_16C7e42F292c6912E7710c838347Ae178B4a", "gho_***"},
		{"ghs", "GITHUB_TOKEN=ghs_abc123", "GITHUB_TOKEN=ghs_***"},
		{"fine grained", "github_pat_11ABCDEFG0_abcdefXYZ", "github_pat_***"},
		{"bearer", "Authorization: Bearer eyJhbGciOi.J9.x-y_z=", "Authorization: Bearer ***"},
		{"bearer lower", "bearer abc", "bearer ***"},
		{"token header", "Authorization: token abc123", "Authorization: token ***"},
		{"basic", "Basic dXNlcjpwYXNz", "Basic ***"},
		{"basic auth is prose", "missing username or password for basic auth", "missing username or password for basic auth"},
		{"basic authentication is prose", "HTTP Basic authentication failed", "HTTP Basic authentication failed"},
		{"bearer token is prose", "asks for a bearer token", "asks for a bearer token"},
		{"header kept", "Authorization: Basic dXNlcjpwYXNz and basic auth", "Authorization: Basic *** and basic auth"},
		{"not a token", "ghp is a prefix; github_patch", "ghp is a prefix; github_patch"},
		{"two urls", "https://a:b@h1/x?q and http://c@h2/y#f", "https://h1/x and http://h2/y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("https://u:p@h/x?q=1#f")
	f.Add("Bearer abc ghp_abcdef github_pat_x_y")
	f.Add("x://@@?#")
	f.Fuzz(func(t *testing.T, s string) {
		once := Redact(s)
		if twice := Redact(once); twice != once {
			t.Fatalf("Redact is not idempotent:\n in    %q\n once  %q\n twice %q", s, once, twice)
		}
		for _, m := range urlPattern.FindAllString(once, -1) {
			scheme, rest, _ := strings.Cut(m, "://")
			_ = scheme
			end := strings.IndexAny(rest, "/?#")
			if end < 0 {
				end = len(rest)
			}
			if strings.Contains(rest[:end], "@") || strings.ContainsAny(rest, "?#") {
				t.Fatalf("Redact(%q) = %q still has user info or query in %q", s, once, m)
			}
		}
		for _, m := range ghTokenPattern.FindAllString(once, -1) {
			if !strings.HasSuffix(m, "_") {
				t.Fatalf("Redact(%q) = %q still has token %q", s, once, m)
			}
		}
	})
}
