// Package manifests holds modelgit's data types — Config, Model, ModelVersion
// and Release — with strict YAML parsing that names file:line and field,
// canonical serialization, version numbers and content digests. Decode
// gives the same strict parsing to manifest kinds defined elsewhere (such
// as policies.PromotionPolicy). It is the leaf of the module: it imports no
// other modelgit package.
package manifests
