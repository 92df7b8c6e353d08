package githubfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
)

func (s *Server) routes(mux *http.ServeMux) {
	repo := "/repos/{owner}/{repo}"
	mux.HandleFunc("GET "+webFlowPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, s.MergeKey())
	})
	mux.HandleFunc("GET "+repo+"/pulls", s.repoOnly(s.listPulls))
	mux.HandleFunc("POST "+repo+"/pulls", s.repoOnly(s.createPull))
	mux.HandleFunc("GET "+repo+"/pulls/{number}", s.repoOnly(s.getPull))
	mux.HandleFunc("PATCH "+repo+"/pulls/{number}", s.repoOnly(s.editPull))
	mux.HandleFunc("PUT "+repo+"/pulls/{number}/merge", s.repoOnly(s.mergePull))
	mux.HandleFunc("GET "+repo+"/pulls/{number}/reviews", s.repoOnly(s.listReviews))
	mux.HandleFunc("POST "+repo+"/pulls/{number}/reviews", s.repoOnly(s.createReview))
	mux.HandleFunc("GET "+repo+"/pulls/{number}/commits", s.repoOnly(s.listPullCommits))
	mux.HandleFunc("GET "+repo+"/issues/{number}/comments", s.repoOnly(s.listComments))
	mux.HandleFunc("POST "+repo+"/issues/{number}/comments", s.repoOnly(s.createComment))
	mux.HandleFunc("PATCH "+repo+"/issues/comments/{id}", s.repoOnly(s.editComment))
	mux.HandleFunc("POST "+repo+"/issues/{number}/labels", s.repoOnly(s.addLabels))
	mux.HandleFunc("POST "+repo+"/statuses/{sha}", s.repoOnly(s.createStatus))
	mux.HandleFunc("GET "+repo+"/commits/{ref}/statuses", s.repoOnly(s.listStatuses))
	mux.HandleFunc("GET "+repo+"/commits/{ref}/status", s.repoOnly(s.combinedStatus))
	mux.HandleFunc("GET "+repo+"/commits/{ref}", s.repoOnly(s.getCommit))
	mux.HandleFunc("GET "+repo+"/compare/{basehead...}", s.repoOnly(s.compare))
	mux.HandleFunc("GET "+repo+"/collaborators/{user}/permission", s.repoOnly(s.collaboratorPermission))
	mux.HandleFunc("GET "+repo+"/branches/{rest...}", s.repoOnly(s.branchSub))
	mux.HandleFunc("GET "+repo+"/rules/branches/{branch...}", s.repoOnly(s.branchRules))
	mux.HandleFunc("GET /orgs/{org}/teams/{team}/memberships/{user}", s.teamMembership)
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		writeJSON(w, http.StatusOK, s.userJSON(s.opts.Login))
	})
	mux.HandleFunc("GET /users/{user}", s.getUser)
	mux.HandleFunc("GET /rate_limit", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"resources": map[string]any{}})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	})
}

// repoOnly answers 404 for any repository but the served one.
func (s *Server) repoOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.PathValue("owner"), s.opts.Owner) || !strings.EqualFold(r.PathValue("repo"), s.opts.Repo) {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		h(w, r)
	}
}

// pullFor returns the PR named by the path, or answers 404. s.mu is held.
func (s *Server) pullFor(w http.ResponseWriter, r *http.Request) *pull {
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil || n < 1 || n > len(s.pulls) {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	return s.pulls[n-1]
}

// withPull runs h on the PR named by the path with s.mu held, or answers
// 404.
func (s *Server) withPull(w http.ResponseWriter, r *http.Request, h func(p *pull)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pullFor(w, r); p != nil {
		h(p)
	}
}

// decode reads the JSON request body into v, or answers 400 and returns
// false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// decodeCommentBody reads a comment's {"body": ...}, or answers 422 for a
// body that is missing, empty or not JSON and returns false.
func decodeCommentBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct{ Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
		failValidation(w, "IssueComment", "body", "missing_field", "")
		return "", false
	}
	return in.Body, true
}

// failValidation answers 422 "Validation Failed" with one error: code on
// resource, naming field and carrying message where they are not empty.
func failValidation(w http.ResponseWriter, resource, field, code, message string) {
	e := map[string]any{"resource": resource, "code": code}
	if field != "" {
		e["field"] = field
	}
	if message != "" {
		e["message"] = message
	}
	writeError(w, http.StatusUnprocessableEntity, "Validation Failed", e)
}

