package register

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// Pulled is one artifact written by Pull.
type Pulled struct {
	Kind string `json:"kind"`
	manifests.Artifact
	// Dest is where it was written.
	Dest string `json:"dest"`
}

// PullOptions adjust Pull.
type PullOptions struct {
	// Force lets Pull write into a directory that is not empty: the files
	// a previous pull wrote there (listed in its PullRecord) and files
	// with the names of the new artifacts are replaced; other files are
	// kept, and reported in PullResult.Kept.
	Force bool
}

// PullRecord is the file Pull writes last into the directory, naming the
// version and the files it wrote, so that a later pull --force replaces
// exactly those and never leaves files of another version beside the new
// ones.
const PullRecord = ".modelgit-pull.json"

// pullStagePrefix starts the name of the directory a pull writes into
// before anything gets its final name, followed by the process id: a
// later pull removes the stage of a process that no longer runs.
const pullStagePrefix = ".modelgit-pull-"

// pullRecord is the content of PullRecord.
type pullRecord struct {
	Model   string   `json:"model"`
	Version string   `json:"version"`
	Files   []string `json:"files"`
}

// Pull writes the artifacts of a version into dir, each under its
// registered name, verified against its digest as it is read. Every
// artifact is first written into a stage directory inside dir and moved
// to its name only when all are verified, so a failure or Ctrl-C leaves
// dir as it was; the stage of an earlier killed pull is removed. dir must
// be empty unless opts.Force; two artifacts with one name are refused.
func (r *repository) Pull(ctx context.Context, v *gitops.VersionRef, dir string, opts PullOptions) ([]Pulled, error) {
	items, err := pullItems(v, dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %q: %w", dir, err)
	}
	if err := removeStaleStages(dir); err != nil {
		return nil, err
	}
	prev, err := readPullRecord(dir)
	if err != nil {
		return nil, err
	}
	others, err := dirEntries(dir)
	if err != nil {
		return nil, err
	}
	if len(others) > 0 && !opts.Force {
		return nil, fmt.Errorf("pulling %s: %q is not empty (%s): pull into an empty or new directory, or pass --force to replace the files a previous pull wrote there (other files are kept)", v.Name(), dir, listSome(others))
	}

	stage, err := os.MkdirTemp(dir, pullStagePrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("pulling %s: creating a temp directory in %q: %w", v.Name(), dir, err)
	}
	defer os.RemoveAll(stage)
	prog := r.NewProgress()
	if prog == nil {
		prog = store.NoProgress
	}
	var out []Pulled
	for _, it := range items {
		dest := filepath.Join(dir, it.name)
		r.Log().Actionf("pulling %s %s → %s", it.kind, it.a.Digest.Short(), dest)
		prog.Start(it.name, it.a.Size)
		err := store.RestoreProgress(ctx, r.Store(), it.a.Digest, it.a.MediaType, filepath.Join(stage, it.name), prog)
		prog.Done()
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				// Missing, or is the whole store out of reach (its
				// directory absent, the registry refusing us)?
				if rerr := store.Reach(ctx, r.Store()); rerr != nil {
					err = rerr
				}
			}
			return nil, fmt.Errorf("pulling %s of %s: %w%s", it.kind, v.Name(), err, r.localStoreHint(err))
		}
		out = append(out, Pulled{Kind: it.kind, Artifact: *it.a, Dest: dest})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	replace, err := moveIntoPlace(v, dir, stage, items, prev)
	if err != nil {
		return nil, err
	}
	var kept []string
	for _, name := range others {
		if !replace[name] {
			kept = append(kept, name)
		}
	}
	if len(kept) > 0 {
		r.Log().Warningf("kept %d file(s) in %s that no pull wrote: %s", len(kept), dir, listSome(kept))
	}
	return out, nil
}

// dirEntries lists dir's names except the pull record and pull stages.
func dirEntries(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		if e.Name() == PullRecord || strings.HasPrefix(e.Name(), pullStagePrefix) {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

func listSome(names []string) string {
	const most = 5
	if len(names) <= most {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:most], ", ") + fmt.Sprintf(" and %d more", len(names)-most)
}

func readPullRecord(dir string) (*pullRecord, error) {
	raw, err := os.ReadFile(filepath.Join(dir, PullRecord))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", filepath.Join(dir, PullRecord), err)
	}
	var rec pullRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, nil // not ours to trust: replace nothing by it
	}
	return &rec, nil
}

func removeIfExists(p string) error {
	if err := os.RemoveAll(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %q: %w", p, err)
	}
	return nil
}

