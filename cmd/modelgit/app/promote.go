package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/manifests"
)

// PromoteOptions are the inputs of `modelgit promote`.
type PromoteOptions struct {
	deps
	Ref         string
	Env         string
	Strategy    string
	Weight      int
	Switch      bool
	Match       string
	Force       bool
	Selector    string
	VersionFrom string
	Output      string
}

// deps are what the write commands that open pull requests need.
type deps struct {
	IO *cmdutil.IOStreams
	remoteDeps
	// Identity resolves who writes and the key that signs.
	Identity   func(explicitKey string) (gitops.Identity, error)
	Remote     string
	NoPush     bool
	SigningKey string
}

// depsOf copies f's getters the write commands use.
func depsOf(f *cmdutil.Factory) deps {
	return deps{IO: f.IOStreams, remoteDeps: remoteDepsOf(f), Identity: f.Identity}
}

func (d *deps) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.Remote, "remote", "origin", "git remote to push the branch to")
	cmd.Flags().BoolVar(&d.NoPush, "no-push", false, "commit on the branch only: no push, no pull request")
	cmd.Flags().StringVar(&d.SigningKey, "signing-key", "", "key to sign with (default: git config user.signingkey)")
}

// open opens the registry and builds the promotion options for it.
func (d *deps) open() (*gitops.Repository, promote.PromoteOptions, error) {
	reg, err := d.Repository()
	if err != nil {
		return nil, promote.PromoteOptions{}, err
	}
	po, err := d.promoteOptions(reg)
	return reg, po, err
}

// promoteOptions builds the library options: identity, forge, remote.
func (d *deps) promoteOptions(reg *gitops.Repository) (promote.PromoteOptions, error) {
	id, err := d.Identity(d.SigningKey)
	if err != nil {
		return promote.PromoteOptions{}, err
	}
	o := promote.PromoteOptions{Identity: id}
	if d.NoPush {
		return o, nil
	}
	if !reg.Repo().HasRemote(d.Remote) {
		fmt.Fprintf(d.IO.ErrOut, "%s no remote %q: committing on the branch only\n", d.IO.ColorScheme().WarningIcon(), d.Remote)
		return o, nil
	}
	o.Remote, o.Auth = d.Remote, d.RemoteAuth(reg.Config(), d.Remote)
	if o.Forge, err = d.Forge(reg.Config()); err != nil {
		return o, err
	}
	return o, nil
}

// foldTo folds --to, the older spelling kept by promote (an environment)
// and rollback (a version), into *dst, which the flag named name sets;
// both given with different values is refused.
func foldTo(cmd *cobra.Command, dst *string, name, what string) error {
	to, _ := cmd.Flags().GetString("to")
	switch {
	case to != "" && *dst != "" && to != *dst:
		return cmdutil.FlagErrorf("--%s %s and --to %s disagree: give %s once, with --%s", name, *dst, to, what, name)
	case *dst == "":
		*dst = to
	}
	return nil
}

// promoteLong is promote's --help.
const promoteLong = `Promote a registered model version into an environment, named with --env
(or --to, its older spelling: in promote --to is the environment, in
rollback it is the version).

` + versionForms + `

The environment's release (environments/ENV/MODEL.yaml) and the Kubernetes
objects rendered from it (rendered/ENV/, clusters/) are written on the
branch modelgit/promote/ENV/MODEL-VERSION in one signed commit with the
trailers Model, Model-Version, Model-Digest, Previous-Version, Strategy,
Environment and Requested-by; the branch is pushed and the pull request
opened, or updated when it exists: running promote again converges.

A version enters an environment only after it ran in the one before it in
modelgit.yaml (history decides); --force skips that check and the commit
and the pull request record it.

The clusters must be able to read the storageUri rendered. With a store
inside the clone (the default file://.modelgit/store) promote (and
rollback) refuse unless the environment declares where its clusters read
it (environments[].clusterStore in modelgit.yaml, e.g. pvc://CLAIM/PATH);
a team sets a shared store: oci://REGISTRY/REPO instead. With an oci://
store, promote pins oci://REGISTRY/REPO@sha256:… and warns that KServe
runs such a URI as a modelcar, which an OCI artifact cannot be: see
docs/oci.md for the ClusterStorageContainer that loads it.

Strategies:
  replace                  the version takes all traffic (default)
  canary --weight N        it takes N% beside the running version; --weight 100 completes it
  blue-green               it is deployed as the standby; then --switch makes it active
  ab --match NAME=VALUE    requests with that header go to it, the rest to the running version

With --selector, every model whose labels match is promoted at the version
running in --version-from, in one pull request; if any cannot be promoted,
nothing changes and each reason is listed. A model whose release in --env
would not change (it already runs that version there) is left out of the
commit and the pull request and listed as "already runs VERSION"; when
every selected model does, nothing is committed.`