// failInternal answers 500 with err's text.
func failInternal(w http.ResponseWriter, err error) {
	writeError(w, http.StatusInternalServerError, err.Error())
}

// ownBranch returns the branch of a head given as "BRANCH" or
// "OWNER:BRANCH"; ok is false when OWNER is not the served repository's.
func (s *Server) ownBranch(head string) (branch string, ok bool) {
	owner, branch, found := strings.Cut(head, ":")
	if !found {
		return head, true
	}
	return branch, strings.EqualFold(owner, s.opts.Owner)
}

// existingBranch returns the tip of a PR's branch, given as field of the
// request, or answers 500 when it cannot be read and 422 when it does not
// exist. s.mu is held.
func (s *Server) existingBranch(w http.ResponseWriter, branch, field string) (string, bool) {
	sha, err := s.branchSHA(branch)
	if err != nil {
		failInternal(w, err)
		return "", false
	}
	if sha == "" {
		failValidation(w, "PullRequest", field, "invalid", "")
		return "", false
	}
	return sha, true
}

// paginate answers one page of items with GitHub's Link header.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) {
	lo, hi := pageBounds(w, r, len(items))
	out := items[lo:hi]
	if out == nil {
		out = []T{}
	}
	writeJSON(w, http.StatusOK, out)
}

// pullJSON renders a PR as GitHub does. s.mu is held.
func (s *Server) pullJSON(p *pull, withMergeable bool) map[string]any {
	head := s.liveHead(p)
	baseSHA := p.BaseSHA
	labels := []map[string]any{}
	for _, l := range s.labels[p.Number] {
		labels = append(labels, map[string]any{"name": l})
	}
	repo := map[string]any{"name": s.opts.Repo, "full_name": s.opts.Owner + "/" + s.opts.Repo, "owner": s.userJSON(s.opts.Owner)}
	m := map[string]any{
		"number":     p.Number,
		"title":      p.Title,
		"body":       p.Body,
		"state":      p.State,
		"merged":     p.Merged,
		"user":       s.userJSON(p.Author),
		"html_url":   s.htmlURL(p.Number),
		"labels":     labels,
		"created_at": p.CreatedAt,
		"updated_at": p.UpdatedAt,
		"head":       map[string]any{"ref": p.Head, "sha": head, "label": s.opts.Owner + ":" + p.Head, "repo": repo},
		"base":       map[string]any{"ref": p.Base, "sha": baseSHA, "label": s.opts.Owner + ":" + p.Base, "repo": repo},
	}
	if p.MergedAt != nil {
		m["merged_at"] = p.MergedAt
		m["merge_commit_sha"] = p.MergeCommitSHA
	}
	if p.ClosedAt != nil {
		m["closed_at"] = p.ClosedAt
	}
	// Mergeability is GitHub's test merge into the base branch as it is
	// now, not into base.sha.
	if live, _ := s.branchSHA(p.Base); withMergeable && p.State == "open" && head != "" && live != "" {
		_, err := s.mergeTree(live, head)
		m["mergeable"] = err == nil
		m["mergeable_state"] = map[bool]string{true: "clean", false: "dirty"}[err == nil]
		if code, _ := s.protectionRefusal(p, head, live); err == nil && code != 0 {
			m["mergeable_state"] = "blocked"
		}
	}
	return m
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head, ok := s.ownBranch(q.Get("head"))
	if !ok {
		paginate(w, r, []map[string]any{})
		return
	}
	base := q.Get("base")
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for i := len(s.pulls) - 1; i >= 0; i-- { // newest first, as GitHub
		p := s.pulls[i]
		if (state != "all" && p.State != state) || (head != "" && p.Head != head) || (base != "" && p.Base != base) {
			continue
		}
		out = append(out, s.pullJSON(p, false))
	}
	paginate(w, r, out)
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title, Body, Head, Base string
	}
	if !decode(w, r, &in) {
		return
	}
	head, ok := s.ownBranch(in.Head)
	if !ok {
		failValidation(w, "PullRequest", "head", "invalid", "")
		return
	}
	if in.Title == "" {
		failValidation(w, "PullRequest", "title", "missing_field", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pulls {
		if p.State == "open" && p.Head == head && p.Base == in.Base {
			failValidation(w, "PullRequest", "", "custom", fmt.Sprintf("A pull request already exists for %s:%s.", s.opts.Owner, head))
			return
		}
	}
	baseSHA, ok := s.existingBranch(w, in.Base, "base")
	if !ok {
		return
	}
	headSHA, ok := s.existingBranch(w, head, "head")
	if !ok {
		return
	}
	if merged, err := s.isAncestor(headSHA, baseSHA); err != nil {
		failInternal(w, err)
		return
	} else if merged {
		failValidation(w, "PullRequest", "", "custom", fmt.Sprintf("No commits between %s and %s", in.Base, head))
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	p := &pull{
		Number: len(s.pulls) + 1, Title: in.Title, Body: in.Body, Head: head, Base: in.Base,
		HeadSHA: headSHA, BaseSHA: baseSHA, State: "open", Author: s.opts.Login, CreatedAt: now, UpdatedAt: now,
	}
	s.pulls = append(s.pulls, p)
	writeJSON(w, http.StatusCreated, s.pullJSON(p, false))
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	s.withPull(w, r, func(p *pull) {
		writeJSON(w, http.StatusOK, s.pullJSON(p, true))
	})
}

func (s *Server) editPull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title, Body, State *string
	}
	if !decode(w, r, &in) {
		return
	}
	s.withPull(w, r, func(p *pull) {
		if in.Title != nil {
			p.Title = *in.Title
		}
		if in.Body != nil {
			p.Body = *in.Body
		}
		if in.State != nil && !p.Merged {
			switch *in.State {
			case "closed":
				now := time.Now().UTC()
				p.State, p.ClosedAt = "closed", &now
			case "open":
				p.State, p.ClosedAt = "open", nil
			}
		}
		p.UpdatedAt = time.Now().UTC().Truncate(time.Second)
		writeJSON(w, http.StatusOK, s.pullJSON(p, false))
	})
}

