package gitops_test

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/manifests"
)

// TestPromoteBadMatch: a --match the HTTPRoute cannot take is refused
// naming the flag, before any release is built: not with the line of a
// release file the user never wrote.
func TestPromoteBadMatch(t *testing.T) {
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	for _, tc := range []struct {
		name, match string
		want        []string
	}{
		{"no value", "novalue", []string{`--match "novalue" is not valid`, "want NAME=VALUE", "--match x-variant=b"}},
		{"empty value", "x-variant=", []string{`--match "x-variant=" is not valid`, "want NAME=VALUE"}},
		{"space in the name", "x variant=b", []string{`header name "x variant" is not valid`, "HTTP token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := p.state()
			_, err := p.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{Strategy: manifests.StrategyAB, Match: tc.match})
			t.Logf("error: %v", err)
			mustContain(t, err, tc.want...)
			if err != nil && strings.Contains(err.Error(), "environments/") {
				t.Errorf("the error cites a release file the user never wrote: %v", err)
			}
			p.assertState(before)
		})
	}
	// The same for a bulk promotion.
	_, err := promote.BulkPromote(ctx, p.reg, promote.BulkOptions{Selector: map[string]string{}, VersionFrom: "dev", PromoteOptions: promote.PromoteOptions{
		Env: "staging", Change: gitops.ReleaseChange{Strategy: manifests.StrategyAB, Match: "novalue"},
		Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}})
	mustContain(t, err, `--match "novalue" is not valid`)
}

// TestBulkPromoteNotRunningSaysWhatToDo: a model that does not run in
// --version-from is named with what to do about it.
func TestBulkPromoteNotRunningSaysWhatToDo(t *testing.T) {
	p := newPromoteFixture(t)
	p.registerModel("scorer", map[string]string{"team": "risk"}, `{"accuracy": 0.9}`)
	_, err := promote.BulkPromote(ctx, p.reg, promote.BulkOptions{Selector: map[string]string{"team": "risk"}, VersionFrom: "staging", PromoteOptions: promote.PromoteOptions{
		Env: "production", Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}})
	mustContain(t, err, "nothing was changed", `scorer: does not run in "staging"`, "promote it to staging first", "narrower --selector")
}

// TestPromoteRefusesInvalidRenderedObject: a release edited by hand into
// what the cluster would refuse (an HTTPRoute header name outside the CRD
// schema's pattern) fails the promotion naming the release file, its line
// and field (the one release validation, gitops.ValidRelease, applies the
// Gateway API's rule before anything is rendered), and commits nothing.
func TestPromoteRefusesInvalidRenderedObject(t *testing.T) {
	p := newPromoteFixture(t)
	p.commitFile("models/fraud/model.yaml", "serving:\n  image: ghcr.io/acme/fraud-server:1.0\n  port: 8080\n", true)
	p.registerModel("scorer", nil, `{"accuracy": 0.9}`)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	res, err := p.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{Strategy: manifests.StrategyAB, Match: "x-variant=b"})
	if err != nil {
		t.Fatal(err)
	}
	p.mergeAndPull(res.PR)
	edited := p.editedFile("environments/dev/fraud.yaml", "match: x-variant=b", "match: x variant=b")
	p.commitFile("environments/dev/fraud.yaml", edited, false)

	before := p.state()
	prs := len(p.fake.PullRequests())
	_, err = p.promote("scorer@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	t.Logf("error: %v", err)
	mustContain(t, err, `environments/dev/fraud.yaml:13:8: field "match": header name "x variant" is not valid`, "HTTP token", "fix environments/dev/fraud.yaml by hand")
	p.assertState(before)
	if n := len(p.fake.PullRequests()); n != prs {
		t.Errorf("a refused promotion opened a pull request")
	}
	if out := git(t, p.fake.GitDir(), "branch", "--list", "modelgit/promote/dev/scorer-*"); out != "" {
		t.Errorf("a refused promotion pushed %s", out)
	}
}
