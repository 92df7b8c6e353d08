package action

import "fmt"

// Env is what the GitHub Actions runner tells a step through its
// environment. Token is a secret: Env's String and GoString leave it out,
// so printing an Env never leaks it.
type Env struct {
	// Actions is true inside a GitHub Actions job (GITHUB_ACTIONS=true).
	Actions bool
	// EventName is GITHUB_EVENT_NAME: pull_request, pull_request_review,
	// schedule, ...
	EventName string
	// EventPath is GITHUB_EVENT_PATH, the JSON payload of the event.
	EventPath string
	// Repository is GITHUB_REPOSITORY, OWNER/NAME.
	Repository string
	// SHA and Ref are GITHUB_SHA and GITHUB_REF. For pull_request events
	// SHA is the merge commit, not the head: use Event.HeadSHA.
	SHA, Ref string
	// HeadRef and BaseRef are GITHUB_HEAD_REF and GITHUB_BASE_REF (set for
	// pull request events only). They are untrusted: a branch name may
	// hold any text git allows.
	HeadRef, BaseRef string
	// StepSummary is GITHUB_STEP_SUMMARY, the file whose Markdown becomes
	// the job summary.
	StepSummary string
	// Output is GITHUB_OUTPUT, the file that sets step outputs.
	Output string
	// ServerURL, APIURL and RunID are GITHUB_SERVER_URL, GITHUB_API_URL
	// and GITHUB_RUN_ID; they make the link to the run.
	ServerURL, APIURL, RunID string
	// Token is GH_TOKEN, else GITHUB_TOKEN. Never print it.
	Token string
}

// FromEnv reads Env through getenv (os.Getenv in production).
func FromEnv(getenv func(string) string) Env {
	tok := getenv("GH_TOKEN")
	if tok == "" {
		tok = getenv("GITHUB_TOKEN")
	}
	return Env{
		Actions:     getenv("GITHUB_ACTIONS") == "true",
		EventName:   getenv("GITHUB_EVENT_NAME"),
		EventPath:   getenv("GITHUB_EVENT_PATH"),
		Repository:  getenv("GITHUB_REPOSITORY"),
		SHA:         getenv("GITHUB_SHA"),
		Ref:         getenv("GITHUB_REF"),
		HeadRef:     getenv("GITHUB_HEAD_REF"),
		BaseRef:     getenv("GITHUB_BASE_REF"),
		StepSummary: getenv("GITHUB_STEP_SUMMARY"),
		Output:      getenv("GITHUB_OUTPUT"),
		ServerURL:   getenv("GITHUB_SERVER_URL"),
		APIURL:      getenv("GITHUB_API_URL"),
		RunID:       getenv("GITHUB_RUN_ID"),
		Token:       tok,
	}
}

// RunURL is the web address of the workflow run, or "" when the
// environment does not say.
func (e Env) RunURL() string {
	if e.ServerURL == "" || e.Repository == "" || e.RunID == "" {
		return ""
	}
	return e.ServerURL + "/" + e.Repository + "/actions/runs/" + e.RunID
}

// String describes e without its token.
func (e Env) String() string {
	tok := ""
	if e.Token != "" {
		tok = "***"
	}
	return fmt.Sprintf("{Actions:%t EventName:%q EventPath:%q Repository:%q SHA:%q Ref:%q HeadRef:%q BaseRef:%q StepSummary:%q Output:%q ServerURL:%q APIURL:%q RunID:%q Token:%q}",
		e.Actions, e.EventName, e.EventPath, e.Repository, e.SHA, e.Ref, e.HeadRef, e.BaseRef, e.StepSummary, e.Output, e.ServerURL, e.APIURL, e.RunID, tok)
}

// GoString is String, so %#v does not print the token either.
func (e Env) GoString() string { return "action.Env" + e.String() }
