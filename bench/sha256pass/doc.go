// Command sha256pass is the baseline of modelgit's hashing benchmarks: one
// plain sha256 pass over files, through manifests.SHA256 (modelgit's one
// hashing path), printing digests as sha256sum does.
//
// Usage:
//
//	sha256pass [-parallel] [-workers N] [-buf BYTES] FILE...
//
// Files are hashed one after another unless -parallel is given, which hashes
// up to -workers files at once (default GOMAXPROCS). Run it under
// GOMAXPROCS=1 taskset -c 0 for the single-core pass. Output lines are in
// argument order whatever the order of hashing, so `sha256sum -c` reads them.
// bench/register.sh runs it beside modelgit register.
package main
