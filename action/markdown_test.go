package action_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/action"
	"github.com/modelgit/modelgit/gitops/forge"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./action -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test ./action -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestMarkdownGolden(t *testing.T) {
	golden(t, "comment.golden.md", action.Markdown(sampleReport()))
	golden(t, "comment-evil.golden.md", action.Markdown(evilReport()))
	passed := sampleReport()
	passed.Passed, passed.Missing, passed.Annotations, passed.Items = true, 0, nil, passed.Items[:2]
	passed.Approvals[1].Counted, passed.Approvals[1].Reason = true, ""
	golden(t, "comment-passed.golden.md", action.Markdown(passed))
}

func TestMarkdownNeutralisesUntrustedText(t *testing.T) {
	md := action.Markdown(evilReport())
	for _, bad := range []string{
		evilExpr,  // shown escaped, never as an expression someone could paste
		evilShell, // "$(" is escaped
		evilTicks, // no code span the attacker controls
		"<!--",    // no HTML comment at all, so no fake sticky marker
		forge.Marker("modelgit-check"),
		"<img",         // no HTML
		"@org",         // no mention: "@" is followed by a zero-width space
		"](https",      // no link
		"https://evil", // no autolink
		"\n::error",    // no workflow command at a line start
		" | table",     // "|" cannot break the table (it is "\\|")
	} {
		if strings.Contains(md, bad) {
			t.Errorf("Markdown contains %q:\n%s", bad, md)
		}
	}
	// The text is still there for humans to read, escaped.
	for _, want := range []string{`\$\{\{ secrets\.X \}\}`, "&lt;\\!\\-\\- modelgit:modelgit\\-check \\-\\-&gt;", "@&#8203;org/team"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks the escaped %q:\n%s", want, md)
		}
	}
	// Newlines in untrusted text never start a new Markdown line: every
	// line is one this package wrote.
	for _, line := range strings.Split(md, "\n") {
		if strings.Contains(line, "injected") && !strings.Contains(line, "Promote") {
			t.Errorf("untrusted newline started line %q", line)
		}
	}
}

func TestMarkdownLimits(t *testing.T) {
	r := sampleReport()
	long := strings.Repeat("x", 10000)
	for i := 0; i < 500; i++ {
		r.Items[2].Details = append(r.Items[2].Details, long)
	}
	r.PullRequest.Title = strings.Repeat("é", 5000)
	md := action.Markdown(r)
	if len(md) > 65536 {
		t.Fatalf("Markdown is %d bytes; GitHub comments hold 65536", len(md))
	}
	if !strings.Contains(md, "more (see the job log)") {
		t.Error("cut details are not announced")
	}
}

func TestMarkdownNil(t *testing.T) {
	if got := action.Markdown(nil); !strings.Contains(got, "no check report") {
		t.Errorf("Markdown(nil) = %q", got)
	}
}
