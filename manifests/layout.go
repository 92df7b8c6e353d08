package manifests

import (
	"path"
	"strings"
)

// Paths in a modelgit GitOps repository, slash-separated and relative to
// its root. Every package names a repository path through these, so each
// path is spelled once.
const (
	ConfigFile         = "modelgit.yaml"
	ModelsDir          = "models"
	EnvironmentsDir    = "environments"
	RenderedDir        = "rendered"
	ClustersDir        = "clusters"
	PoliciesDir        = "policies"
	AllowedSignersFile = "policies/allowed_signers"
	// AllowedKeysFile holds the armored OpenPGP public keys of allowed
	// signers, beside AllowedSignersFile.
	AllowedKeysFile = "policies/allowed_signers.asc"
	// StateDir is modelgit's git-ignored working state in a clone.
	StateDir = ".modelgit"
)

// GovernedDirs are the top-level directories whose changes must be signed
// by an allowed signer.
var GovernedDirs = []string{ModelsDir, EnvironmentsDir, RenderedDir, PoliciesDir}

// NoSymlinkPaths are the top-level paths in which modelgit refuses
// symbolic links: in the work tree, a command that reads or writes there
// fails naming the link, and `modelgit verify` reports a commit that adds
// one. A link in a cloned repository must not lead a command outside it,
// nor make one file stand for another.
var NoSymlinkPaths = []string{ConfigFile, ModelsDir, EnvironmentsDir, RenderedDir, ClustersDir, PoliciesDir}

// InNoSymlinkPath reports whether the slash-separated path p is, or is
// under, one of NoSymlinkPaths.
func InNoSymlinkPath(p string) bool {
	for _, q := range NoSymlinkPaths {
		if p == q || strings.HasPrefix(p, q+"/") {
			return true
		}
	}
	return false
}

// ModelFile returns models/<model>/model.yaml.
func ModelFile(model string) string { return path.Join(ModelsDir, model, "model.yaml") }

// VersionsDir returns models/<model>/versions.
func VersionsDir(model string) string { return path.Join(ModelsDir, model, "versions") }

// VersionFile returns models/<model>/versions/<version>.yaml.
func VersionFile(model, version string) string {
	return path.Join(VersionsDir(model), version+".yaml")
}

// ReleaseFile returns environments/<env>/<model>.yaml.
func ReleaseFile(env, model string) string { return path.Join(EnvironmentsDir, env, model+".yaml") }

// PolicyFile returns policies/<env>.yaml.
func PolicyFile(env string) string { return path.Join(PoliciesDir, env+".yaml") }

// RenderedFile returns rendered/<env>/<model>.yaml.
func RenderedFile(env, model string) string { return path.Join(RenderedDir, env, model+".yaml") }

// ClusterDir returns clusters/<cluster>.
func ClusterDir(cluster string) string { return path.Join(ClustersDir, cluster) }
