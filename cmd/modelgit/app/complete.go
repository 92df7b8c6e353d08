package app

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
)

// Shell completion of live names (issue 13): models, MODEL@VERSION,
// environments, clusters and, from the forge, pull request numbers. It is
// wired here, in one place, by command and flag name, over the tree
// NewRootCmd built: registerCompletions.

// defaultCompletionTimeout bounds what a completion may spend asking the
// forge for pull requests; past it, it offers none (as gh does).
const defaultCompletionTimeout = 2 * time.Second

// argCompletions are the positional arguments each command completes,
// by command path below the root.
var argCompletions = map[string]func(c completer) cobra.CompletionFunc{
	"show":        func(c completer) cobra.CompletionFunc { return c.refArgs(1) },
	"diff":        func(c completer) cobra.CompletionFunc { return c.refArgs(2) },
	"pull":        func(c completer) cobra.CompletionFunc { return c.refThenDir },
	"promote":     func(c completer) cobra.CompletionFunc { return c.refArgs(1) },
	"history":     func(c completer) cobra.CompletionFunc { return c.modelArgs },
	"register":    func(c completer) cobra.CompletionFunc { return c.modelArgs },
	"rollback":    func(c completer) cobra.CompletionFunc { return c.modelArgs },
	"policy show": func(c completer) cobra.CompletionFunc { return c.envArgs },
}

// flagCompletions complete flags by name, in every command that has them;
// flagCompletionsOf overrides them for one command.
var flagCompletions = map[string]func(c completer) cobra.CompletionFunc{
	"env":          func(c completer) cobra.CompletionFunc { return c.envs },
	"version-from": func(c completer) cobra.CompletionFunc { return c.envs },
	"to":           func(c completer) cobra.CompletionFunc { return c.envs },
	"model":        func(c completer) cobra.CompletionFunc { return c.models },
	"cluster":      func(c completer) cobra.CompletionFunc { return c.clusters },
	"pr":           func(c completer) cobra.CompletionFunc { return c.pullRequests },
}

var flagCompletionsOf = map[string]map[string]func(c completer) cobra.CompletionFunc{
	// In rollback, --to is the version, as --version.
	"rollback": {
		"to":      func(c completer) cobra.CompletionFunc { return c.versionsOfArg },
		"version": func(c completer) cobra.CompletionFunc { return c.versionsOfArg },
	},
}

// registerCompletions attaches the completions above to root's commands.
func registerCompletions(f *cmdutil.Factory, root *cobra.Command) {
	c := completer{f: f}
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		path := strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), root.Name()), " ")
		if mk, ok := argCompletions[path]; ok && cmd.ValidArgsFunction == nil {
			cmd.ValidArgsFunction = mk(c)
		}
		cmd.Flags().VisitAll(func(fl *pflag.Flag) {
			mk, ok := flagCompletionsOf[path][fl.Name]
			if !ok {
				mk, ok = flagCompletions[fl.Name]
			}
			if !ok {
				return
			}
			if _, exists := cmd.GetFlagCompletionFunc(fl.Name); exists {
				return
			}
			_ = cmd.RegisterFlagCompletionFunc(fl.Name, mk(c))
		})
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completer answers completions from the repository at -C (or the current
// directory). A repository that does not open completes nothing.
type completer struct{ f *cmdutil.Factory }

const noFiles = cobra.ShellCompDirectiveNoFileComp

func (c completer) repo() *gitops.Repository {
	if c.f.Repository == nil {
		return nil
	}
	reg, err := c.f.Repository()
	if err != nil {
		return nil
	}
	return reg
}

// modelNames are the registered models starting with prefix.
func (c completer) modelNames(reg *gitops.Repository, prefix string) []string {
	models, _ := reg.Models()
	var out []string
	for _, m := range models {
		if strings.HasPrefix(m, prefix) {
			out = append(out, m)
		}
	}
	return out
}

func (c completer) models(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	reg := c.repo()
	if reg == nil {
		return nil, noFiles
	}
	return c.modelNames(reg, toComplete), noFiles
}

// modelArgs completes a MODEL first argument.
func (c completer) modelArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	return c.models(cmd, args, toComplete)
}

// refArgs completes the first n arguments as MODEL@VERSION.
func (c completer) refArgs(n int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= n {
			return nil, noFiles
		}
		return c.refs(toComplete)
	}
}

// refThenDir completes pull's MODEL@VERSION, then its directory.
func (c completer) refThenDir(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return c.refs(toComplete)
	case 1:
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	return nil, noFiles
}

// refs completes MODEL@VERSION: before the @, the models (without a
// space after, so @ can follow); after it, the model's versions, newest
// first, then latest and the environments it runs in, each described.
func (c completer) refs(toComplete string) ([]string, cobra.ShellCompDirective) {
	reg := c.repo()
	if reg == nil {
		return nil, noFiles
	}
	model, spec, hasAt := strings.Cut(toComplete, "@")
	if !hasAt {
		return c.modelNames(reg, model), noFiles | cobra.ShellCompDirectiveNoSpace
	}
	var out []string
	for _, s := range c.versionSpecs(reg, model) {
		if strings.HasPrefix(s, spec) {
			out = append(out, model+"@"+s)
		}
	}
	return out, noFiles | cobra.ShellCompDirectiveKeepOrder
}