// NewCmdPromote returns `modelgit promote`.
func NewCmdPromote(f *cmdutil.Factory, runF func(*PromoteOptions) error) *cobra.Command {
	opts := &PromoteOptions{deps: depsOf(f)}
	cmd := &cobra.Command{
		Use:   "promote MODEL@VERSION --env ENV [flags]",
		Short: "Open the pull request that moves a model version into an environment",
		Long:  promoteLong,
		Example: `  modelgit promote fraud-detector@1.4.0+data.7 --env staging
  modelgit promote fraud-detector@staging --env production --strategy canary --weight 10
  modelgit promote fraud-detector@1.4.0 --env production --strategy blue-green --switch
  modelgit promote --selector team=risk --version-from staging --env production`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Ref = args[0]
			}
			if err := foldTo(cmd, &opts.Env, "env", "the environment"); err != nil {
				return err
			}
			switch {
			case opts.Env == "":
				return cmdutil.FlagErrorf("--env is required: the environment to promote into")
			case opts.Selector == "" && opts.Ref == "":
				return cmdutil.FlagErrorf("a model version is required: modelgit promote MODEL@VERSION --env ENV (or --selector)")
			case opts.Selector != "" && opts.Ref != "":
				return cmdutil.FlagErrorf("give either MODEL@VERSION or --selector, not both")
			case opts.Selector != "" && opts.VersionFrom == "":
				return cmdutil.FlagErrorf("--selector needs --version-from ENV: the environment whose versions are promoted")
			case opts.Strategy == manifests.StrategyCanary && !cmd.Flags().Changed("weight"):
				return cmdutil.FlagErrorf("--strategy canary needs --weight N (1 to 100)")
			case cmd.Flags().Changed("weight") && opts.Strategy != manifests.StrategyCanary:
				return cmdutil.FlagErrorf("--weight is for --strategy canary")
			case opts.Switch && opts.Strategy != manifests.StrategyBlueGreen:
				return cmdutil.FlagErrorf("--switch is for --strategy blue-green")
			case opts.Match != "" && opts.Strategy != manifests.StrategyAB:
				return cmdutil.FlagErrorf("--match is for --strategy ab")
			}
			if runF != nil {
				return runF(opts)
			}
			return promoteRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Env, "env", "", "`environment` to promote into (required)")
	fl.String("to", "", "same as --env (in rollback, --to is a version)")
	fl.StringVar(&opts.Strategy, "strategy", manifests.StrategyReplace, "replace, canary, blue-green or ab")
	fl.IntVar(&opts.Weight, "weight", 0, "canary traffic percentage, 1 to 100 (100 completes the canary)")
	fl.BoolVar(&opts.Switch, "switch", false, "blue-green: make the standby version active")
	fl.StringVar(&opts.Match, "match", "", "ab: request header NAME=VALUE that routes to this version")
	fl.BoolVar(&opts.Force, "force", false, "skip the promotion-order check (recorded in the commit and the pull request)")
	fl.StringVar(&opts.Selector, "selector", "", "promote every model with these labels, LABEL=VALUE[,…]")
	fl.StringVar(&opts.VersionFrom, "version-from", "", "with --selector: promote the versions running in this environment")
	opts.addFlags(cmd)
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	_ = cmd.RegisterFlagCompletionFunc("strategy", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return manifests.Strategies, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func promoteRun(ctx context.Context, opts *PromoteOptions) error {
	reg, po, err := opts.open()
	if err != nil {
		return err
	}
	po.Env, po.Force = opts.Env, opts.Force
	if opts.Ref != "" {
		v, err := resolveRef(opts.IO, reg, opts.Ref)
		if err != nil {
			return err
		}
		po.Ref = v.Name()
	}
	po.Change = gitops.ReleaseChange{Strategy: opts.Strategy, Weight: opts.Weight, Switch: opts.Switch, Match: opts.Match}
	if opts.Selector != "" {
		sel, err := promote.ParseSelector(opts.Selector)
		if err != nil {
			return cmdutil.FlagErrorWrap(err)
		}
		res, err := promote.BulkPromote(ctx, reg, promote.BulkOptions{Selector: sel, VersionFrom: opts.VersionFrom, PromoteOptions: po})
		if err != nil {
			return err
		}
		return printBulkPromotion(opts.IO, opts.Output, res)
	}
	res, err := promote.Promote(ctx, reg, po)
	if err != nil {
		return err
	}
	return printPromotion(opts.IO, opts.Output, res)
}

type promotionOutput struct {
	Environment string            `json:"environment"`
	Branch      string            `json:"branch"`
	Base        string            `json:"base"`
	Commit      string            `json:"commit,omitempty"`
	Unchanged   bool              `json:"unchanged"`
	Changed     []string          `json:"changed"`
	Models      []promotedVersion `json:"models"`
	// AlreadyRunning (bulk promotions only) lists the selected models left
	// out because the environment already runs their version.
	AlreadyRunning []alreadyRunning `json:"alreadyRunning,omitzero"`
	PullRequest    *pullRequestRef  `json:"pullRequest,omitempty"`
}

type alreadyRunning struct {
	Model   string `json:"model"`
	Version string `json:"version"`
}

type promotedVersion struct {
	Model    string             `json:"model"`
	Version  string             `json:"version"`
	Digest   string             `json:"digest"`
	Previous string             `json:"previous,omitempty"`
	Forced   string             `json:"forced,omitempty"`
	Release  *manifests.Release `json:"release"`
}

type pullRequestRef struct {
	Number  int    `json:"number"`
	URL     string `json:"url"`
	Created bool   `json:"created"`
}

// printPromotion prints what a promotion of one model did.
func printPromotion(io *cmdutil.IOStreams, format string, res *promote.PromoteResult) error {
	return printPromotionOf(io, format, res, nil)
}

// printBulkPromotion prints what a bulk promotion did, the models it left
// out because the environment already runs their version included.
func printBulkPromotion(io *cmdutil.IOStreams, format string, res *promote.BulkResult) error {
	running := make([]alreadyRunning, 0, len(res.AlreadyRunning))
	for _, a := range res.AlreadyRunning {
		running = append(running, alreadyRunning{Model: a.Model, Version: a.Version.String()})
	}
	return printPromotionOf(io, format, res.PromoteResult, running)
}

// printPromotionOf prints res; running is nil for a one-model promotion.
func printPromotionOf(io *cmdutil.IOStreams, format string, res *promote.PromoteResult, running []alreadyRunning) error {
	out := promotionOutput{Environment: res.Env, Branch: res.Branch, Base: res.Base, Unchanged: res.Unchanged, Changed: res.Changed, Models: []promotedVersion{}, AlreadyRunning: running}
	if out.Changed == nil {
		out.Changed = []string{}
	}
	if !res.Commit.IsZero() {
		out.Commit = res.Commit.String()
	}
	for _, p := range res.Promotions {
		pv := promotedVersion{Model: p.Version.Manifest.Model, Version: p.Version.Manifest.Version.String(), Digest: p.Version.Digest.String(), Forced: p.Forced, Release: p.Release}
		if p.Baseline != nil {
			pv.Previous = p.Baseline.Version.String()
		}
		out.Models = append(out.Models, pv)
	}
	if res.PR != nil {
		out.PullRequest = &pullRequestRef{Number: res.PR.Number, URL: res.PR.URL, Created: res.Created}
	}
	if format == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(io.Out, out)
	}
	w, cs := io.Out, io.ColorScheme()
	alreadyRuns := func() {
		for _, a := range running {
			fmt.Fprintf(w, "- %s: already runs %s in %s\n", a.Model, a.Version, res.Env)
		}
	}
	switch {
	case res.Unchanged && running != nil:
		alreadyRuns()
		fmt.Fprintf(w, "%s already runs the version of every selected model: nothing to promote\n", res.Env)
		return nil
	case res.Unchanged:
		fmt.Fprintf(w, "%s already runs this release: nothing to promote\n", res.Env)
		return nil
	}
	for _, m := range out.Models {
		prev := m.Previous
		if prev == "" {
			prev = "none"
		}
		fmt.Fprintf(w, "%s %s: %s → %s in %s (%s)\n", cs.SuccessIcon(), m.Model, prev, m.Version, res.Env, m.Release.Strategy)
		if m.Forced != "" {
			fmt.Fprintf(w, "  %s forced: %s\n", cs.WarningIcon(), m.Forced)
		}
	}
	alreadyRuns()
	fmt.Fprintf(w, "  branch:  %s (commit %s)\n", res.Branch, out.Commit[:min(12, len(out.Commit))])
	fmt.Fprintf(w, "  changes: %s\n", strings.Join(res.Changed, ", "))
	switch {
	case res.PR != nil && res.Created:
		fmt.Fprintf(w, "opened pull request #%d: %s\n", res.PR.Number, res.PR.URL)
	case res.PR != nil:
		fmt.Fprintf(w, "updated pull request #%d: %s\n", res.PR.Number, res.PR.URL)
	default:
		fmt.Fprintf(w, "no pull request opened (no forge in modelgit.yaml, or --no-push): push %s and open one against %s\n", res.Branch, res.Base)
	}
	return nil
}
