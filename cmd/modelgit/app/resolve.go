package app

import (
	"fmt"
	"strings"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
)

// resolveRef resolves MODEL[@VERSION|@latest|@ENV|@PREFIX] with
// gitops.Repository.Resolve. When ref named an environment where more
// than one version serves (a canary, an A/B test, a blue-green standby),
// it says on stderr which one it took: the stable one.
func resolveRef(io *cmdutil.IOStreams, reg *gitops.Repository, ref string) (*gitops.VersionRef, error) {
	v, via, err := reg.ResolveVia(ref)
	if err != nil {
		return nil, err
	}
	if _, env, _ := strings.Cut(ref, "@"); via != "" && via != "runs in "+env {
		fmt.Fprintf(io.ErrOut, "%s %s is %s: it %s\n", io.ColorScheme().WarningIcon(), ref, v.Name(), via)
	}
	return v, nil
}

// versionForms is the help text, shared by every command that takes
// MODEL@VERSION, on how a version may be written (gitops.Repository.Resolve).
const versionForms = `MODEL@VERSION may be written: MODEL or MODEL@latest (the highest version);
MODEL@1.4.0+data.7 (in full); MODEL@1.4.0 or MODEL@1.4 (a prefix of exactly
one version; a prefix of several is refused, listing them); MODEL@ENV (the
version running in that environment at HEAD; during a canary, an A/B test
or a blue-green, the stable one, and stderr says what serves beside it).`
