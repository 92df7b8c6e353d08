package action_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/action"
)

func TestFromEnv(t *testing.T) {
	vars := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/e.json",
		"GITHUB_REPOSITORY": "acme/models", "GITHUB_SHA": "abc", "GITHUB_REF": "refs/pull/7/merge",
		"GITHUB_HEAD_REF": "x", "GITHUB_BASE_REF": "main", "GITHUB_STEP_SUMMARY": "/s", "GITHUB_OUTPUT": "/o",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42", "GITHUB_TOKEN": token,
	}
	e := action.FromEnv(func(k string) string { return vars[k] })
	want := action.Env{Actions: true, EventName: "pull_request", EventPath: "/e.json", Repository: "acme/models",
		SHA: "abc", Ref: "refs/pull/7/merge", HeadRef: "x", BaseRef: "main", StepSummary: "/s", Output: "/o",
		ServerURL: "https://github.com", RunID: "42", Token: token}
	if e != want {
		t.Errorf("FromEnv = %v, want %v", e, want)
	}
	if e.RunURL() != "https://github.com/acme/models/actions/runs/42" {
		t.Errorf("RunURL = %q", e.RunURL())
	}
	vars["GH_TOKEN"] = "gh-wins"
	if e := action.FromEnv(func(k string) string { return vars[k] }); e.Token != "gh-wins" {
		t.Errorf("GH_TOKEN does not win over GITHUB_TOKEN: %q", e.Token)
	}
	for _, s := range []string{e.String(), e.GoString()} {
		if strings.Contains(s, token) || !strings.Contains(s, "***") {
			t.Errorf("Env prints its token: %s", s)
		}
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    action.Event
		wantErr string
	}{
		{
			name:    "pull_request",
			payload: `{"action":"synchronize","number":7,"pull_request":{"number":7,"title":"t $(x)\n${{ secrets.X }}","user":{"login":"alice"},"head":{"sha":"h","ref":"b/` + "`id`" + `"},"base":{"sha":"s","ref":"main"}}}`,
			want:    action.Event{Kind: "pull_request", Action: "synchronize", Number: 7, Title: "t $(x)\n${{ secrets.X }}", Author: "alice", HeadSHA: "h", HeadRef: "b/`id`", BaseSHA: "s", BaseRef: "main"},
		},
		{
			name:    "pull_request_review",
			payload: `{"action":"submitted","review":{"state":"approved","body":"LGTM ${{ secrets.X }} $(rm -rf /)","user":{"login":"bob"}},"pull_request":{"number":8,"head":{"sha":"h"},"base":{"sha":"s"}}}`,
			want:    action.Event{Kind: "pull_request_review", Action: "submitted", Number: 8, HeadSHA: "h", BaseSHA: "s", ReviewState: "approved", Reviewer: "bob"},
		},
		{
			name:    "schedule",
			payload: `{"schedule":"17 * * * *"}`,
			want:    action.Event{Kind: "schedule", Schedule: "17 * * * *"},
		},
		{name: "other", payload: `{"ref":"refs/heads/main"}`, want: action.Event{}},
		{name: "no number", payload: `{"pull_request":{"head":{"sha":"h"}}}`, wantErr: `"pull_request.number"`},
		{name: "no head", payload: `{"pull_request":{"number":3}}`, wantErr: `"pull_request.head.sha"`},
		{name: "not json", payload: `{`, wantErr: "parsing event payload"},
		{name: "wrong type", payload: `{"pull_request":{"number":"7"}}`, wantErr: "parsing event payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := action.ParseEvent([]byte(tt.payload))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestReadEvent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "event.json")
	if _, err := action.ReadEvent(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("missing file: %v", err)
	}
	os.WriteFile(path, []byte(`{"pull_request":{}}`), 0o644)
	if _, err := action.ReadEvent(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("bad payload error does not name the file: %v", err)
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"pull_request":{"number":1,"head":{"sha":"h"}}}`))
	f.Add([]byte(`{"schedule":"* * * * *"}`))
	f.Add([]byte(`{"review":{},"pull_request":{"number":-1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := action.ParseEvent(b)
		if err == nil && ev.Kind != "" && ev.Kind != "schedule" && (ev.Number <= 0 || ev.HeadSHA == "") {
			t.Errorf("accepted a pull request without number or head: %+v", ev)
		}
	})
}

func FuzzMarkdown(f *testing.F) {
	f.Add(evilText)
	f.Add("<!-- modelgit:modelgit-check -->")
	f.Fuzz(func(t *testing.T, s string) {
		r := sampleReport()
		r.PullRequest.Title, r.Items[0].Summary, r.Approvals[0].User, r.Eligible = s, s, s, s
		md := action.Markdown(r)
		if strings.Contains(md, "<!--") {
			t.Errorf("Markdown of %q holds an HTML comment", s)
		}
	})
}
