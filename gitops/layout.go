package gitops

import "path"

// Paths in a modelgit GitOps repository, slash-separated and relative to
// its root.
const (
	ConfigFile         = "modelgit.yaml"
	ModelsDir          = "models"
	EnvironmentsDir    = "environments"
	RenderedDir        = "rendered"
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

// ModelFile returns models/<model>/model.yaml.
func ModelFile(model string) string { return path.Join(ModelsDir, model, "model.yaml") }

// VersionsDir returns models/<model>/versions.
func VersionsDir(model string) string { return path.Join(ModelsDir, model, "versions") }

// VersionFile returns models/<model>/versions/<version>.yaml.
func VersionFile(model, version string) string {
	return path.Join(VersionsDir(model), version+".yaml")
}