// legacyTemp matches the temp files pulls before the stage directory left
// in dir when killed (durable's ".tmp-" and 16 hex digits).
var legacyTemp = regexp.MustCompile(`^\.tmp-[0-9a-f]{16}$`)

// removeStaleStages removes what a killed pull left in dir: stage
// directories of processes that no longer run, and temp files of the
// older pull more than an hour old. A stage of a pull still running is an
// error: two pulls must not write one directory.
func removeStaleStages(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %q: %w", dir, err)
	}
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(dir, name)
		if rest, ok := strings.CutPrefix(name, pullStagePrefix); ok && e.IsDir() {
			pidStr, _, _ := strings.Cut(rest, "-")
			pid, err := strconv.Atoi(pidStr)
			if err != nil {
				continue
			}
			if pid != os.Getpid() && processRuns(pid) {
				return fmt.Errorf("another modelgit pull (process %d) is writing into %q; wait for it to finish", pid, dir)
			}
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("removing the temp directory %q of an interrupted pull: %w", p, err)
			}
			continue
		}
		if legacyTemp.MatchString(name) && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.Remove(p)
			}
		}
	}
	return nil
}

// localStoreHint explains a blob missing from a store local to one clone
// (the default): it was registered in another clone, whose store this one
// cannot see.
func (r *repository) localStoreHint(err error) string {
	url := r.Config().Store
	if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrUnreachable) || !IsLocalStore(url) {
		return ""
	}
	if url == "" {
		url = store.DefaultURL
	}
	return fmt.Sprintf("\nthis store (%s) is local to one clone: in the clone that registered the version, modelgit store copy %s it to a shared store (oci://REGISTRY/REPO or file:///SHARED/DIR), or set store: in modelgit.yaml to one", url, url)
}

// pullItem is an artifact to pull and the file name it gets.
type pullItem struct {
	kind string
	a    *manifests.Artifact
	name string
}

// pullItems lists v's artifacts with the file names they get in dir,
// refusing a name that is not a plain file name or that two share.
func pullItems(v *gitops.VersionRef, dir string) ([]pullItem, error) {
	var items []pullItem
	byName := map[string]string{}
	var err error
	v.Manifest.Artifacts.Each(func(kind string, a *manifests.Artifact) {
		name := filepath.Base(filepath.FromSlash(a.Path))
		switch {
		case err != nil:
			return
		case name == "." || name == ".." || name == string(filepath.Separator) || name == PullRecord || strings.HasPrefix(name, pullStagePrefix):
			err = fmt.Errorf("pulling %s: the %s artifact's path %q cannot be a file name in %s", v.Name(), kind, a.Path, dir)
			return
		}
		if prev, ok := byName[strings.ToLower(name)]; ok {
			err = fmt.Errorf("pulling %s: its %s and %s artifacts have the same file name %q, so one would overwrite the other in %s; nothing was written (register refuses such a version now: register it again with distinct file names)", v.Name(), prev, kind, name, dir)
			return
		}
		byName[strings.ToLower(name)] = kind
		items = append(items, pullItem{kind, a, name})
	})
	return items, err
}

// moveIntoPlace replaces what the previous pull (prev) wrote in dir, and
// whatever has a new artifact's name, by the verified files in stage,
// then writes the pull record. It returns the names it replaced.
func moveIntoPlace(v *gitops.VersionRef, dir, stage string, items []pullItem, prev *pullRecord) (map[string]bool, error) {
	// Everything is verified: replace what the previous pull wrote, and
	// whatever has a new artifact's name, then move the new files in.
	// The record goes first, so a kill meanwhile leaves none that lies.
	if err := removeIfExists(filepath.Join(dir, PullRecord)); err != nil {
		return nil, err
	}
	replace := map[string]bool{}
	for _, it := range items {
		replace[it.name] = true
	}
	if prev != nil {
		for _, name := range prev.Files {
			if filepath.Base(name) == name && name != "." && name != ".." {
				replace[name] = true
			}
		}
	}
	for name := range replace {
		if err := removeIfExists(filepath.Join(dir, name)); err != nil {
			return nil, err
		}
	}
	rec := pullRecord{Model: v.Manifest.Model, Version: v.Manifest.Version.String()}
	for _, it := range items {
		if err := os.Rename(filepath.Join(stage, it.name), filepath.Join(dir, it.name)); err != nil {
			return nil, fmt.Errorf("pulling %s: %w", v.Name(), err)
		}
		rec.Files = append(rec.Files, it.name)
	}
	raw, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, PullRecord), append(raw, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("pulling %s: writing %q: %w", v.Name(), PullRecord, err)
	}
	return replace, nil
}
