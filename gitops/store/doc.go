// Package store is modelgit's content-addressed artifact store and its
// hashing engine.
//
// A Store keeps blobs by sha256 digest and verifies them on every read
// (digest and size at EOF). File is the embedded default ("file://DIR",
// blobs at DIR/blobs/sha256/<hex>, written to a temp file, fsynced and
// renamed, so a crash never leaves a partial blob under a final name);
// Memory is for tests. Open picks one from a URL with an explicit switch.
// Optional capabilities, such as Ingester (hash and store in one read),
// are discovered by type assertion.
//
// Hasher hashes a file or a directory tree, files in parallel, in constant
// memory, and skips unchanged files through a StatCache. A directory's
// digest is that of its Tree listing (one "sha256:<hex> <size> <path>"
// line per file, sorted), stored as a blob of media type
// manifests.MediaTypeTree. Restore recreates a file or tree from a store.
package store
