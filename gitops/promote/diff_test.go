package promote

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnifiedDiffMatchesGit: the hunks of a pull request's rendered diff
// are the ones `git diff -U3` prints for the same two files.
func TestUnifiedDiffMatchesGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required: apt-get install -y git")
	}
	lines := func(from, to int, edit map[int]string) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			if s, ok := edit[i]; ok {
				if s != "" {
					b.WriteString(s + "\n")
				}
				continue
			}
			fmt.Fprintf(&b, "line %d\n", i)
		}
		return b.String()
	}
	for _, tc := range []struct{ name, old, new string }{
		{"one change in the middle", lines(1, 30, nil), lines(1, 30, map[int]string{15: "changed"})},
		{"two far apart", lines(1, 40, nil), lines(1, 40, map[int]string{5: "a", 35: "b"})},
		{"two close: one hunk", lines(1, 40, nil), lines(1, 40, map[int]string{10: "a", 16: "b"})},
		{"six lines between, twice the context: one hunk", lines(1, 40, nil), lines(1, 40, map[int]string{10: "a", 17: "b"})},
		{"six lines between, deletions: one hunk", lines(1, 40, nil), lines(1, 40, map[int]string{10: "", 17: ""})},
		{"seven apart: two hunks", lines(1, 40, nil), lines(1, 40, map[int]string{10: "a", 18: "b"})},
		{"first and last", lines(1, 20, nil), lines(1, 20, map[int]string{1: "a", 20: "b"})},
		{"deleted lines", lines(1, 20, nil), lines(1, 20, map[int]string{7: "", 8: ""})},
		{"added at the end", lines(1, 10, nil), lines(1, 12, nil)},
		{"new file", "", lines(1, 5, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
			if err := os.WriteFile(a, []byte(tc.old), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(b, []byte(tc.new), 0o644); err != nil {
				t.Fatal(err)
			}
			out, _ := exec.Command("git", "diff", "--no-index", "-U3", "--no-color", a, b).Output()
			want := string(out)
			if i := strings.Index(want, "\n@@ "); i >= 0 {
				want = want[i+1:]
			}
			// git omits the @@ line's function context for plain text.
			var clean []string
			for _, l := range strings.SplitAfter(want, "\n") {
				if strings.HasPrefix(l, "@@ ") {
					l = l[:strings.LastIndex(l, "@@")+2] + "\n"
				}
				clean = append(clean, l)
			}
			want = strings.Join(clean, "")
			if got := unifiedDiff(tc.old, tc.new, 3); got != want {
				t.Errorf("unifiedDiff:\n%s\ngit diff -U3:\n%s", got, want)
			}
		})
	}
}
