package ledger

import (
	"slices"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/repo"
)

// promotionMessages are commit messages as modelgit writes them
// (promote's promotionMessage, merge's mergeMessage, register's, a
// `git revert`), the seeds of FuzzPromotionTrailers.
var promotionMessages = []string{
	"Promote fraud 1.1.0 to production (canary 10%)\n\nModel: fraud\nModel-Version: 1.1.0\nModel-Digest: sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nPrevious-Version: 1.0.0\nStrategy: canary weight=10\nEnvironment: production\nRequested-by: Dana <dana@example.com>\n",
	"Promote 2 models to staging\n\n- fraud 1.0.0 → 1.1.0\n- churn none → 2.0.0\nForced past the promotion order: 2.0.0 has not run in dev.\n\nModel: fraud\nModel-Version: 1.1.0\nModel-Digest: sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nPrevious-Version: 1.0.0\nStrategy: replace\nModel: churn\nModel-Version: 2.0.0\nModel-Digest: sha256:486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7\nPrevious-Version: none\nStrategy: replace\nForced: 2.0.0 has not run in dev\nEnvironment: staging\nRequested-by: Dana <dana@example.com>\n",
	"Roll back fraud in production to 1.0.0\n\nTakes canary 1.1.0 out of production.\n\nModel: fraud\nModel-Version: 1.0.0\nModel-Digest: sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nPrevious-Version: 1.0.0\nStrategy: replace\nRollback: from 1.1.0\nEnvironment: production\nRequested-by: Dana <dana@example.com>\n",
	"Merge pull request #42 from acme/modelgit/promote/production/fraud-1.1.0\n\n- fraud 1.0.0 → 1.1.0 in production (canary weight=10)\n\nApproved-by: Erin Example <erin@example.com>\nApproved-by: bob <5150+bob@users.noreply.github.com>\nPolicy: production sha256:486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7\nPull-Request: #42 https://github.com/acme/models/pull/42\nChecked-Head: 3f1c0d2e9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2\n",
	"Register fraud 1.1.0\n\nModel: fraud\nModel-Version: 1.1.0\nModel-Digest: sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nRegistered-by: Alice <alice@example.com>\n",
	"Revert \"Merge pull request #3\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567, reversing\nchanges made to 89abcdef0123456789abcdef0123456789abcdef.\n",
	"Hand edit\n\nStrategy: replace\nModel-Version: 1.0.0\nmodel: a\nMODEL-VERSION: 2\n",
}

// norm is what a trailer value becomes once written by FormatMessage and
// read back: its non-blank lines, trimmed, joined by a space.
func norm(v string) string {
	var lines []string
	for l := range strings.SplitSeq(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Trim(strings.Join(lines, " "), " \t\n\v\f\r")
}

// FuzzPromotionTrailers: how audit reads who promoted what from a commit
// message. Any message splits into one group per Model: trailer, each
// holding only per-model keys, and common trailers (no Model among them);
// and what promote writes — any models, versions, requester, subject and
// body — reads back as the same groups and common trailers, so the text
// around the trailers cannot move a version to another model or forge a
// requester.
func FuzzPromotionTrailers(f *testing.F) {
	for _, m := range promotionMessages {
		f.Add(m, "Promote fraud 1.1.0 to production", "body", "fraud", "1.1.0", "Dana <dana@example.com>")
	}
	f.Add("", "s", "Model: mallory\n\nRequested-by: mallory", "a\nModel: b", "1.0.0\nModel-Version: 9", "x\nRequested-by: y")
	f.Add("", "s", "---\nModel: x", "", "", "")
	f.Fuzz(func(t *testing.T, msg, subject, body, model, version, requester string) {
		groups, common := PromotionTrailers(msg)
		models := 0
		for _, tr := range repo.ParseTrailers(msg) {
			if strings.EqualFold(tr.Key, "model") {
				models++
			}
		}
		if len(groups) != models {
			t.Fatalf("%d groups for %d Model trailers in %q", len(groups), models, msg)
		}
		for _, g := range groups {
			if _, ok := g["model"]; !ok {
				t.Fatalf("a group without a model: %v", g)
			}
			for k := range g {
				if !perModelKeys[k] {
					t.Fatalf("group holds %q, not a per-model key: %v", k, g)
				}
			}
		}
		if _, ok := common["model"]; ok {
			t.Fatalf("common trailers hold a model: %v", common)
		}

		digest := "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
		written := repo.FormatMessage(subject, body, []repo.Trailer{
			{Key: "Model", Value: model}, {Key: "Model-Version", Value: version}, {Key: "Model-Digest", Value: digest},
			{Key: "Previous-Version", Value: "none"}, {Key: "Strategy", Value: "replace"},
			{Key: "Model", Value: "churn"}, {Key: "Model-Version", Value: "2.0.0"},
			{Key: "Environment", Value: "production"}, {Key: "Requested-by", Value: requester},
		})
		groups, common = PromotionTrailers(written)
		want := []trailerGroup{
			{"model": norm(model), "model-version": norm(version), "model-digest": digest, "previous-version": "none", "strategy": "replace"},
			{"model": "churn", "model-version": "2.0.0"},
		}
		if len(groups) != 2 || !mapsEqual(groups[0], want[0]) || !mapsEqual(groups[1], want[1]) {
			t.Fatalf("groups %v, want %v, from\n%s", groups, want, written)
		}
		if !slices.Equal(common["requested-by"], []string{norm(requester)}) || !slices.Equal(common["environment"], []string{"production"}) || len(common) != 2 {
			t.Fatalf("common %v, want environment production and requested-by %q, from\n%s", common, norm(requester), written)
		}
	})
}

func mapsEqual(a, b trailerGroup) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