// versionSpecs are what may follow MODEL@, with a description after a
// tab: each version (newest first), latest, and each environment the
// model runs in at HEAD.
func (c completer) versionSpecs(reg *gitops.Repository, model string) []string {
	versions, err := reg.Versions(model)
	if err != nil || len(versions) == 0 {
		return nil
	}
	var out []string
	for i := len(versions) - 1; i >= 0; i-- {
		m := versions[i].Manifest
		out = append(out, fmt.Sprintf("%s\tregistered %s by %s", m.Version, m.RegisteredAt.Format("2006-01-02"), m.RegisteredBy))
	}
	out = append(out, "latest\t"+versions[len(versions)-1].Manifest.Version.String())
	for _, e := range reg.Config().Environments {
		if rel, err := reg.Release(e.Name, model); err == nil && rel != nil {
			if stable, ok := gitops.CurrentStable(rel); ok {
				out = append(out, fmt.Sprintf("%s\truns %s", e.Name, stable.Version))
			}
		}
	}
	return out
}

// versionsOfArg completes rollback's --version: the versions of the model
// given as the argument, and the environments it runs in.
func (c completer) versionsOfArg(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	reg := c.repo()
	if reg == nil || len(args) == 0 {
		return nil, noFiles
	}
	var out []string
	for _, s := range c.versionSpecs(reg, args[0]) {
		if strings.HasPrefix(s, toComplete) && !strings.HasPrefix(s, "latest\t") {
			out = append(out, s)
		}
	}
	return out, noFiles | cobra.ShellCompDirectiveKeepOrder
}

func (c completer) envs(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	reg := c.repo()
	if reg == nil {
		return nil, noFiles
	}
	var out []string
	for _, e := range reg.Config().Environments {
		if strings.HasPrefix(e.Name, toComplete) {
			out = append(out, e.Name)
		}
	}
	return out, noFiles | cobra.ShellCompDirectiveKeepOrder
}

// envArgs completes policy show's ENV: a policy guards an environment.
func (c completer) envArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	return c.envs(cmd, args, toComplete)
}

func (c completer) clusters(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	reg := c.repo()
	if reg == nil {
		return nil, noFiles
	}
	var out []string
	for _, cl := range reg.Config().Clusters {
		if strings.HasPrefix(cl.Name, toComplete) {
			out = append(out, cl.Name+"\t"+cl.Environment)
		}
	}
	return out, noFiles
}

// pullRequests completes --pr with the open pull requests of the forge
// modelgit.yaml names, as gh completes them; without a forge, or when it
// does not answer within the completion timeout, nothing.
func (c completer) pullRequests(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	reg := c.repo()
	if reg == nil || c.f.Forge == nil {
		return nil, noFiles
	}
	fg, err := c.f.Forge(reg.Config())
	if err != nil || fg == nil {
		return nil, noFiles
	}
	timeout := c.f.CompletionTimeout
	if timeout <= 0 {
		timeout = defaultCompletionTimeout
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	prs, err := fg.ListPullRequests(ctx, "open", "")
	if err != nil {
		return nil, noFiles
	}
	var out []string
	for _, pr := range prs {
		if n := strconv.Itoa(pr.Number); strings.HasPrefix(n, toComplete) {
			out = append(out, n+"\t"+pr.Title)
		}
	}
	return out, noFiles | cobra.ShellCompDirectiveKeepOrder
}

// patchBashCompletion makes cobra's bash script keep MODEL@VERSION one
// word: bash splits words at @ (it is in COMP_WORDBREAKS), so cobra's
// script would ask for the completion of "fraud", "@", "0.1" separately.
// It is told not to split there (as it does for = and :) and to strip
// "MODEL@" from the candidates, since bash replaces only what follows the
// @. ok is false when cobra's script no longer has the lines patched.
func patchBashCompletion(script []byte, name string) (patched []byte, ok bool) {
	initOld, initNew := []byte("_init_completion -n =: ||"), []byte("_init_completion -n =:@ ||")
	special := []byte(`__` + name + `_handle_special_char "$cur" =` + "\n")
	if bytes.Count(script, initOld) != 2 || bytes.Count(script, special) != 1 {
		return script, false
	}
	script = bytes.ReplaceAll(script, initOld, initNew)
	script = bytes.Replace(script, special, append(append([]byte{}, special...), []byte(`    __`+name+`_handle_special_char "$cur" @`+"\n")...), 1)
	return script, true
}

// useBashCompletionPatch replaces the RunE of root's `completion bash` with
// one that prints cobra's script patched by patchBashCompletion.
func useBashCompletionPatch(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		for _, sh := range c.Commands() {
			if sh.Name() != "bash" {
				continue
			}
			sh.RunE = func(cmd *cobra.Command, _ []string) error {
				noDesc, _ := cmd.Flags().GetBool("no-descriptions")
				var buf bytes.Buffer
				if err := cmd.Root().GenBashCompletionV2(&buf, !noDesc); err != nil {
					return err
				}
				script, _ := patchBashCompletion(buf.Bytes(), cmd.Root().Name())
				_, err := cmd.OutOrStdout().Write(script)
				return err
			}
			sh.Run = nil
		}
	}
}
