package repo

import (
	"slices"
	"strings"
	"testing"
)

var trailerMessages = []struct {
	name string
	msg  string
}{
	{"subject only", "Register model a 1.0.0\n"},
	{"subject trailer-like", "Model: a\n"},
	{"simple", "Promote a to dev\n\nBody text.\n\nModel: a\nModel-Version: 1.4.0+data.7\nEnvironment: dev\n"},
	{"no body", "Promote\n\nModel: a\nRequested-by: Alice <alice@example.com>\n"},
	{"continuation", "Merge\n\nApproved-by: Alice <alice@example.com>,\n  Bob <bob@example.com>\nPolicy: prod\n"},
	{"mixed paragraph", "Subject\n\nSome prose here\nModel: a\n"},
	{"signed-off mixed", "Subject\n\nSome prose here\nmore prose\nSigned-off-by: A <a@b.c>\n"},
	{"not last paragraph", "Subject\n\nModel: a\n\nClosing words.\n"},
	{"divider", "Subject\n\nModel: a\n---\ndiff --git a/x b/x\n"},
	{"trailing comments", "Subject\n\nModel: a\n# Please enter the commit message\n#\n"},
	{"space before colon", "Subject\n\nBug #42 : fixed\nKey : value\n"},
	{"empty value", "Subject\n\nModel-Digest:\nModel: a\n"},
	{"cherry pick", "Subject\n\nbody\n\n(cherry picked from commit abc)\nSigned-off-by: A <a@b.c>\n"},
	{"crlf-free trailing blanks", "Subject\n\nModel: a\n\n\n"},
	{"FormatMessage output", FormatMessage("Register a 1.0.0", "Why:\nbecause.", []Trailer{{"Model", "a"}, {"Approved-by", "A <a@x>\nB <b@x>"}})},
}

func TestParseTrailersMatchesGit(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	for _, tc := range trailerMessages {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runErr(dir, tc.msg, "interpret-trailers", "--parse")
			if err != nil {
				t.Fatalf("git interpret-trailers --parse: %v\n%s", err, out)
			}
			var want []string
			for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
				if l != "" {
					want = append(want, l)
				}
			}
			var got []string
			for _, tr := range ParseTrailers(tc.msg) {
				got = append(got, tr.Key+": "+tr.Value)
			}
			if !slices.Equal(got, want) {
				t.Errorf("ParseTrailers(%q)\n got %q\nwant %q (git)", tc.msg, got, want)
			}
		})
	}
}

func TestFormatMessage(t *testing.T) {
	tests := []struct {
		name     string
		subject  string
		body     string
		trailers []Trailer
		want     string
	}{
		{"subject", "s", "", nil, "s\n"},
		{"body", "s", "b\n", nil, "s\n\nb\n"},
		{"trailers", "s", "", []Trailer{{"Model", "a"}}, "s\n\nModel: a\n"},
		{"all", "s", "b", []Trailer{{"A", "1"}, {"B", "x\ny"}}, "s\n\nb\n\nA: 1\nB: x\n y\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatMessage(tc.subject, tc.body, tc.trailers); got != tc.want {
				t.Errorf("FormatMessage = %q, want %q", got, tc.want)
			}
		})
	}
	got := ParseTrailers(FormatMessage("s", "b", []Trailer{{"A", "1"}, {"B", "x\ny"}}))
	if !slices.Equal(got, []Trailer{{"A", "1"}, {"B", "x y"}}) {
		t.Errorf("round trip = %v", got)
	}
}

// FuzzParseTrailers: any message parses into trailers whose keys are
// tokens and whose values are single lines, and whatever FormatMessage
// writes, with any subject, body and values, ParseTrailers reads back:
// the audit trail (who approved, which digest) cannot be lost or forged
// by the text around it.
func FuzzParseTrailers(f *testing.F) {
	for _, tc := range trailerMessages {
		f.Add(tc.msg, "Subject", "Body", "Model", "a")
	}
	f.Add("", "Promote", "---\nnot a patch", "Approved-by", "A <a@x>\n\nB <b@x>")
	// Messages as promote and merge write them.
	f.Add("Promote fraud 1.1.0 to production (canary 10%)\n\nModel: fraud\nModel-Version: 1.1.0\nModel-Digest: sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nPrevious-Version: 1.0.0\nStrategy: canary weight=10\nEnvironment: production\nRequested-by: Dana <dana@example.com>\n", "Promote fraud 1.1.0 to production", "", "Requested-by", "Dana <dana@example.com>")
	f.Add("Merge pull request #42 from acme/modelgit/promote/production/fraud-1.1.0\n\n- fraud 1.0.0 → 1.1.0 in production (canary weight=10)\n\nApproved-by: Erin Example <erin@example.com>\nApproved-by: bob <5150+bob@users.noreply.github.com>\nPolicy: production sha256:486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7\nPull-Request: #42 https://github.com/acme/models/pull/42\nChecked-Head: 3f1c0d2e9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2\n", "Merge pull request #42", "- fraud 1.0.0 → 1.1.0 in production", "Approved-by", "Erin Example <erin@example.com>")
	f.Add("", "Two\nlines", "# ------------------------ >8 ------------------------\nx", "Model", "m")
	f.Add("", "s", "Key: v\n\nMore: w", "Model-Digest", "\n\n")
	f.Add("", "s", "b", "Registered-by", "x\nApproved-by: mallory")
	f.Fuzz(func(t *testing.T, msg, subject, body, key, value string) {
		for _, tr := range ParseTrailers(msg) {
			if tr.Key == "" || findSeparator(tr.Key+":") != len(tr.Key) || strings.Contains(tr.Value, "\n") {
				t.Fatalf("trailer %q from %q", tr, msg)
			}
		}
		if key == "" || findSeparator(key+":") != len(key) || strings.ContainsAny(key, " \t") {
			return // FormatMessage's keys are tokens (constants of modelgit)
		}
		trailers := []Trailer{{"Model", "m"}, {key, value}, {"Model-Version", "1.0.0"}}
		got := ParseTrailers(FormatMessage(subject, body, trailers))
		var want []Trailer
		for _, tr := range trailers {
			var lines []string
			for l := range strings.SplitSeq(tr.Value, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					lines = append(lines, l)
				}
			}
			want = append(want, Trailer{tr.Key, trimSpace(strings.Join(lines, " "))})
		}
		if !slices.Equal(got, want) {
			t.Fatalf("FormatMessage(%q, %q, %q) reads back as %q, want %q\n%s", subject, body, trailers, got, want, FormatMessage(subject, body, trailers))
		}
	})
}

func BenchmarkParseTrailers(b *testing.B) {
	msg := FormatMessage("Promote a 1.4.0 to prod", "Long body.\n\nMore.", []Trailer{
		{"Model", "a"}, {"Model-Version", "1.4.0"}, {"Model-Digest", "sha256:0123"},
		{"Environment", "prod"}, {"Approved-by", "Alice <alice@example.com>"},
	})
	for b.Loop() {
		ParseTrailers(msg)
	}
}
