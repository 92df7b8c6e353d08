package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "push" && args[0] != "pull") {
		fmt.Fprintln(stderr, "usage: ocipush push|pull -ref oci://HOST/REPO -model NAME -version X.Y.Z (FILE | -o DIR)")
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("ocipush "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ref := fs.String("ref", "", "store URL, oci://HOST/REPO")
	model := fs.String("model", "bench", "model name")
	version := fs.String("version", "1.0.0", "model version")
	out := fs.String("o", ".", "pull: directory to write the weights to")
	progress := fs.Bool("progress", false, "draw progress on stderr")
	statCache := fs.String("statcache", "", "push: stat cache file; an unchanged file is not hashed again")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	v, err := manifests.ParseVersion(*version)
	if err != nil {
		fmt.Fprintf(stderr, "ocipush: -version: %v\n", err)
		return 2
	}
	opts := store.OCIOptionsFromEnv()
	if *progress {
		opts.Progress = store.NewBar(stderr)
	}
	o, err := store.NewOCI(*ref, opts)
	if err != nil {
		fmt.Fprintf(stderr, "ocipush: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch verb {
	case "push":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "ocipush push: want one FILE")
			return 2
		}
		err = push(ctx, o, *model, v, fs.Arg(0), *statCache, stdout, opts.Progress)
	case "pull":
		err = pull(ctx, o, *model, v, *out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ocipush: %v\n", err)
		return 1
	}
	return 0
}

// push stores file (hashing it unless statCache knows it) as the weights of model@v and pushes the version.
func push(ctx context.Context, o *store.OCI, model string, v manifests.Version, file, statCache string, stdout io.Writer, prog store.Progress) error {
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	if prog != nil {
		prog.Start("pushing "+filepath.Base(file), fi.Size())
		defer prog.Done()
	}
	h := store.Hasher{}
	if statCache != "" {
		if h.Cache, err = store.OpenStatCache(statCache); err != nil {
			return err
		}
	}
	res, err := h.Add(ctx, o, file)
	if err != nil {
		return err
	}
	if h.Cache != nil {
		if err := h.Cache.Save(); err != nil {
			return err
		}
	}
	mt := store.MediaTypeModelWeight
	if res.IsDir {
		mt = manifests.MediaTypeTree
	}
	mv := &manifests.ModelVersion{
		APIVersion: manifests.APIVersion, Kind: manifests.KindModelVersion,
		Model: model, Version: v,
		Artifacts:    manifests.Artifacts{Weights: &manifests.Artifact{Path: filepath.Base(file), Digest: res.Digest, Size: res.Size, MediaType: mt}},
		RegisteredBy: "bench/ocipush",
		// The file's mtime, so pushing the same file again is a no-op.
		RegisteredAt: fi.ModTime().UTC().Truncate(time.Second),
	}
	raw, err := manifests.Marshal(mv)
	if err != nil {
		return err
	}
	desc, err := o.PushVersion(ctx, mv, raw)
	if err != nil {
		return err
	}
	tag, _ := store.TagFor(model, v)
	fmt.Fprintf(stdout, "%s@%s\n", o.Reference(tag), desc.Digest)
	return nil
}

// pull fetches model@v and restores its weights under dir, verified.
func pull(ctx context.Context, o *store.OCI, model string, v manifests.Version, dir string) error {
	ov, err := o.FetchVersionManifest(ctx, model, v)
	if err != nil {
		return err
	}
	mv, err := manifests.ParseModelVersion(store.VersionManifestTitle, ov.YAML)
	if err != nil {
		return err
	}
	w := mv.Artifacts.Weights
	return store.Restore(ctx, o, w.Digest, w.MediaType, filepath.Join(dir, w.Path))
}