// mergeRequest is the body of PUT .../pulls/{number}/merge.
type mergeRequest struct {
	CommitTitle   string  `json:"commit_title"`
	CommitMessage *string `json:"commit_message"`
	SHA           string  `json:"sha"`
	MergeMethod   string  `json:"merge_method"`
}

func (s *Server) mergePull(w http.ResponseWriter, r *http.Request) {
	var in mergeRequest
	if !decode(w, r, &in) {
		return
	}
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	s.withPull(w, r, func(p *pull) { s.merge(w, p, in) })
}

// merge merges PR p as in asks. s.gitMu and s.mu are held.
func (s *Server) merge(w http.ResponseWriter, p *pull, in mergeRequest) {
	if p.State != "open" {
		writeError(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	head := s.liveHead(p)
	if in.SHA != "" && in.SHA != head {
		writeError(w, http.StatusConflict, "Head branch was modified. Review and try the merge again.")
		return
	}
	switch in.MergeMethod {
	case "", "merge", "squash", "rebase":
	default:
		failValidation(w, "PullRequest", "merge_method", "invalid", "")
		return
	}
	if msg := s.methodRefusal(p, in.MergeMethod); msg != "" {
		writeError(w, http.StatusMethodNotAllowed, msg)
		return
	}
	base, err := s.branchSHA(p.Base)
	if err != nil || base == "" {
		writeError(w, http.StatusMethodNotAllowed, "Base branch does not exist")
		return
	}
	tree, err := s.mergeTree(base, head)
	if errors.Is(err, errConflict) {
		writeError(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	if err != nil {
		failInternal(w, err)
		return
	}
	if code, msg := s.protectionRefusal(p, head, base); code != 0 {
		writeErrorDoc(w, code, msg, "https://docs.github.com/articles/about-protected-branches")
		return
	}
	title := in.CommitTitle
	if title == "" {
		title = fmt.Sprintf("Merge pull request #%d from %s/%s", p.Number, s.opts.Owner, p.Head)
		if in.MergeMethod == "squash" {
			title = fmt.Sprintf("%s (#%d)", p.Title, p.Number)
		}
	}
	msg := title
	switch {
	case in.CommitMessage == nil:
		msg += "\n\n" + p.Title
	case *in.CommitMessage != "":
		msg += "\n\n" + *in.CommitMessage
	}
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	parents := []string{base, head}
	if in.MergeMethod == "squash" {
		parents = parents[:1]
	}
	author := object.Signature{Name: s.opts.Login, Email: s.opts.Login + "@users.noreply.github.com"}
	sha, err := s.commitMerge(p.Base, base, tree, parents, msg, author)
	if errors.Is(err, errBaseMoved) {
		writeError(w, http.StatusConflict, "Base branch was modified. Review and try the merge again.")
		return
	}
	if err != nil {
		failInternal(w, err)
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	p.State, p.Merged, p.MergeCommitSHA, p.MergedAt, p.ClosedAt, p.UpdatedAt = "closed", true, sha, &now, &now, now
	p.HeadSHA, p.BaseSHA = head, base
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

func (s *Server) reviewJSON(rv *review) map[string]any {
	return map[string]any{
		"id": rv.ID, "user": s.userJSON(rv.User), "state": rv.State, "commit_id": rv.CommitID,
		"body": rv.Body, "submitted_at": rv.SubmittedAt, "html_url": s.htmlURL(rv.PR) + "#pullrequestreview-" + strconv.FormatInt(rv.ID, 10),
	}
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request) {
	s.withPull(w, r, func(p *pull) {
		out := []map[string]any{}
		for _, rv := range s.reviews[p.Number] {
			out = append(out, s.reviewJSON(rv))
		}
		paginate(w, r, out)
	})
}

func (s *Server) createReview(w http.ResponseWriter, r *http.Request) {
	var in struct {
		CommitID string `json:"commit_id"`
		Body     string `json:"body"`
		Event    string `json:"event"`
	}
	if !decode(w, r, &in) {
		return
	}
	states := map[string]string{"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}
	state, ok := states[in.Event]
	if !ok {
		failValidation(w, "PullRequestReview", "event", "invalid", "")
		return
	}
	s.withPull(w, r, func(p *pull) {
		if state != "COMMENTED" && strings.EqualFold(p.Author, s.opts.Login) {
			writeError(w, http.StatusUnprocessableEntity, "Unprocessable Entity", map[string]any{"resource": "PullRequestReview", "code": "custom", "message": "Can not approve your own pull request"})
			return
		}
		if in.CommitID == "" {
			in.CommitID = s.liveHead(p)
		}
		s.addReviewLocked(p.Number, s.opts.Login, state, in.CommitID, in.Body)
		rvs := s.reviews[p.Number]
		writeJSON(w, http.StatusOK, s.reviewJSON(rvs[len(rvs)-1]))
	})
}

// loginForEmail returns the user linked to a commit email, or "". s.mu
// is held.
func (s *Server) loginForEmail(email string) string {
	if u := s.emails[strings.ToLower(email)]; u != "" {
		return u
	}
	if local, ok := strings.CutSuffix(strings.ToLower(email), "@users.noreply.github.com"); ok {
		if _, login, ok := strings.Cut(local, "+"); ok {
			return login
		}
		return local
	}
	return ""
}

func (s *Server) listPullCommits(w http.ResponseWriter, r *http.Request) {
	s.withPull(w, r, func(p *pull) {
		head := s.liveHead(p)
		commits, err := s.commitsBetween(p.BaseSHA, head)
		if err != nil {
			failInternal(w, err)
			return
		}
		if len(commits) > maxPullCommits {
			commits = commits[:maxPullCommits] // GitHub's cap; see compare
		}
		out := []map[string]any{}
		for _, c := range commits {
			out = append(out, s.commitJSON(c))
		}
		paginate(w, r, out)
	})
}

// commitJSON renders a commit of a PR as GitHub does. s.mu is held.
func (s *Server) commitJSON(c *object.Commit) map[string]any {
	sig := func(sg object.Signature) map[string]any {
		return map[string]any{"name": sg.Name, "email": sg.Email, "date": sg.When.UTC()}
	}
	m := map[string]any{
		"sha":    c.Hash.String(),
		"commit": map[string]any{"author": sig(c.Author), "committer": sig(c.Committer), "message": c.Message},
	}
	var parents []map[string]any
	for _, ph := range c.ParentHashes {
		parents = append(parents, map[string]any{"sha": ph.String()})
	}
	m["parents"] = parents
	if u := s.loginForEmail(c.Author.Email); u != "" {
		m["author"] = s.userJSON(u)
	}
	if u := s.loginForEmail(c.Committer.Email); u != "" {
		m["committer"] = s.userJSON(u)
	}
	return m
}
