package gitops_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// TestRangeCommitsSameSecond: with every commit made in the same second,
// the walk by commit time pops commits of one second in hash order, so a
// commit of base can come up before the base commit that reaches it. The
// range must still be exactly git's base..head, in many shapes.
func TestRangeCommitsSameSecond(t *testing.T) {
	for shape := range 12 {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
			t.Setenv("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
			git(t, dir, "init", "-q", "-b", "main")
			writeFile(t, filepath.Join(dir, manifests.ConfigFile), "apiVersion: modelgit.dev/v1alpha1\nkind: Config\nenvironments:\n  - name: dev\n")
			commit := func(msg string) {
				git(t, dir, "add", "-A")
				git(t, dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "--no-gpg-sign", "--allow-empty", "-m", msg)
			}
			commit("root")
			for i := range 3 {
				commit(fmt.Sprintf("main %d/%d", shape, i))
			}
			git(t, dir, "checkout", "-q", "-b", "pr")
			for i := range 2 + shape%3 {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("pr-%d", i)), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
				commit(fmt.Sprintf("pr %d/%d", shape, i))
			}
			git(t, dir, "checkout", "-q", "main")
			for i := range 1 + shape%4 {
				commit(fmt.Sprintf("main later %d/%d", shape, i))
			}
			if shape%2 == 1 { // the pull request merges its base in
				git(t, dir, "checkout", "-q", "pr")
				git(t, dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "merge", "-q", "--no-gpg-sign", "--no-edit", "main")
				git(t, dir, "checkout", "-q", "main")
				commit(fmt.Sprintf("main last %d", shape))
			}
			base, head := git(t, dir, "rev-parse", "main"), git(t, dir, "rev-parse", "pr")
			want := strings.Fields(git(t, dir, "rev-list", base+".."+head))
			reg, err := gitops.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := reg.Repo().RangeCommits(plumbing.NewHash(base), plumbing.NewHash(head))
			var got []string
			for _, c := range cs {
				got = append(got, c.Hash.String())
			}
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("rangeCommits(main, pr) = %v\nwant git rev-list main..pr = %v", got, want)
			}
		})
	}
}
