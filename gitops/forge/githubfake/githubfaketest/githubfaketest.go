// Package githubfaketest starts the in-process GitHub of package githubfake
// for tests, with its repository served by fluxcd's gittestserver (git
// over HTTP as Flux's own tests serve it). It is for tests only: the
// shipped binary uses githubfake with git's http-backend.
package githubfaketest

import (
	"fmt"

	"github.com/fluxcd/pkg/gittestserver"

	"github.com/modelgit/modelgit/gitops/forge/githubfake"
)

// New starts a githubfake.Server whose git server is ServeGit, failing tb
// on error and closing the server at cleanup.
func New(tb githubfake.TB, opts githubfake.Options) *githubfake.Server {
	tb.Helper()
	opts.ServeGit = ServeGit
	return githubfake.New(tb, opts)
}

// ServeGit serves root with fluxcd's gittestserver.
func ServeGit(root, token string) (githubfake.GitServer, error) {
	g := gittestserver.NewGitServer(root)
	if token != "" {
		g.Auth("x-access-token", token)
	}
	if err := g.StartHTTP(); err != nil {
		return nil, fmt.Errorf("starting gittestserver: %w", err)
	}
	return gitServer{g}, nil
}

type gitServer struct{ g *gittestserver.GitServer }

func (s gitServer) URL() string { return s.g.HTTPAddress() }
func (s gitServer) Close()      { s.g.StopHTTP() }
