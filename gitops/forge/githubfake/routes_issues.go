package githubfake

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

func (s *Server) commentJSON(c *comment) map[string]any {
	return map[string]any{
		"id": c.ID, "body": c.Body, "user": s.userJSON(c.User), "created_at": c.CreatedAt, "updated_at": c.UpdatedAt,
		"html_url": s.htmlURL(c.PR) + "#issuecomment-" + strconv.FormatInt(c.ID, 10),
	}
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	s.withPull(w, r, func(p *pull) {
		out := []map[string]any{}
		for _, c := range s.comments {
			if c.PR == p.Number {
				out = append(out, s.commentJSON(c))
			}
		}
		paginate(w, r, out)
	})
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeCommentBody(w, r)
	if !ok {
		return
	}
	s.withPull(w, r, func(p *pull) {
		s.nextID++
		now := time.Now().UTC().Truncate(time.Second)
		c := &comment{ID: s.nextID, PR: p.Number, User: s.opts.Login, Body: body, CreatedAt: now, UpdatedAt: now}
		s.comments = append(s.comments, c)
		writeJSON(w, http.StatusCreated, s.commentJSON(c))
	})
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeCommentBody(w, r)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.comments {
		if c.ID == id {
			if !strings.EqualFold(c.User, s.opts.Login) {
				writeError(w, http.StatusForbidden, "Resource not accessible by integration")
				return
			}
			c.Body, c.UpdatedAt = body, time.Now().UTC().Truncate(time.Second)
			writeJSON(w, http.StatusOK, s.commentJSON(c))
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	var in []string
	if !decode(w, r, &in) {
		return
	}
	s.withPull(w, r, func(p *pull) {
		for _, l := range in {
			if !containsFold(s.labels[p.Number], l) {
				s.labels[p.Number] = append(s.labels[p.Number], l)
			}
		}
		out := []map[string]any{}
		for _, l := range s.labels[p.Number] {
			out = append(out, map[string]any{"name": l})
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (s *Server) statusJSON(st *status) map[string]any {
	return map[string]any{
		"id": st.ID, "state": st.State, "context": st.Context, "description": st.Description,
		"target_url": st.TargetURL, "creator": s.userJSON(st.Creator), "created_at": st.CreatedAt, "updated_at": st.CreatedAt,
	}
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		State       string `json:"state"`
		Context     string `json:"context"`
		Description string `json:"description"`
		TargetURL   string `json:"target_url"`
	}
	if !decode(w, r, &in) {
		return
	}
	switch in.State {
	case "pending", "success", "failure", "error":
	default:
		failValidation(w, "Status", "state", "custom", "state is not included in the list")
		return
	}
	if len([]rune(in.Description)) > 140 {
		failValidation(w, "Status", "description", "custom", "description is too long (maximum is 140 characters)")
		return
	}
	if in.Context == "" {
		in.Context = "default"
	}
	sha := r.PathValue("sha")
	s.mu.Lock()
	defer s.mu.Unlock()
	if got, err := s.resolve(sha); err != nil || got != sha {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+sha)
		return
	}
	s.nextID++
	st := &status{ID: s.nextID, State: in.State, Context: in.Context, Description: in.Description, TargetURL: in.TargetURL, Creator: s.opts.Login, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	s.statuses[sha] = append(s.statuses[sha], st)
	writeJSON(w, http.StatusCreated, s.statusJSON(st))
}

// withStatuses resolves the path's ref and runs h on its commit and its
// statuses newest first with s.mu held, or answers 404.
func (s *Server) withStatuses(w http.ResponseWriter, r *http.Request, h func(sha string, list []*status)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, err := s.resolve(r.PathValue("ref"))
	if err != nil || sha == "" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	list := append([]*status(nil), s.statuses[sha]...)
	sort.SliceStable(list, func(i, j int) bool { return list[i].ID > list[j].ID })
	h(sha, list)
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	s.withStatuses(w, r, func(_ string, list []*status) {
		out := []map[string]any{}
		for _, st := range list {
			out = append(out, s.statusJSON(st))
		}
		paginate(w, r, out)
	})
}

func (s *Server) combinedStatus(w http.ResponseWriter, r *http.Request) {
	s.withStatuses(w, r, func(sha string, list []*status) {
		seen := map[string]bool{}
		latest := []map[string]any{}
		state := "success"
		for _, st := range list {
			if seen[st.Context] {
				continue
			}
			seen[st.Context] = true
			latest = append(latest, s.statusJSON(st))
			switch {
			case st.State == "failure" || st.State == "error":
				state = "failure"
			case st.State == "pending" && state == "success":
				state = "pending"
			}
		}
		if len(latest) == 0 {
			state = "pending"
		}
		writeJSON(w, http.StatusOK, map[string]any{"state": state, "sha": sha, "total_count": len(latest), "statuses": latest})
	})
}

// getUser answers a user's public profile; every login exists.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	login := r.PathValue("user")
	m := s.userJSON(login)
	m["name"], m["email"] = nil, nil
	if p, ok := s.profiles[strings.ToLower(login)]; ok {
		if p.name != "" {
			m["name"] = p.name
		}
		if p.email != "" {
			m["email"] = p.email
		}
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) teamMembership(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(r.PathValue("org") + "/" + r.PathValue("team"))
	if !s.teams[k][strings.ToLower(r.PathValue("user"))] {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"role": "member", "state": "active", "url": "http://" + r.Host + "/api/v3" + r.URL.Path})
}
