package action_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/action"
	"github.com/modelgit/modelgit/gitops/check"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		in, data, prop string
	}{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"a:b,c", "a:b,c", "a%3Ab%2Cc"},
		{"%0A", "%250A", "%250A"},
		{"x\n::add-mask::y", "x%0A::add-mask::y", "x%0A%3A%3Aadd-mask%3A%3Ay"},
	}
	for _, tt := range tests {
		if got := action.EscapeData(tt.in); got != tt.data {
			t.Errorf("EscapeData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := action.EscapeProperty(tt.in); got != tt.prop {
			t.Errorf("EscapeProperty(%q) = %q, want %q", tt.in, got, tt.prop)
		}
	}
}

func TestAnnotations(t *testing.T) {
	tests := []struct {
		name string
		r    *check.CheckReport
		want string
	}{
		{"nil", nil, ""},
		{
			name: "file line col",
			r: &check.CheckReport{Annotations: []check.Annotation{
				{File: "models/m/versions/1.0.0.yaml", Line: 3, Column: 5, Level: "error", Message: "metrics.accuracy: want a number"},
				{File: "rendered/dev/m.yaml", Level: "warning", Message: "stale"},
				{File: "x.yaml", Line: 1, Level: "bogus", Message: "unknown level is an error"},
			}},
			want: "::error file=models/m/versions/1.0.0.yaml,line=3,col=5,title=modelgit::metrics.accuracy: want a number\n" +
				"::warning file=rendered/dev/m.yaml,title=modelgit::stale\n" +
				"::error file=x.yaml,line=1,title=modelgit::unknown level is an error\n",
		},
		{
			name: "hostile text",
			r: &check.CheckReport{
				Annotations: []check.Annotation{{File: "a,b:c.yaml", Line: 2, Level: "error", Message: evilText}},
				Items:       []check.CheckItem{{Name: "gates", Status: check.CheckFail, Summary: "100% bad\n::add-mask::x"}},
			},
			want: "::error file=a%2Cb%3Ac.yaml,line=2,title=modelgit::Promote ${{ secrets.X }} `whoami` $(rm -rf /)%0A::error::injected%0A<!-- modelgit:modelgit-check --> cc @org/team [click](https://evil.example) <img src=x onerror=alert(1)> | table\n" +
				"::error title=modelgit gates::100%25 bad%0A::add-mask::x\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			action.Annotations(&b, tt.r)
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
			// Each annotation is exactly one line.
			if tt.r != nil && strings.Count(b.String(), "\n") != len(tt.r.Annotations)+len(tt.r.Failed()) {
				t.Errorf("annotations span extra lines:\n%s", b.String())
			}
		})
	}
}

func TestStopCommands(t *testing.T) {
	var b bytes.Buffer
	resume := action.StopCommands(&b)
	b.WriteString("::error::not a command\n")
	resume()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	tok, ok := strings.CutPrefix(lines[0], "::stop-commands::")
	if !ok || len(tok) != 32 || lines[2] != "::"+tok+"::" {
		t.Errorf("stop/resume = %q", lines)
	}
}

func TestSetOutputs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, []byte("earlier<<EOF\nx\nEOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	val := "line1\nEOF\nevil=1\nghadelimiter_x"
	if err := action.SetOutputs(path, action.Output{Name: "multi", Value: val}, action.Output{Name: "passed", Value: "false"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got := parseOutputs(t, strings.TrimPrefix(string(b), "earlier<<EOF\nx\nEOF\n"))
	if got["multi"] != val || got["passed"] != "false" || len(got) != 2 {
		t.Errorf("outputs = %q", got)
	}
	for _, bad := range []string{"", "a\nb", "a<<b", "a=b"} {
		if err := action.SetOutputs(path, action.Output{Name: bad, Value: "v"}); err == nil {
			t.Errorf("output name %q accepted", bad)
		}
	}
	if err := action.SetOutputs(filepath.Join(t.TempDir(), "no", "dir"), action.Output{Name: "a", Value: "b"}); err == nil || !strings.Contains(err.Error(), "no/dir") {
		t.Errorf("unwritable file: %v", err)
	}
}

func TestInertJSON(t *testing.T) {
	v := map[string]any{"title": "x ##[error]injected ##[set-output name=passed]true #1", "n": 1}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got := action.InertJSON(b)
	if bytes.Contains(got, []byte("##[")) || bytes.Contains(got, []byte("#")) {
		t.Errorf("a legacy workflow command is left in\n%s", got)
	}
	var back map[string]any
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("not JSON any more: %v\n%s", err, got)
	}
	if back["title"] != v["title"] {
		t.Errorf("title = %q, want %q", back["title"], v["title"])
	}
}
