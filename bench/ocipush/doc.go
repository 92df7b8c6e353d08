// Command ocipush drives modelgit's OCI store (gitops/store.OCI) from the
// benchmark script bench/oci.sh: it pushes a file as the weights of a model
// version (hash, HEAD, upload in one streamed PUT, push the version's OCI
// manifest) and pulls it back (fetch the manifest, verified download), so
// the script can time modelgit beside `oras push` and `oras pull` on the
// same registry.
//
// Usage:
//
//	ocipush push -ref oci://HOST/REPO -model NAME -version X.Y.Z [-statcache FILE] FILE
//	ocipush pull -ref oci://HOST/REPO -model NAME -version X.Y.Z -o DIR
//
// Credentials come from the environment or the Docker config as for any
// oci:// store (store.OCIOptionsFromEnv); -progress draws upload progress
// on stderr; -statcache names a stat cache file (store.StatCache), so an
// unchanged file is not hashed again.
package main
