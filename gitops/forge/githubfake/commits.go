package githubfake

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxPullCommits is how many commits GET /pulls/{n}/commits lists at
// most, whatever the page: GitHub's documented cap ("Lists a maximum of
// 250 commits for a pull request"; the compare API pages past it).
const maxPullCommits = 250

// commitObject reads the commit a branch name or full SHA names, or nil.
// s.mu is held.
func (s *Server) commitObject(ref string) (*object.Commit, error) {
	sha, err := s.resolve(ref)
	if err != nil || sha == "" {
		return nil, err
	}
	r, err := s.repo()
	if err != nil {
		return nil, err
	}
	return r.CommitObject(plumbing.NewHash(sha))
}

// getCommit answers GET /repos/{o}/{r}/commits/{ref}: the commit with the
// author and committer accounts its emails link to (null when none), and
// 422 "No commit found for SHA" for a ref that names no commit.
func (s *Server) getCommit(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref := r.PathValue("ref")
	c, err := s.commitObject(ref)
	if err != nil {
		failInternal(w, err)
		return
	}
	if c == nil {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+ref)
		return
	}
	writeJSON(w, http.StatusOK, s.commitJSON(c))
}

// compare answers GET /repos/{o}/{r}/compare/{base}...{head}: the commits
// reachable from head and not from base, oldest first. Without page or
// per_page it lists at most 250 (as GitHub does); with them it pages
// through all of them (per_page at most 100) with a Link header.
func (s *Server) compare(w http.ResponseWriter, r *http.Request) {
	baseRef, headRef, ok := strings.Cut(r.PathValue("basehead"), "...")
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	base, err := s.commitObject(baseRef)
	if err != nil {
		failInternal(w, err)
		return
	}
	head, err := s.commitObject(headRef)
	if err != nil {
		failInternal(w, err)
		return
	}
	if base == nil || head == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	ahead, err := s.commitsBetween(base.Hash.String(), head.Hash.String())
	if err != nil {
		failInternal(w, err)
		return
	}
	behind, err := s.commitsBetween(head.Hash.String(), base.Hash.String())
	if err != nil {
		failInternal(w, err)
		return
	}
	status := "diverged"
	switch {
	case len(ahead) == 0 && len(behind) == 0:
		status = "identical"
	case len(behind) == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	page := ahead
	q := r.URL.Query()
	if q.Has("page") || q.Has("per_page") {
		lo, hi := pageBounds(w, r, len(ahead))
		page = ahead[lo:hi]
	} else if len(page) > maxPullCommits {
		page = page[:maxPullCommits]
	}
	commits := []map[string]any{}
	for _, c := range page {
		commits = append(commits, s.commitJSON(c))
	}
	out := map[string]any{
		"status": status, "ahead_by": len(ahead), "behind_by": len(behind), "total_commits": len(ahead),
		"base_commit": s.commitJSON(base), "commits": commits, "files": []any{},
	}
	writeJSON(w, http.StatusOK, out)
}

// pageBounds returns the slice bounds of the page of n items the request
// asks for (per_page at most 100, default 30) and sets GitHub's Link
// header for the other pages.
func pageBounds(w http.ResponseWriter, r *http.Request, n int) (lo, hi int) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	last := max((n+per-1)/per, 1)
	lo = min((page-1)*per, n)
	hi = min(lo+per, n)
	link := func(p int, rel string) string {
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		u := url.URL{Scheme: "http", Host: r.Host, Path: "/api/v3" + r.URL.Path, RawQuery: q.Encode()}
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return lo, hi
}

// branchSub answers GET /repos/{o}/{r}/branches/{branch} and
// .../{branch}/protection; a branch name may hold slashes, so the route
// takes the rest of the path.
func (s *Server) branchSub(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	if branch, ok := strings.CutSuffix(rest, "/protection"); ok && branch != "" {
		r.SetPathValue("branch", branch)
		s.branchProtection(w, r)
		return
	}
	s.getBranch(w, rest)
}

// getBranch answers GET /repos/{o}/{r}/branches/{branch}: the branch's
// tip as it is now, 404 "Branch not found" when there is none.
func (s *Server) getBranch(w http.ResponseWriter, branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, err := s.branchSHA(branch)
	if err != nil {
		failInternal(w, err)
		return
	}
	if sha == "" {
		writeError(w, http.StatusNotFound, "Branch not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":      branch,
		"commit":    map[string]any{"sha": sha},
		"protected": s.protection[branch] != nil,
	})
}
