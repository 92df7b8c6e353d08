package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// TestBrokenReleaseSaysWhatToDo: a committed release edited by hand into
// an invalid state (weights that do not sum to 100, a pinned version with
// no manifest) fails promote, rollback and render with the file, the
// problem and how to repair it; a pin that does not resolve is named as
// the release's, not as something the user asked for.
func TestBrokenReleaseSaysWhatToDo(t *testing.T) {
	const v1, v2 = "0.1.0+data.1", "0.1.1+data.1"
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@" + v1}, "dev")
	res, err := p.promote("fraud@"+v2, "dev", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 10})
	if err != nil {
		t.Fatal(err)
	}
	p.mergeAndPull(res.PR)
	const file = "environments/dev/fraud.yaml"
	good, err := os.ReadFile(filepath.Join(p.root, file))
	if err != nil {
		t.Fatal(err)
	}
	repair := []string{"fix " + file + " by hand", "git checkout <last good commit> -- " + file, "git revert", "modelgit render"}
	for _, tc := range []struct {
		name, old, new string
		want           []string
		notWant        string
	}{
		{"weights", "weight: 90", "weight: 80", []string{file + ":", "weights sum to 90"}, ""},
		{"strategy", "strategy: canary", "strategy: bluegreen", []string{file + ":", "bluegreen"}, ""},
		{"missing pin", "version: " + v1, "version: 7.7.7", []string{file + `: field "versions[0].version": pins fraud@7.7.7, which is not registered`, "models/fraud/versions/7.7.7.yaml"}, `resolving "fraud@7.7.7"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.commitFile(file, p.editedFile(file, tc.old, tc.new), false)
			t.Cleanup(func() { p.commitFile(file, string(good), false) })
			want := append(append([]string{}, tc.want...), repair...)
			check := func(what string, err error) {
				t.Helper()
				t.Logf("%s: %v", what, err)
				mustContain(t, err, want...)
				if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
					t.Errorf("%s: error says %q, which the user never asked for", what, tc.notWant)
				}
			}
			_, err := p.promote("fraud@"+v2, "dev", gitops.ReleaseChange{})
			check("promote", err)
			_, err = p.rollback("dev", v1, false)
			check("rollback", err)
			_, err = p.reg.Render()
			check("render", err)
			_, err = p.reg.StaleRendered()
			check("render --check", err)
		})
	}
}
