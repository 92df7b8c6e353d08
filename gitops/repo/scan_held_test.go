package repo

import (
	"context"
	"fmt"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// heldHistory commits changes to three release files whose contents come
// back (rollbacks: v1 → v2 → v1 → v3 → v2 …), a file deleted and added
// again with the content it had, and commits that change no release
// file; it returns the tip.
func heldHistory(t *testing.T) (*Repo, plumbing.Hash) {
	t.Helper()
	r := newRepo(t)
	content := func(env, model string, v int) []byte {
		return fmt.Appendf(nil, "model: %s\nenvironment: %s\nversion: 1.%d.0\n", model, env, v)
	}
	var tip plumbing.Hash
	for i := range 40 {
		var files []File
		switch i % 4 {
		case 0:
			files = append(files, File{Path: "environments/production/a.yaml", Content: content("production", "a", (i/4)%3)})
		case 1:
			files = append(files, File{Path: "environments/dev/a.yaml", Content: content("dev", "a", (i*7)%5)},
				File{Path: "environments/production/b.yaml", Content: content("production", "b", (i/4)%2)})
		case 2:
			files = append(files, File{Path: fmt.Sprintf("models/m/%d", i), Content: []byte("x")})
		case 3:
			if i%8 == 3 {
				files = append(files, File{Path: "environments/production/b.yaml", Delete: true})
			} else {
				files = append(files, File{Path: "environments/production/b.yaml", Content: content("production", "b", 1)})
			}
		}
		tip = commit(t, r, fmt.Sprintf("change %d", i), files...)
	}
	return r, tip
}

// TestScanLetsGoOfBlobs (#16): a scan that holds few blobs (SetScanHold)
// lets go of the others (FPCommit.Forget) and hands each over again when
// a later commit needs it; a caller that keeps blobs by hash and drops
// those let go always has both sides of every change, each the blob the
// change names. With the default hold, on a history this short, every
// blob is handed over once and none let go.
func TestScanLetsGoOfBlobs(t *testing.T) {
	r, tip := heldHistory(t)
	type stats struct{ changes, handed, distinct, forgotten int }
	scan := func(hold int) stats {
		r.SetScanHold(hold)
		defer r.SetScanHold(0)
		kept := map[plumbing.Hash][]byte{}
		seen := map[plumbing.Hash]bool{}
		var st stats
		_, err := r.ScanReleases(context.Background(), tip, plumbing.ZeroHash, []string{"dev", "production"}, "", true, func(c *FPCommit) error {
			for h, b := range c.Objects {
				if _, ok := kept[h]; ok {
					t.Errorf("hold %d: commit %s hands over blob %s again while it is held", hold, c.Hash, h)
				}
				kept[h] = b
				st.handed++
				if !seen[h] {
					seen[h] = true
					st.distinct++
				}
			}
			for _, ch := range c.Changes {
				st.changes++
				for _, h := range []plumbing.Hash{ch.Old, ch.New} {
					if h.IsZero() {
						continue
					}
					b, ok := kept[h]
					switch {
					case !ok:
						t.Errorf("hold %d: commit %s changes %s: blob %s neither handed over nor held", hold, c.Hash, ch.Path, h)
					case plumbing.ComputeHash(plumbing.BlobObject, b) != h:
						t.Errorf("hold %d: commit %s changes %s: blob %s holds another content", hold, c.Hash, ch.Path, h)
					}
				}
			}
			for _, h := range c.Forget {
				delete(kept, h)
				st.forgotten++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	all, few := scan(0), scan(1)
	if all.changes < 25 || few.changes != all.changes {
		t.Fatalf("changes: %d with the default hold, %d holding few; want the same, 25 or more", all.changes, few.changes)
	}
	if all.forgotten != 0 || all.handed != all.distinct {
		t.Errorf("default hold: %d blobs handed over, %d distinct, %d let go; want each once, none let go", all.handed, all.distinct, all.forgotten)
	}
	if few.forgotten == 0 || few.handed <= few.distinct || few.distinct != all.distinct {
		t.Errorf("holding few: %d blobs handed over, %d distinct (%d in all), %d let go; want some let go and handed over again", few.handed, few.distinct, all.distinct, few.forgotten)
	}
}
