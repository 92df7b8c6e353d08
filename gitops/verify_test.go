package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/check"
)

func TestVerifyCleanHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(base)
	s := base
	s.weights = "weights v2\n"
	f.register(s)
	for _, deep := range []bool{false, true} {
		rep, err := check.Verify(ctx, f.reg, check.VerifyOptions{Deep: deep})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("deep=%v: findings on a clean history: %v", deep, rep.Findings)
		}
		// init + 2 versions, all governed; 2 versions; weights ×2, schema, config.
		if rep.Commits != 3 || rep.Governed != 3 || rep.Versions != 2 || rep.Artifacts != 4 {
			t.Errorf("deep=%v: report %+v, want 3 commits, 3 governed, 2 versions, 4 artifacts", deep, rep)
		}
		if rep.Tip != f.head() {
			t.Errorf("Tip = %s, want HEAD %s", rep.Tip, f.head())
		}
	}
}

// gitCommit commits what is staged with the real git; sign uses the
// repository's ssh key (user.signingkey) as `git commit -S` does.
func gitCommit(t *testing.T, f *fixture, sign bool, msg string) string {
	t.Helper()
	flag := "--no-gpg-sign"
	if sign {
		flag = "-S"
	}
	git(t, f.root, "commit", "-q", flag, "-m", msg)
	return f.head()
}

func TestVerifyFindings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// change damages the fixture and returns the commit and path the
		// finding must name ("" commit: none, e.g. a store problem).
		change  func(t *testing.T, f *fixture, v string) (commit, path string)
		check   string
		message string
		// deepOnly: the finding appears only with VerifyOptions.Deep.
		deepOnly bool
	}{
		{
			name: "unsigned commit touching models",
			change: func(t *testing.T, f *fixture, v string) (string, string) {
				writeFile(t, filepath.Join(f.root, "models/fraud/NOTES.md"), "notes\n")
				git(t, f.root, "add", "models/fraud/NOTES.md")
				return gitCommit(t, f, false, "Add notes"), ""
			},
			check: "signature", message: "Add notes",
		},
		{
			name: "modified version",
			change: func(t *testing.T, f *fixture, v string) (string, string) {
				p := filepath.Join(f.root, v)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, p, strings.Replace(string(b), "accuracy: 0.9", "accuracy: 0.99", 1))
				git(t, f.root, "add", v)
				return gitCommit(t, f, true, "Improve accuracy"), v
			},
			check: "immutable", message: "modifies a registered version",
		},
		{
			name: "deleted version",
			change: func(t *testing.T, f *fixture, v string) (string, string) {
				git(t, f.root, "rm", "-q", v)
				return gitCommit(t, f, true, "Drop version"), v
			},
			check: "immutable", message: "deletes a registered version",
		},
		{
			name: "missing blob",
			change: func(t *testing.T, f *fixture, v string) (string, string) {
				if err := os.Remove(f.blobPath(weightsDigest(t, f))); err != nil {
					t.Fatal(err)
				}
				return f.head(), v
			},
			check: "artifact", message: "not in the store",
		},
		{
			name: "corrupted blob",
			change: func(t *testing.T, f *fixture, v string) (string, string) {
				flipByte(t, f.blobPath(weightsDigest(t, f)))
				return f.head(), v
			},
			check: "artifact", message: "do not match the digest", deepOnly: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			res := f.register(base)
			commit, path := tc.change(t, f, res.Version.Path)
			for _, deep := range []bool{false, true} {
				rep, err := check.Verify(ctx, f.reopen(), check.VerifyOptions{Deep: deep})
				if err != nil {
					t.Fatal(err)
				}
				if tc.deepOnly && !deep {
					if !rep.OK() {
						t.Errorf("without Deep the blob is present, yet: %v", rep.Findings)
					}
					continue
				}
				if len(rep.Findings) != 1 {
					t.Fatalf("deep=%v: findings %v, want one %s finding", deep, rep.Findings, tc.check)
				}
				got := rep.Findings[0]
				if got.Check != tc.check || got.Commit != commit || got.Path != path || !strings.Contains(got.Message, tc.message) {
					t.Errorf("deep=%v: finding %+v, want check %q commit %s path %q message containing %q", deep, got, tc.check, commit, path, tc.message)
				}
				if !strings.Contains(got.String(), commit[:12]) {
					t.Errorf("finding %q does not name the commit", got)
				}
			}
		})
	}
}

func weightsDigest(t *testing.T, f *fixture) string {
	t.Helper()
	v, err := f.reg.Resolve("fraud")
	if err != nil {
		t.Fatal(err)
	}
	return v.Manifest.Artifacts.Weights.Digest.String()
}

// flipByte inverts the middle byte of a (read-only) blob file.
func flipByte(t *testing.T, p string) {
	t.Helper()
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o444); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRangeAndGovernedPaths(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// An unsigned commit touching models/, before the range.
	writeFile(t, filepath.Join(f.root, "models/fraud/NOTES.md"), "notes\n")
	git(t, f.root, "add", ".")
	bad := gitCommit(t, f, false, "Unsigned notes")
	baseRev := f.head()
	// In the range: a version and an unsigned commit outside governed paths.
	f.register(base)
	writeFile(t, filepath.Join(f.root, "README.md"), "# registry\n")
	git(t, f.root, "add", "README.md")
	gitCommit(t, f, false, "Readme")

	rep, err := check.Verify(ctx, f.reg, check.VerifyOptions{Range: baseRev + "..HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Commits != 2 || rep.Governed != 1 {
		t.Errorf("range %s..HEAD: %d commits, %d governed, findings %v; want 2, 1 and none", baseRev[:7], rep.Commits, rep.Governed, rep.Findings)
	}

	rep, err = check.Verify(ctx, f.reg, check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Commits != 4 || rep.Governed != 3 || len(rep.Findings) != 1 || rep.Findings[0].Commit != bad {
		t.Errorf("whole history: %d commits, %d governed, findings %v; want 4, 3 and one on %s", rep.Commits, rep.Governed, rep.Findings, bad[:7])
	}

	// A single revision means its whole history.
	rep, err = check.Verify(ctx, f.reg, check.VerifyOptions{Range: "HEAD~1"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Commits != 3 {
		t.Errorf("HEAD~1: %d commits, want 3", rep.Commits)
	}
	for _, bad := range []string{"nope..HEAD", "HEAD...main", "no-such-rev"} {
		if _, err := check.Verify(ctx, f.reg, check.VerifyOptions{Range: bad}); err == nil {
			t.Errorf("range %q: no error", bad)
		}
	}
}
